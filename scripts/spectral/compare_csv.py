"""Compare regime's layers.csv with a ww_reference.py CSV, matrix by matrix.

Usage: python compare_csv.py OURS.csv REFERENCE.csv [TOL=1e-6]
Prints the worst relative difference per column and every matrix whose alpha,
xmin, D or num_pl_spikes differs by more than TOL (relative); exits 1 if any."""
import sys, csv

COLS = ["alpha", "xmin", "xmax", "D", "sigma", "num_pl_spikes", "lambda_max", "norm",
        "stable_rank", "matrix_rank", "entropy", "erank", "log_alpha_norm"]

def main(ours, ref, tol=1e-6):
    tol = float(tol)
    a = {r["name"]: r for r in csv.DictReader(open(ours))}
    b = {r["name"]: r for r in csv.DictReader(open(ref))}
    missing = sorted(set(b) - set(a)); extra = sorted(set(a) - set(b))
    worst = {c: 0.0 for c in COLS}; bad = []
    for name in sorted(set(a) & set(b)):
        for c in COLS:
            x, y = float(a[name][c]), float(b[name][c])
            rel = abs(x - y) / abs(y) if y else abs(x - y)
            worst[c] = max(worst[c], rel)
            if c in ("alpha", "xmin", "D", "num_pl_spikes") and rel > tol:
                bad.append((name, c, x, y, rel))
    print(f"{len(set(a) & set(b))} matrices compared; missing {len(missing)}, extra {len(extra)}")
    for c in COLS:
        print(f"  worst relative difference {c:16s} {worst[c]:.3e}")
    for name, c, x, y, rel in bad:
        print(f"  DIFF {name} {c}: regime {x!r} reference {y!r} (rel {rel:.2e})")
    sys.exit(1 if bad or missing else 0)

if __name__ == "__main__":
    main(*sys.argv[1:])
