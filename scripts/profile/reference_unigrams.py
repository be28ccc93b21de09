#!/usr/bin/env python3
"""Reference unigram figures with the Python `tokenizers` package.

Tokenises every turn's text of a conversation corpus (parquet with a
`conversations: [{from, value}]` or `messages: [{role, content}]` column, or
flat string columns given with --columns) exactly as `regime profile
--tokenizer PATH` does: padding and truncation off, no special tokens added,
text passed as is. Prints JSON with `tokens`, `types`, `entropy_bits` and the
top-k unigrams (count desc, then token string asc; each with its id,
vocabulary string and decoded text), the figures issue 3's acceptance
compares with `overall.unigram` and `overall.ngrams["1"].top` of regime's
report.json (ids, decoded texts and counts).

Usage:
  python3 -m venv .venv-profile && .venv-profile/bin/pip install tokenizers pyarrow
  .venv-profile/bin/python scripts/profile/reference_unigrams.py \
      --tokenizer ../shared/data/tokenizers/qwen3-tokenizer.json \
      ~/.cache/regime-data/sharegpt-sharegpt.parquet > reference.json
  .venv-profile/bin/python scripts/profile/reference_unigrams.py --check OUT/report.json ...
"""

import argparse
import collections
import json
import math
import sys

import pyarrow.parquet as pq
from tokenizers import Tokenizer


def texts(path, columns):
    table = pq.read_table(path)
    names = table.column_names
    for batch in table.to_batches(max_chunksize=4096):
        data = batch.to_pydict()
        n = batch.num_rows
        for i in range(n):
            for col, key in (("conversations", "value"), ("messages", "content")):
                if col in names and data[col][i] is not None:
                    for turn in data[col][i]:
                        if turn is not None and turn.get(key) is not None:
                            yield turn[key]
            for col in columns:
                v = data[col][i]
                if v is not None:
                    yield v


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("inputs", nargs="+")
    ap.add_argument("--tokenizer", required=True)
    ap.add_argument("--columns", default="", help="flat text columns, comma-separated")
    ap.add_argument("--top", type=int, default=20)
    ap.add_argument("--check", help="a regime report.json to compare with; exit 1 on mismatch")
    args = ap.parse_args()

    tok = Tokenizer.from_file(args.tokenizer)
    tok.no_padding()
    tok.no_truncation()
    counts = collections.Counter()
    columns = [c for c in args.columns.split(",") if c]
    batch = []
    for path in args.inputs:
        for t in texts(path, columns):
            batch.append(t)
            if len(batch) == 2048:
                for enc in tok.encode_batch(batch, add_special_tokens=False):
                    counts.update(enc.ids)
                batch = []
    if batch:
        for enc in tok.encode_batch(batch, add_special_tokens=False):
            counts.update(enc.ids)

    total = sum(counts.values())
    # Same order as regime: ascending counts summed first.
    entropy = 0.0
    for c in sorted(counts.values()):
        p = c / total
        entropy -= p * math.log2(p)
    top = sorted(counts.items(), key=lambda kv: (-kv[1], tok.id_to_token(kv[0])))[: args.top]
    ref = {
        "tokens": total,
        "types": len(counts),
        "entropy_bits": entropy,
        "top": [
            {"id": i, "token": tok.id_to_token(i), "text": tok.decode([i], skip_special_tokens=False), "count": c}
            for i, c in top
        ],
    }
    json.dump(ref, sys.stdout, indent=1, ensure_ascii=False)
    print()
    if args.check:
        with open(args.check) as f:
            rep = json.load(f)["overall"]
        uni, top1 = rep["unigram"], rep["ngrams"]["1"]["top"]
        problems = []
        for k in ("tokens", "types"):
            if uni[k] != ref[k]:
                problems.append(f"{k}: regime {uni[k]} vs python {ref[k]}")
        if abs(uni["entropy_bits"] - ref["entropy_bits"]) > 1e-9:
            problems.append(f"entropy_bits: regime {uni['entropy_bits']} vs python {ref['entropy_bits']}")
        mine = [(t["ids"][0], t.get("text"), t["count"]) for t in top1[: args.top]]
        theirs = [(t["id"], t["text"], t["count"]) for t in ref["top"]]
        if mine != theirs:
            problems.append(f"top-{args.top} differs:\n  regime {mine}\n  python {theirs}")
        for p in problems:
            print("MISMATCH", p, file=sys.stderr)
        print("OK: tokens, types, entropy_bits and top-%d unigrams agree" % args.top if not problems else "FAILED",
              file=sys.stderr)
        sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
