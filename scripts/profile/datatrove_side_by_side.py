#!/usr/bin/env python3
"""Per-core throughput of datatrove's WordStats + LineStats (summary and
histogram groups) on a conversation corpus, for the side-by-side comparison with `regime profile` (issue 3).

datatrove is not a dependency of regime: `side_by_side.sh` installs it into
its own venv and runs this script there. Every turn's text of every
conversation (parquet with `conversations: [{from, value}]` or
`messages: [{role, content}]`) becomes one datatrove Document per turn, the
unit `regime profile` measures (a field). The two stats steps run one after
the other in this one process, as a datatrove pipeline would run them, and
only their work is timed: reading the parquet and building the Documents
happen before the clock starts. The stats JSON files datatrove writes at the
end go to a temporary folder and are part of the timed work.

Prints one JSON line: bytes of text (UTF-8), documents, CPU seconds
(`time.process_time`, user + system of this process) and wall seconds, and
MB/s per core = bytes / 1e6 / CPU seconds.
"""

import argparse
import json
import sys
import tempfile
import time

import pyarrow.parquet as pq
from datatrove.data import Document
from datatrove.pipeline.stats import LineStats, WordStats


def turns(path):
    table = pq.read_table(path)
    names = table.column_names
    for col, key in (("conversations", "value"), ("messages", "content")):
        if col not in names:
            continue
        for conv in table.column(col).to_pylist():
            for turn in conv or []:
                if turn is not None and turn.get(key) is not None:
                    yield turn[key]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("inputs", nargs="+")
    ap.add_argument("--limit-mb", type=float, default=0, help="stop after this much text (0: all)")
    args = ap.parse_args()

    docs = []
    total = 0
    for path in args.inputs:
        for text in turns(path):
            docs.append(Document(text=text, id=str(len(docs))))
            total += len(text.encode("utf-8"))
            if args.limit_mb and total >= args.limit_mb * 1e6:
                break
    with tempfile.TemporaryDirectory() as out:
        # The corpus has no URLs, so the per-domain groups are left out.
        groups = ["summary", "histogram"]
        # Warm the lazily loaded spaCy tokenizer outside the clock.
        warm = WordStats(output_folder=f"{out}/warm", groups_to_compute=groups)
        list(warm.run(iter([Document(text="warm up", id="w")])))
        words = WordStats(output_folder=f"{out}/words", groups_to_compute=groups)
        lines = LineStats(output_folder=f"{out}/lines", groups_to_compute=groups)
        cpu, wall = time.process_time(), time.perf_counter()
        for _ in lines.run(words.run(iter(docs))):
            pass
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    json.dump(
        {
            "tool": "datatrove WordStats + LineStats",
            "bytes": total,
            "documents": len(docs),
            "cpu_s": round(cpu, 3),
            "wall_s": round(wall, 3),
            "mb_per_cpu_s": round(total / 1e6 / cpu, 3),
        },
        sys.stdout,
    )
    print()


if __name__ == "__main__":
    main()
