#!/usr/bin/env python3
"""`regime dedup near` side by side with datatrove's MinHash pipeline on the
same ShareGPT documents: removal counts, end-to-end throughput, their ratio,
and every document the two disagree on, sorted into classes.

datatrove runs its documented four-stage pipeline with the default
MinhashConfig (word 5-grams, 14 buckets x 8 hashes, seed 1) on a
LocalPipelineExecutor with 2 workers: signatures (2 tasks, one per input
file), buckets (14 tasks), clustering (1 task), filtering (2 tasks, writing
kept and removed documents). regime runs `dedup near` with its default
(datatrove) preset on the same two files, on the same text column.

Documents: one per ShareGPT conversation, the text of every turn joined by
newlines (`--text conversation`, default) or the first human turn only
(`--text first-turn`); empty ones are dropped so both tools see the same rows.

Usage (datatrove in a venv of its own, not a regime dependency):
  python3 -m venv ~/.cache/regime-data/.venv-datatrove
  ~/.cache/regime-data/.venv-datatrove/bin/pip install datatrove==0.10.1 \
      regex tokenizers nltk "xxhash<3.6" spacy pyarrow orjson  # xxhash 4 rejects str
  ~/.cache/regime-data/.venv-datatrove/bin/python datatrove_side_by_side.py \
      SHAREGPT.parquet WORK_DIR --regime target/release/regime

Difference classes (a document removed by one tool and kept by the other):
- representative: both tools put it in a cluster with the same other
  documents, but keep a different member (regime keeps the lowest row,
  datatrove the union-find root, which depends on union order and size);
- unverified: datatrove removed it although its word 5-gram Jaccard (with
  datatrove's own normalisation) with every document datatrove kept from its
  cluster is below 0.72 -- an LSH false positive, which regime's
  verification rejects;
- normalisation: similar enough only after datatrove's normalisation
  (lowercase, punctuation and digits folded, Unicode simplified): its
  Jaccard is >= 0.72 with datatrove's text and < 0.72 with regime's
  (NFC, whitespace only);
- banding: both texts have Jaccard >= 0.72 with a kept partner but one tool's
  LSH did not make them candidates (different hash functions: each misses a
  few pairs near the threshold, P(candidate | J = 0.75) = 0.80);
- short: fewer than 5 words after datatrove's tokenisation: datatrove
  makes no shingle and never deduplicates it; regime makes one shingle of
  all its words (so short exact copies, "hi", "continue", are clustered);
- other: anything else (listed with ids).
"""
import argparse
import json
import re
import subprocess
import sys
import time
import unicodedata
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

THRESHOLD = (1 / 14) ** (1 / 8)
WHITE_SPACE = re.compile("[\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+")
# Approximates UAX #29 words for the classification only (regime's own
# figures come from regime).
WORD = re.compile(r"\w+(?:[.'’]\w+)*")


def documents(path, mode):
    table = pq.read_table(path, columns=["id", "conversations"])
    ids, texts = [], []
    for id_, turns in zip(table.column("id").to_pylist(), table.column("conversations").to_pylist()):
        turns = [t for t in turns or [] if t and t.get("value")]
        if mode == "first-turn":
            turns = [t for t in turns if t.get("from") in ("human", "user")][:1]
        text = "\n".join(t["value"] for t in turns)
        if text.strip():
            ids.append(str(id_))
            texts.append(text)
    # ShareGPT ids repeat (one id per split conversation): make them unique.
    seen = {}
    unique = []
    for i in ids:
        seen[i] = seen.get(i, -1) + 1
        unique.append(i if seen[i] == 0 else f"{i}#{seen[i]}")
    return unique, texts


def write_inputs(ids, texts, folder):
    folder.mkdir(parents=True, exist_ok=True)
    half = len(ids) // 2
    for k, (lo, hi) in enumerate([(0, half), (half, len(ids))]):
        pq.write_table(
            pa.table({"id": ids[lo:hi], "text": texts[lo:hi]}),
            folder / f"part-{k}.parquet",
            row_group_size=2048,
        )
    (folder.parent / "fields.toml").write_text('[columns]\ntext = "user"\n')


def run_datatrove(inputs, work):
    from datatrove.executor import LocalPipelineExecutor
    from datatrove.pipeline.dedup import MinhashDedupCluster, MinhashDedupFilter, MinhashDedupSignature
    from datatrove.pipeline.dedup.minhash import MinhashConfig, MinhashDedupBuckets
    from datatrove.pipeline.readers import ParquetReader
    from datatrove.pipeline.writers import JsonlWriter

    config = MinhashConfig()
    base = work / "datatrove"
    reader = lambda: ParquetReader(str(inputs), text_key="text", id_key="id", glob_pattern="*.parquet")
    stages = [
        LocalPipelineExecutor(
            pipeline=[reader(), MinhashDedupSignature(output_folder=str(base / "sigs"), config=config)],
            tasks=2, workers=2, logging_dir=str(base / "logs/sigs"),
        ),
        LocalPipelineExecutor(
            pipeline=[MinhashDedupBuckets(input_folder=str(base / "sigs"), output_folder=str(base / "buckets"), config=config)],
            tasks=config.num_buckets, workers=2, logging_dir=str(base / "logs/buckets"),
        ),
        LocalPipelineExecutor(
            pipeline=[MinhashDedupCluster(input_folder=str(base / "buckets"), output_folder=str(base / "remove"), config=config, save_cluster_id=True)],
            tasks=1, workers=1, logging_dir=str(base / "logs/clusters"),
        ),
        LocalPipelineExecutor(
            pipeline=[
                reader(),
                MinhashDedupFilter(
                    input_folder=str(base / "remove"),
                    load_cluster_ids=True,
                    exclusion_writer=JsonlWriter(str(base / "removed"), compression=None),
                ),
                JsonlWriter(str(base / "kept"), compression=None),
            ],
            tasks=2, workers=2, logging_dir=str(base / "logs/filter"),
        ),
    ]
    start = time.perf_counter()
    for stage in stages:
        stage.run()
    seconds = time.perf_counter() - start

    def read(folder):
        out = {}
        for f in sorted((base / folder).glob("*.jsonl")):
            # Not splitlines(): JSON strings may hold U+2028 and friends.
            for line in f.read_text().split("\n"):
                if not line:
                    continue
                d = json.loads(line)
                out[d["id"]] = d.get("metadata", {}).get("minhash_cluster_id", -1)
        return out

    return seconds, read("kept"), read("removed")


def datatrove_cached(inputs, work, reuse):
    """Runs datatrove, or with `reuse` reads a previous run's result."""
    cache = work / "datatrove.json"
    if reuse and cache.exists():
        r = json.loads(cache.read_text())
        return r["seconds"], r["kept"], r["removed"]
    seconds, kept, removed = run_datatrove(inputs, work)
    cache.write_text(json.dumps({"seconds": seconds, "kept": kept, "removed": removed}))
    return seconds, kept, removed


def run_regime(binary, inputs, work, threads):
    out = work / "regime"
    cmd = [
        binary, "dedup", "near", str(inputs), "--profile", "columns",
        "--fields", str(work / "fields.toml"), "--out", str(out), "--overwrite", "-q",
    ]
    start = time.perf_counter()
    subprocess.run(cmd, check=True, env={"RAYON_NUM_THREADS": str(threads), "PATH": "/usr/bin:/bin"})
    seconds = time.perf_counter() - start
    kept = set()
    for f in sorted(out.glob("part-*.parquet")):
        kept.update(pq.read_table(f, columns=["id"]).column("id").to_pylist())
    clusters = pq.read_table(out / "clusters.parquet").to_pylist()
    rep_of = {}
    row_to_id = {c["row_id"]: c["id"] for c in clusters}
    for c in clusters:
        rep_of[c["id"]] = row_to_id.get(c["representative"])
    return seconds, kept, rep_of


def shingles(words, n=5):
    if len(words) < n:
        return {tuple(words)} if words else set()
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


def jaccard(a, b):
    return len(a & b) / len(a | b) if (a or b) else 1.0


def classify(ids, texts, dt_kept, dt_removed, rg_kept, rg_rep):
    from datatrove.pipeline.dedup.minhash import MinhashDedupSignature
    from datatrove.utils.text import TextNormConfig, simplify_text

    text_of = dict(zip(ids, texts))
    tok = MinhashDedupSignature("/tmp/unused-datatrove-sigs").word_tokenizer
    norm = TextNormConfig()
    dt_sh = lambda i: shingles(tok.word_tokenize(simplify_text(text_of[i], norm)))
    rg_sh = lambda i: shingles(WORD.findall(WHITE_SPACE.sub(" ", unicodedata.normalize("NFC", text_of[i])).strip()))
    dt_cluster = {**dt_kept, **dt_removed}
    members = {}
    for i, c in dt_cluster.items():
        if c != -1:
            members.setdefault(c, []).append(i)
    classes = {}

    def add(cls, i):
        classes.setdefault(cls, []).append(i)

    dt_only = [i for i in dt_removed if i in rg_kept]
    rg_only = [i for i in ids if i not in rg_kept and i in dt_kept]
    for i in dt_only:
        partners = [m for m in members.get(dt_cluster[i], []) if m in dt_kept]
        j_dt = max((jaccard(dt_sh(i), dt_sh(p)) for p in partners), default=0.0)
        j_rg = max((jaccard(rg_sh(i), rg_sh(p)) for p in partners), default=0.0)
        cluster = members.get(dt_cluster[i], [])
        if rg_rep.get(i) == i and any(rg_rep.get(m) == i and m in dt_kept for m in cluster):
            add("representative", i)
        elif j_dt < THRESHOLD:
            add("unverified", i)
        elif j_rg < THRESHOLD:
            add("normalisation", i)
        else:
            add("banding", i)
    for i in rg_only:
        rep = rg_rep.get(i)
        if len(tok.word_tokenize(simplify_text(text_of[i], norm))) < 5:
            add("short", i)
        elif rep is not None and rep in dt_removed and dt_cluster.get(rep) not in (None, -1) and dt_cluster.get(rep) == dt_cluster.get(i):
            add("representative", i)
        elif rep is not None and jaccard(dt_sh(i), dt_sh(rep)) >= THRESHOLD:
            add("banding", i)
        elif rep is not None:
            add("normalisation", i)
        else:
            add("other", i)
    return {
        "removed_by_datatrove_only": len(dt_only),
        "removed_by_regime_only": len(rg_only),
        "classes": {k: {"count": len(v), "examples": v[:5]} for k, v in sorted(classes.items())},
    }


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("sharegpt")
    p.add_argument("work")
    p.add_argument("--regime", default="target/release/regime")
    p.add_argument("--text", choices=["conversation", "first-turn"], default="conversation")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--datatrove-only", action="store_true", help="run datatrove and cache its result")
    p.add_argument("--reuse-datatrove", action="store_true", help="use the cached datatrove result")
    args = p.parse_args()
    work = Path(args.work).resolve()
    ids, texts = documents(args.sharegpt, args.text)
    inputs = work / "inputs"
    write_inputs(ids, texts, inputs)
    mb = sum(len(t.encode()) for t in texts) / 1e6
    if args.datatrove_only:
        dt_s, _, dt_removed = datatrove_cached(inputs, work, False)
        print(json.dumps({"documents": len(ids), "datatrove_seconds": dt_s, "removed": len(dt_removed)}))
        return
    rg_s, rg_kept, rg_rep = run_regime(args.regime, inputs, work, args.threads)
    dt_s, dt_kept, dt_removed = datatrove_cached(inputs, work, args.reuse_datatrove)
    result = {
        "documents": len(ids),
        "text_mb": round(mb, 2),
        "regime": {"removed": len(ids) - len(rg_kept), "seconds": round(rg_s, 2), "docs_per_s": round(len(ids) / rg_s), "mb_per_s": round(mb / rg_s, 2)},
        "datatrove": {"removed": len(dt_removed), "seconds": round(dt_s, 2), "docs_per_s": round(len(ids) / dt_s), "mb_per_s": round(mb / dt_s, 2)},
        "speedup": round(dt_s / rg_s, 1),
        "differences": classify(ids, texts, dt_kept, dt_removed, rg_kept, rg_rep),
    }
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    sys.exit(main() or 0)
