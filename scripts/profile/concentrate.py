#!/usr/bin/env python3
"""Write a frequency-concentrated copy of a conversation corpus.

Every word (a run of word characters, as `re.findall(r"\\w+")` sees it) that
occurs at most --rare-max times in the whole corpus is replaced by one of the
--top most frequent words (chosen by a stable hash of the rare word), so the
copy has fewer types, lower entropy, lower tail mass and few surviving rare
types: what `regime profile --compare A B` must detect. Same schema and row
order as the input; only `conversations[].value` / `messages[].content` and
flat string columns given with --columns change.

Usage: concentrate.py IN.parquet OUT.parquet [--rare-max 10] [--top 100]
"""

import argparse
import collections
import re
import zlib

import pyarrow as pa
import pyarrow.parquet as pq

WORD = re.compile(r"\w+")


def turn_texts(row, columns):
    for col, key in (("conversations", "value"), ("messages", "content")):
        for turn in row.get(col) or []:
            if turn and turn.get(key) is not None:
                yield turn[key]
    for c in columns:
        if row.get(c) is not None:
            yield row[c]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("input")
    ap.add_argument("output")
    ap.add_argument("--rare-max", type=int, default=10)
    ap.add_argument("--top", type=int, default=100)
    ap.add_argument("--columns", default="")
    args = ap.parse_args()
    columns = [c for c in args.columns.split(",") if c]
    table = pq.read_table(args.input)
    rows = table.to_pylist()
    counts = collections.Counter()
    for row in rows:
        for t in turn_texts(row, columns):
            counts.update(WORD.findall(t))
    frequent = [w for w, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[: args.top]]

    def swap(m):
        w = m.group(0)
        if counts[w] > args.rare_max:
            return w
        return frequent[zlib.crc32(w.encode()) % len(frequent)]

    def fix(text):
        return None if text is None else WORD.sub(swap, text)

    for row in rows:
        for col, key in (("conversations", "value"), ("messages", "content")):
            for turn in row.get(col) or []:
                if turn and key in turn:
                    turn[key] = fix(turn[key])
        for c in columns:
            row[c] = fix(row.get(c))
    pq.write_table(pa.Table.from_pylist(rows, schema=table.schema), args.output, compression="zstd")


if __name__ == "__main__":
    main()
