#!/usr/bin/env python3
"""Independent count of exact duplicates among the first human turns of a
ShareGPT-layout parquet corpus, with regime's normalisation (NFC, runs of
Unicode White_Space to one space, trimmed), to check `regime dedup exact`.

Usage (a venv with pyarrow, e.g. the one fetch-sharegpt.sh makes):
  python exact_reference.py SHAREGPT.parquet OUT_DIR
      writes OUT_DIR/first_turns.parquet (id, prompt) and OUT_DIR/fields.toml
      and prints {"rows", "duplicates"}
  regime dedup exact OUT_DIR/first_turns.parquet --profile columns \
      --fields OUT_DIR/fields.toml --out OUT_DIR/regime
  python exact_reference.py --check OUT_DIR/regime/report.json OUT_DIR
"""
import json
import re
import sys
import unicodedata
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

# Rust's char::is_whitespace: the Unicode White_Space property.
WHITE_SPACE = re.compile(
    "[\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+"
)


def normalise(text: str) -> str:
    return WHITE_SPACE.sub(" ", unicodedata.normalize("NFC", text)).strip(" ")


def first_turns(path: Path):
    table = pq.read_table(path, columns=["id", "conversations"])
    ids = table.column("id").to_pylist()
    prompts = []
    for turns in table.column("conversations").to_pylist():
        first = next(
            (t["value"] for t in turns or [] if t and t.get("from") in ("human", "user")),
            None,
        )
        prompts.append(first)
    return ids, prompts


def count(prompts):
    seen, duplicates = set(), 0
    for prompt in prompts:
        if prompt is None:
            continue
        key = normalise(prompt)
        if not key:
            continue
        if key in seen:
            duplicates += 1
        else:
            seen.add(key)
    return duplicates


def main(argv):
    if argv[:1] == ["--check"]:
        report = json.loads(Path(argv[1]).read_text())
        expected = json.loads((Path(argv[2]) / "expected.json").read_text())
        ok = report["rows"] == expected["rows"] and report["duplicates"] == expected["duplicates"]
        print(json.dumps({"regime": {k: report[k] for k in ("rows", "duplicates")}, "python": expected, "equal": ok}))
        return 0 if ok else 1
    source, out = Path(argv[0]), Path(argv[1])
    out.mkdir(parents=True, exist_ok=True)
    ids, prompts = first_turns(source)
    pq.write_table(pa.table({"id": ids, "prompt": prompts}), out / "first_turns.parquet")
    (out / "fields.toml").write_text('[columns]\nprompt = "user"\n')
    expected = {"rows": len(prompts), "duplicates": count(prompts)}
    (out / "expected.json").write_text(json.dumps(expected))
    print(json.dumps(expected))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
