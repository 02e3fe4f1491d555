"""Updating a built index by one document, with each store: remove a KorQuAD article (the
median-size one, then the largest) from the 70-article index, check that no unit of it is
left, add it back.

    python -m bench.index_update                      # faiss and milvus, 3 runs each
    python -m bench.index_update --backend milvus --runs 5

Starts from the indexes `bench/retrieval.py` keeps in .bench-cache/ (built if missing),
copied so that the cache stays as it was. "warm" is the engine of a running app (model
loaded); "CLI" is a fresh `python -m assistant add` process, model load included.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from assistant.config import Settings
from assistant.engine import Engine
from bench.retrieval import CACHE, ROOT, build, korquad_set


def spread(xs: list[float]) -> str:
    return f"median {statistics.median(xs):.2f} s (min {min(xs):.2f}, max {max(xs):.2f}, {len(xs)} runs)"


def leftovers(engine: Engine, doc_id: str, text: str) -> int:
    """Passages of ``doc_id`` found by searching its own paragraphs (0 once removed)."""
    paragraphs = [p for p in text.split("\n\n")[1:] if p.strip()][:5]
    return sum(p.chunk.doc_id == doc_id for q in paragraphs for p in engine.search(q[:500], 30))


def run(backend: str, corpus: Path, runs: int, share: Engine | None) -> Engine:
    source = build("korquad", corpus, False, backend, share)
    work = Path(tempfile.mkdtemp(prefix=f"update-{backend}-"))
    shutil.copytree(corpus, work / "corpus")
    shutil.copytree(source.settings.index_dir, work / "index")
    uri = str(work / "index" / "milvus.db") if backend == "milvus" else None
    engine = Engine(Settings.from_env(corpus_dir=work / "corpus", index_dir=work / "index", index_backend=backend, milvus_uri=uri))
    engine.embedder = source.embedder
    by_size = sorted((p.stat().st_size, p.name) for p in (work / "corpus").iterdir())
    for label, (_, doc_id) in (("median-size", by_size[len(by_size) // 2]), ("largest", by_size[-1])):
        saved = work / doc_id
        shutil.copy(work / "corpus" / doc_id, saved)
        text = saved.read_text(encoding="utf-8")
        assert leftovers(engine, doc_id, text) > 0
        removed, added = [], []
        for _ in range(runs):
            t = time.perf_counter()
            report = engine.remove_documents([doc_id])
            removed.append(time.perf_counter() - t)
            assert report.removed == [doc_id] and report.units_embedded == 0
            left = leftovers(engine, doc_id, text)
            assert left == 0, f"{left} passages of the removed article are still found"
            t = time.perf_counter()
            _, report = engine.add_documents([saved])
            added.append(time.perf_counter() - t)
            assert report.added == [doc_id], report
            units = report.units_embedded
        total = engine.retriever.view.manifest["counts"]["units"]
        print(f"\n## {backend}, the {label} article: {doc_id} ({units} of {total} sentence units)")
        print(f"- remove, warm engine: {spread(removed)}; searching its own paragraphs then finds 0 passages of it")
        print(f"- add back, warm engine: {spread(added)}; embedded {units} units (only that article)")
    articles = [by_size[len(by_size) // 2][1], by_size[-1][1]]
    engine.remove_documents(articles)
    if backend == "milvus":
        engine.store.close()  # a milvus-lite file is opened by one process at a time
    env = {**os.environ, "ASSISTANT_CORPUS_DIR": str(work / "corpus"), "ASSISTANT_INDEX_DIR": str(work / "index"),
           "ASSISTANT_INDEX_BACKEND": backend, **({"ASSISTANT_MILVUS_URI": uri} if uri else {})}
    for label, doc_id in zip(("median-size", "largest"), articles):
        t = time.perf_counter()
        out = subprocess.run([sys.executable, "-m", "assistant", "add", str(work / doc_id)], env=env, cwd=ROOT, capture_output=True, text=True)
        wall = time.perf_counter() - t
        assert out.returncode == 0, out.stderr[-2000:]
        print(f"- the {label} article added back by the CLI (`python -m assistant add`, model load included): {wall:.1f} s wall")
    shutil.rmtree(work)
    return source


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--backend", action="append", choices=("faiss", "milvus"), help="index store (repeatable; default both)")
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    loaded = korquad_set(CACHE)
    if loaded is None:
        return
    corpus, _ = loaded
    share = None
    for backend in args.backend or ["faiss", "milvus"]:
        share = run(backend, corpus, args.runs, share)


if __name__ == "__main__":
    main()
