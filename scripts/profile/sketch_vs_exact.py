#!/usr/bin/env python3
"""Checks that a sketch-mode profile agrees with the exact one within the
error bounds the sketch report prints (issue 3 acceptance).

Usage:
  regime profile CORPUS --out exact
  regime profile CORPUS --out sketch --memory-budget 64M
  python3 scripts/profile/sketch_vs_exact.py exact/report.json sketch/report.json

For every n-gram figure of `overall` and of each role that is from a sketch
(`exact: false`): |distinct - exact distinct| <= distinct_error; each of the
exact top-k n-grams has a sketch count c with c <= exact <= c + count_error
(absent from the sketch's top list: exact <= that list's smallest count +
count_error, since its lower bound is at most that); and the exact concentration lies in
[concentration, concentration + concentration_error]. Prints one line per
figure and exits 1 when any bound is violated. Standard library only.
"""

import json
import sys


def check(scope, n, fe, fs):
    problems = []
    d_e, d_s, d_err = fe["distinct"], fs["distinct"], fs["distinct_error"]
    if abs(d_s - d_e) > d_err:
        problems.append(f"distinct {d_s} vs {d_e} (bound {d_err:.0f})")
    err = fs["count_error"]
    sketch_top = {t["ngram"]: t["count"] for t in fs["top"]}
    # An n-gram missing from the sketch's top list has a lower bound of at
    # most the list's smallest count (0 when the list is not full).
    floor = min(sketch_top.values()) if len(sketch_top) >= len(fe["top"]) and sketch_top else 0
    for t in fe["top"]:
        got = sketch_top.get(t["ngram"])
        ok = got <= t["count"] <= got + err if got is not None else t["count"] <= floor + err
        if not ok:
            problems.append(f"top {t['ngram']!r}: {got} vs {t['count']} (bound {err}, list floor {floor})")
    c_e, c_s, c_err = fe["concentration"], fs["concentration"], fs["concentration_error"]
    if not (c_s - 1e-12 <= c_e <= c_s + c_err + 1e-12):
        problems.append(f"concentration {c_s:.6f} vs {c_e:.6f} (+{c_err:.6f})")
    rel = (d_s - d_e) / d_e if d_e else 0.0
    print(
        f"{scope:>10} n={n}: distinct exact {d_e:,} sketch {d_s:,} ({rel:+.3%}, bound ±{d_err:,.0f}); "
        f"top-{len(fe['top'])} counts within ±{err:,}; concentration {c_e:.4f} in "
        f"[{c_s:.4f}, {c_s + c_err:.4f}] -> {'ok' if not problems else 'FAIL: ' + '; '.join(problems)}"
    )
    return not problems


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    exact = json.load(open(sys.argv[1]))
    sketch = json.load(open(sys.argv[2]))
    scopes = [("overall", exact["overall"], sketch["overall"])]
    scopes += [(r, exact["roles"][r], sketch["roles"][r]) for r in sorted(exact["roles"]) if r in sketch["roles"]]
    ok, checked = True, 0
    for name, se, ss in scopes:
        for n, fs in sorted(ss["ngrams"].items()):
            fe = se["ngrams"].get(n)
            if fe is None or fs["exact"]:
                continue
            if not fe["exact"]:
                sys.exit(f"error: {sys.argv[1]}: {name} n={n} is not exact")
            ok &= check(name, n, fe, fs)
            checked += 1
    print(f"{checked} sketch figures checked: {'all within bounds' if ok else 'BOUNDS VIOLATED'}")
    sys.exit(0 if ok and checked else 1)


if __name__ == "__main__":
    main()
