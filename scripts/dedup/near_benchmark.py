#!/usr/bin/env python3
"""Near-duplicate benchmark from real ShareGPT prompts, for `regime dedup near`.

Originals are first human turns of a ShareGPT-layout parquet corpus, kept
when ASCII and 40-400 words, re-emitted as their words joined by single
spaces (words = runs of [A-Za-z0-9_], so this script's word 5-gram shingles
equal regime's UAX #29 ones exactly), and pairwise dissimilar (word 5-gram
Jaccard < 0.3 with every earlier original, so the only near duplicates are
the planted ones). Each original gets one copy with random word
substitutions (words drawn from the originals' vocabulary), edited down to a
target Jaccard level in 0.30 ... 0.95: edits stop at the last state with
J >= level, so the true J of each pair is known exactly.

Usage (a venv with pyarrow, e.g. ~/.cache/regime-data/.venv):
  python near_benchmark.py generate SHAREGPT.parquet OUT_DIR [--originals N] [--seed S]
      writes OUT_DIR/corpus.parquet (id, prompt, answer: originals first,
      then copies), OUT_DIR/truth.json and OUT_DIR/fields.toml
  regime dedup near OUT_DIR/corpus.parquet --profile columns \
      --fields OUT_DIR/fields.toml --on user --out OUT_DIR/regime
  python near_benchmark.py score OUT_DIR OUT_DIR/regime
      prints precision (removed rows that are planted copies with
      J >= the verification threshold), recall on copies with J >= 0.85,
      and recall per level, as JSON
"""
import argparse
import json
import random
import re
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

LEVELS = [0.30, 0.40, 0.50, 0.60, 0.70, 0.75, 0.80, 0.85, 0.90, 0.95]
WORD = re.compile(r"[A-Za-z0-9_]+")
N = 5
# The datatrove preset: 14 bands x 8 rows, verified at (1/14)^(1/8).
THRESHOLD = (1 / 14) ** (1 / 8)


def shingles(words):
    if len(words) < N:
        return {tuple(words)} if words else set()
    return {tuple(words[i : i + N]) for i in range(len(words) - N + 1)}


def jaccard(a, b):
    if not a and not b:
        return 1.0
    return len(a & b) / len(a | b)


def first_turns(path):
    table = pq.read_table(path, columns=["conversations"])
    for turns in table.column("conversations").to_pylist():
        first = next(
            (t["value"] for t in turns or [] if t and t.get("from") in ("human", "user")),
            None,
        )
        if first:
            yield first


def originals(path, limit, rng):
    candidates = []
    seen = set()
    for text in first_turns(path):
        if not text.isascii():
            continue
        words = WORD.findall(text)
        if not 40 <= len(words) <= 400:
            continue
        key = " ".join(words)
        if key not in seen:
            seen.add(key)
            candidates.append(words)
    rng.shuffle(candidates)
    kept, owner = [], {}  # owner: shingle -> indices of kept originals
    for words in candidates:
        s = shingles(words)
        shared = {}
        for sh in s:
            for k in owner.get(sh, ()):
                shared[k] = shared.get(k, 0) + 1
        if any(c / (len(s) + len(shingles(kept[k])) - c) >= 0.3 for k, c in shared.items()):
            continue
        for sh in s:
            owner.setdefault(sh, []).append(len(kept))
        kept.append(words)
        if len(kept) == limit:
            break
    return kept


def edit_to(words, level, vocabulary, rng):
    """Substitutes random positions until one more edit would take J below level."""
    base = shingles(words)
    copy = list(words)
    positions = list(range(len(words)))
    rng.shuffle(positions)
    j = 1.0
    for p in positions:
        before = copy[p]
        copy[p] = rng.choice(vocabulary)
        nj = jaccard(base, shingles(copy))
        if nj < level:
            copy[p] = before
            break
        j = nj
    return copy, j


def generate(args):
    rng = random.Random(args.seed)
    origs = originals(args.sharegpt, args.originals, rng)
    vocabulary = sorted({w for o in origs for w in o})
    copies = []
    for i, words in enumerate(origs):
        level = LEVELS[i % len(LEVELS)]
        copy, j = edit_to(words, level, vocabulary, rng)
        copies.append((" ".join(copy), i, level, j))
    n = len(origs)
    prompts = [" ".join(w) for w in origs] + [c[0] for c in copies]
    ids = [f"o-{i:06d}" for i in range(n)] + [f"c-{i:06d}" for i in range(n)]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    pq.write_table(
        pa.table({"id": ids, "prompt": prompts, "answer": [f"answer {i}" for i in range(2 * n)]}),
        out / "corpus.parquet",
        row_group_size=2000,
    )
    truth = [{"row": n + k, "original": c[1], "level": c[2], "jaccard": c[3]} for k, c in enumerate(copies)]
    (out / "truth.json").write_text(json.dumps({"originals": n, "copies": truth}))
    (out / "fields.toml").write_text('[columns]\nprompt = "user"\nanswer = "assistant"\n')
    words = sum(len(w) for w in origs)
    print(json.dumps({"originals": n, "rows": 2 * n, "mean_words": words / max(n, 1)}))


def score(args):
    truth = json.loads((Path(args.bench) / "truth.json").read_text())
    n = truth["originals"]
    kept = set()
    for part in sorted(Path(args.regime_out).glob("part-*.parquet")):
        kept.update(pq.read_table(part, columns=["id"]).column("id").to_pylist())
    all_ids = {f"o-{i:06d}" for i in range(n)} | {f"c-{i:06d}" for i in range(n)}
    removed = all_ids - kept
    copy_j = {f"c-{c['row'] - n:06d}": c["jaccard"] for c in truth["copies"]}
    correct = sum(1 for r in removed if copy_j.get(r, 0.0) >= THRESHOLD)
    high = [k for k, j in copy_j.items() if j >= 0.85]
    found = sum(1 for k in high if k in removed)
    per_level = {}
    for c in truth["copies"]:
        key = f"{c['level']:.2f}"
        hit, total = per_level.get(key, (0, 0))
        per_level[key] = (hit + (f"c-{c['row'] - n:06d}" in removed), total + 1)
    result = {
        "rows": 2 * n,
        "removed": len(removed),
        "originals_removed": sum(1 for r in removed if r.startswith("o-")),
        "precision": correct / len(removed) if removed else 1.0,
        "recall_j_ge_085": found / len(high) if high else None,
        "copies_j_ge_085": len(high),
        "removed_share_by_level": {k: round(h / t, 4) for k, (h, t) in sorted(per_level.items())},
    }
    print(json.dumps(result, indent=1))
    ok = result["precision"] >= 0.99 and (result["recall_j_ge_085"] or 0) >= 0.95
    return 0 if ok else 1


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("generate")
    g.add_argument("sharegpt")
    g.add_argument("out")
    g.add_argument("--originals", type=int, default=5000)
    g.add_argument("--seed", type=int, default=7)
    s = sub.add_parser("score")
    s.add_argument("bench")
    s.add_argument("regime_out")
    args = p.parse_args()
    return generate(args) if args.cmd == "generate" else score(args)


if __name__ == "__main__":
    sys.exit(main() or 0)
