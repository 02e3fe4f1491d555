"""Indexing speed: our indexer against plain ``SentenceTransformer.encode``, on KorQuAD.

    python bench/indexing.py                      # 70 KorQuAD articles, 1 run, with the baseline
    python bench/indexing.py --limit 10 --runs 3  # quick: 10 articles, medians of 3 runs
    python bench/indexing.py --no-baseline        # only our indexer (the baseline takes ~10 min for 70)
    python bench/indexing.py --questions 500      # evaluate Recall@5 on the first 500 questions

Corpus: KorQuAD 1.0 dev (public half) from ../shared/data, each article one document (the
loader of bench/retrieval.py); skipped cleanly when the file is absent.

- ours: ``Engine.build_index(full=True)`` into a fresh temporary folder, with the configured
  backend (``ASSISTANT_EMBEDDING_BACKEND``, default auto: measured on this machine, printed
  with the reason; ``ASSISTANT_EMBEDDING_BF16=false`` reproduces a CPU without bfloat16).
  The time includes loading the model, chunking, Kiwi, embedding and writing the index
  (and the one-time OpenVINO export when it is not cached yet: reported separately). Then
  one more article (the bundled essay, 11 KB) is added incrementally.
- plain: ``SentenceTransformer(path, device="cpu").encode(batch_size=8)`` float32 on exactly
  the same sentence units (with the same document prompts), timed around ``encode`` only
  (model loading excluded). Its vectors are written into an index with the real indexer, so
  its Recall@5 is the float32 reference for the same units (not paragraph vectors).

Both run in the same process and the same run, so machine load affects both; the ratio is
the figure to compare. Recall@5 counts the gold paragraph among the top 5 distinct paragraphs
(the evaluation of bench/retrieval.py); "mixed" ranks our index with float32 query vectors.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import numpy as np
from retrieval import evaluate, korquad_set

from assistant.config import Settings
from assistant.engine import Engine
from assistant.index.builder import build_index

ROOT = Path(__file__).resolve().parent.parent


def subset(corpus: Path, questions: list[dict], limit: int | None, work: Path) -> tuple[Path, list[dict]]:
    files = sorted(corpus.glob("*.txt"))
    if limit is not None:
        files = files[:limit]
    sub = work / "corpus"
    sub.mkdir(parents=True)
    for f in files:
        shutil.copy(f, sub / f.name)
    names = {f.name for f in files}
    return sub, [q for q in questions if q["gold"][0] in names]


def extra_article() -> Path:
    """The one more article: the bundled essay (a KorQuAD copy would be skipped as a duplicate)."""
    return next((ROOT / "corpus").glob("deep_learning_and_chatgpt*"))


def recall(engine_like, questions: list[dict], mode: str) -> float:
    ranks = evaluate(engine_like, questions)[mode]
    return float(np.mean(np.array(ranks) <= 5))


def fixed_queries(retriever, vectors: np.ndarray) -> SimpleNamespace:
    """An engine stand-in for ``evaluate`` that ranks ``retriever`` with given query vectors."""
    return SimpleNamespace(retriever=retriever, embedder=SimpleNamespace(embed_queries=lambda qs: vectors))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--limit", type=int, default=None, help="first N articles (by file name) instead of all 70")
    ap.add_argument("--runs", type=int, default=1, help="repetitions; medians are reported")
    ap.add_argument("--questions", type=int, default=None, help="evaluate on the first N questions only")
    ap.add_argument("--no-baseline", action="store_true", help="skip plain SentenceTransformer.encode")
    ap.add_argument("--no-recall", action="store_true", help="skip Recall@5")
    args = ap.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-indexing-"))
    try:
        loaded = korquad_set(work / "source")
        if loaded is None:
            return
        corpus, questions = subset(*loaded, args.limit, work)
        questions = questions[: args.questions] if args.questions else questions
        extra = extra_article()
        base_settings = Settings.from_env(corpus_dir=corpus, index_dir=work / "unused")
        probe = Engine(base_settings)
        choice = probe.embedding_choice
        print(f"KorQuAD: {len(list(corpus.glob('*.txt')))} articles, {len(questions)} questions; "
              f"batch size {base_settings.embedding_batch_size}; bfloat16 {'allowed' if base_settings.embedding_bf16 else 'off'}; "
              f"extra article: {extra.name} ({extra.stat().st_size} bytes)")
        print(f"embedding backend: setting {base_settings.embedding_backend!r} -> {choice.backend}: {choice.reason}")
        for t in choice.trials:
            print(f"  measured {t.backend}: " + (f"{t.seconds:.2f} s, check Recall@5 {t.recall:.4f}" if t.error is None else f"failed: {t.error}"))

        ours, plain, adds = [], [], []
        ours_engine = plain_engine = None
        for run in range(args.runs):
            run_dir = work / f"run{run}"
            run_corpus = run_dir / "corpus"
            shutil.copytree(corpus, run_corpus)
            engine = Engine(replace(base_settings, corpus_dir=run_corpus, index_dir=run_dir / "index"))
            t, c = time.perf_counter(), time.process_time()
            report = engine.build_index(full=True)
            total, cpu = time.perf_counter() - t, time.process_time() - c
            export = _export_seconds(engine)
            ours.append(SimpleNamespace(seconds=total - export, cpu=cpu, export=export, embed=report.embed_seconds,
                                        chunks=report.chunks_total, units=report.units_embedded))
            print(f"run {run + 1}: ours built {report.chunks_total} chunks / {report.units_embedded} units in {total:.1f} s "
                  f"({cpu:.0f} CPU s)"
                  + (f" (of it {export:.1f} s one-time OpenVINO export)" if export else ""), flush=True)
            shutil.copy(extra, run_corpus / f"zz_extra_{extra.name}")
            t = time.perf_counter()
            added = engine.build_index()
            adds.append(SimpleNamespace(seconds=time.perf_counter() - t, units=added.units_embedded, chunks=added.chunks_embedded))
            print(f"run {run + 1}: added one article ({added.chunks_embedded} chunks / {added.units_embedded} units) "
                  f"in {adds[-1].seconds:.1f} s", flush=True)
            (run_corpus / f"zz_extra_{extra.name}").unlink()
            engine.build_index()  # back to the measured corpus for the recall below
            if ours_engine is None:
                ours_engine = engine

            if not args.no_baseline:
                plain_engine, encode_s = _plain(base_settings, corpus, work, plain_engine)
                plain.append(SimpleNamespace(seconds=encode_s[0], cpu=encode_s[1], chunks=report.chunks_total, units=report.units_embedded))
                print(f"run {run + 1}: plain encode of the same {report.units_embedded} units in {encode_s[0]:.1f} s "
                      f"({encode_s[1]:.0f} CPU s)", flush=True)

        rows = [("ours: build_index (load+chunk+embed+write)", ours, lambda r: r.seconds)]
        cpu_rows = [("ours: build_index", ours)] + ([("plain ST encode", plain)] if plain else [])
        rows.append(("ours: embedding (model load included)", ours, lambda r: r.embed))
        if plain:
            rows.append(("plain ST encode fp32 bs 8 (encode only)", plain, lambda r: r.seconds))
        print("\n| what | seconds (median) | passages/s | units/s | speed vs plain encode |")
        print("| --- | --- | --- | --- | --- |")
        plain_s = statistics.median(r.seconds for r in plain) if plain else None
        for name, results, sec in rows:
            s = statistics.median(sec(r) for r in results)
            ratio = f"{plain_s / s:.2f}x" if plain_s else "n/a"
            print(f"| {name} | {s:.1f} | {results[0].chunks / s:.2f} | {results[0].units / s:.1f} | {ratio} |")
        cpu_plain = statistics.median(r.cpu for r in plain) if plain else None
        for name, results in cpu_rows:
            c = statistics.median(r.cpu for r in results)
            print(f"| {name}, process CPU seconds (load-robust) | {c:.0f} CPU s | | {results[0].units / c:.1f} per CPU s | "
                  + (f"{cpu_plain / c:.2f}x |" if cpu_plain else "n/a |"))
        a = statistics.median(r.seconds for r in adds)
        print(f"| ours: add one article ({adds[0].chunks} chunks, {adds[0].units} units) | {a:.1f} | | | |")
        if any(r.export for r in ours):
            print(f"(one-time OpenVINO export, not in the figures above: {max(r.export for r in ours):.0f} s)")

        if not args.no_recall:
            print(f"\n| retrieval | Recall@5 dense | Recall@5 hybrid |  ({len(questions)} questions)")
            print("| --- | --- | --- |")
            ov_q = ours_engine.embedder.embed_queries([q["question"] for q in questions])
            ours_like = fixed_queries(ours_engine.retriever, ov_q)
            print(f"| ours (docs and queries: {ours_engine.embedder.tag or 'torch fp32'}) | "
                  f"{recall(ours_like, questions, 'dense'):.3f} | {recall(ours_like, questions, 'hybrid'):.3f} |")
            if plain_engine is not None:
                fp_q = plain_engine.embedder.embed_queries([q["question"] for q in questions])
                plain_like = fixed_queries(plain_engine.retriever, fp_q)
                print(f"| plain fp32 (same units) | {recall(plain_like, questions, 'dense'):.3f} | {recall(plain_like, questions, 'hybrid'):.3f} |")
                if ours_engine.embedder.tag:
                    mixed = fixed_queries(ours_engine.retriever, fp_q)
                    print(f"| mixed (our docs, fp32 queries) | {recall(mixed, questions, 'dense'):.3f} | {recall(mixed, questions, 'hybrid'):.3f} |")
                    cos = _unit_cosine(ours_engine, plain_engine)
                    print(f"\nmean cosine of our unit vectors to the float32 ones: {cos.mean():.5f} (min {cos.min():.5f})")
    finally:
        shutil.rmtree(work, ignore_errors=True)


_EXPORT_LOGGED: dict = {}


def _export_seconds(engine: Engine) -> float:
    """Seconds this run spent on the one-time OpenVINO export (0 when it was cached)."""
    import json

    ov = getattr(engine.embedder, "_ov", None)
    if ov is None:
        return 0.0
    info = json.loads((Path(ov.xml).parent / "export.json").read_text(encoding="utf-8"))
    if info["key"] in _EXPORT_LOGGED or not ov.exported_now:
        return 0.0
    _EXPORT_LOGGED[info["key"]] = True
    return float(info["seconds"])


def _plain(settings: Settings, corpus: Path, work: Path, engine: Engine | None):
    """Plain ``SentenceTransformer.encode`` (the torch backend's model object, loaded once)
    on the same units; its vectors are indexed by the real indexer with the torch settings,
    so Recall@5 uses the same retrieval code and float32 query vectors."""
    if engine is None:
        engine = Engine(replace(settings, corpus_dir=corpus, index_dir=work / "plain-index", embedding_backend="torch"))
    st = engine.embedder.model  # SentenceTransformer(path, device="cpu")
    prompt = engine.embedder._doc_prompt
    timing = {}

    def embed(texts, titles):
        full = [prompt.replace("none", t or "none", 1) + x for x, t in zip(texts, titles)]
        t, c = time.perf_counter(), time.process_time()
        vecs = st.encode(full, batch_size=8, normalize_embeddings=True, convert_to_numpy=True)
        timing["s"] = (time.perf_counter() - t, time.process_time() - c)
        return vecs

    build_index(corpus, engine.store, engine.index_config(), embed, full=True)
    return engine, timing["s"]


def _unit_cosine(a: Engine, b: Engine) -> np.ndarray:
    va, vb = a.retriever.view.vectors, b.retriever.view.vectors
    n = min(len(va), len(vb))
    return (va[:n] * vb[:n]).sum(1)


if __name__ == "__main__":
    main()
