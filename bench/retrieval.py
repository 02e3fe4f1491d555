"""Retrieval quality and speed: BM25-Kiwi, dense and hybrid, by question language.

    python bench/retrieval.py                 # essay set, KorQuAD public set, mixed set
    python bench/retrieval.py --sets essay    # only the essay
    python bench/retrieval.py --runs 5        # latency repetitions
    python bench/retrieval.py --backend faiss --backend milvus   # both stores, side by side

Sets: (a) bench/data/essay_retrieval.jsonl over the essay in corpus/, (b) KorQuAD 1.0 dev
(public half) from ../shared/data, each article one document, each question's gold its
paragraph; skipped cleanly when the file is absent; (c) "mixed": the KorQuAD and SQuAD 2.0
(public part) articles in one corpus, with their answerable questions and the English
questions written about the Korean articles in bench/data/unseen (but those of a part
split.json lists as "unread"). Indexes are built with the real indexer into .bench-cache/
(reused when the corpus and settings are unchanged; --rebuild forces a fresh build and so
a build-time figure).
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
import time
from pathlib import Path

import faiss
import numpy as np

from assistant.config import Settings
from assistant.engine import Engine
from assistant.ingest import load_document
from assistant.text.language import detect_language

ROOT = Path(__file__).resolve().parent.parent
KORQUAD = ROOT.parent / "shared" / "data" / "korquad_v1.0_dev_public.json"
SQUAD = ROOT.parent / "shared" / "data" / "squad_v2.0_dev_public.json"
WRITTEN = ROOT / "bench" / "data" / "unseen"
CACHE = ROOT / ".bench-cache"
MODES = ("lexical", "dense", "hybrid")
KS = (1, 3, 5, 10)


def essay_set(work: Path) -> tuple[Path, list[dict]]:
    corpus = work / "essay-corpus"
    corpus.mkdir(parents=True, exist_ok=True)
    src = next((ROOT / "corpus").glob("deep_learning_and_chatgpt*"))
    shutil.copy(src, corpus / src.name)
    doc = load_document(corpus / src.name, src.name)
    questions = []
    for line in (ROOT / "bench/data/essay_retrieval.jsonl").read_text(encoding="utf-8").splitlines():
        q = json.loads(line)
        pos = doc.text.index(q["gold"])
        block = next(b for b in doc.blocks if b.start <= pos < b.end)
        questions.append({"question": q["question"], "lang": q["lang"], "gold": (src.name, block.paragraph)})
    return corpus, questions


def file_name(title: str) -> str:
    """The document name an article is written under (as bench/answers_unseen.py names it)."""
    return re.sub(r"[^\w.-]+", "_", title).strip("_") + ".txt"


def _write_articles(corpus: Path, path: Path) -> list[dict]:
    """Write the SQuAD-format articles of ``path`` as documents into ``corpus``; return their
    answerable questions, each with its gold paragraph, answer and context."""
    corpus.mkdir(parents=True, exist_ok=True)
    questions = []
    for article in json.loads(path.read_text(encoding="utf-8"))["data"]:
        name = file_name(article["title"])
        text = article["title"] + "\n\n" + "\n\n".join(p["context"].strip() for p in article["paragraphs"]) + "\n"
        target = corpus / name
        if not target.exists() or target.read_text(encoding="utf-8") != text:
            target.write_text(text, encoding="utf-8")
        doc = load_document(target, name)
        starts = {b.start: b.paragraph for b in doc.blocks}
        pos = len(article["title"]) + 2
        for p in article["paragraphs"]:
            ctx = p["context"].strip()
            paragraph = starts[pos]
            pos += len(ctx) + 2
            for qa in p["qas"]:
                if qa.get("is_impossible"):
                    continue
                questions.append({"question": qa["question"], "lang": detect_language(qa["question"]), "gold": (name, paragraph),
                                  "answer": qa["answers"][0]["text"], "context": ctx})
    return questions


def korquad_set(work: Path) -> tuple[Path, list[dict]] | None:
    """The 70 KorQuAD articles as documents in ``work``, with their questions."""
    if not KORQUAD.is_file():
        print(f"KorQuAD file not found at {KORQUAD}; skipping that set")
        return None
    corpus = work / "korquad-corpus"
    return corpus, _write_articles(corpus, KORQUAD)


def mixed_set(work: Path) -> tuple[Path, list[dict]] | None:
    """The KorQuAD and SQuAD articles in one corpus (70 Korean, 16 English): their own
    questions, and the English questions written about the Korean articles
    (bench/data/unseen, "en-ko"), which must find a Korean paragraph among English ones."""
    if not (KORQUAD.is_file() and SQUAD.is_file()):
        print("KorQuAD or SQuAD file not found; skipping the mixed set")
        return None
    corpus = work / "mixed-corpus"
    questions = _write_articles(corpus, KORQUAD) + _write_articles(corpus, SQUAD)
    paragraphs = {q["gold"]: q["context"] for q in questions}
    # A test part frozen but not yet read keeps its questions out of every run until it is.
    unread = json.loads((WRITTEN / "split.json").read_text(encoding="utf-8")).get("unread", [])
    for path in sorted(WRITTEN.glob("written_*.jsonl")):
        if path.stem.removeprefix("written_") in unread:
            continue
        for line in path.read_text(encoding="utf-8").splitlines():
            item = json.loads(line)
            if item.get("kind") == "en_about_ko":
                name = file_name(item["article"])
                gold = next(key for key, ctx in paragraphs.items() if key[0] == name and item["gold"] in ctx)
                questions.append({"question": item["question"], "lang": "en-ko", "gold": gold})
    return corpus, questions


def evaluate(engine: Engine, questions: list[dict]) -> dict:
    retriever = engine.retriever
    vectors = engine.embedder.embed_queries([q["question"] for q in questions])
    ranks = {m: [] for m in MODES}
    for q, vec in zip(questions, vectors):
        candidates = retriever.candidates(q["question"], vec)
        for mode in MODES:
            seen: list[tuple[str, int]] = []
            for p in retriever.passages(candidates, 30, mode):
                key = (p.chunk.doc_id, p.chunk.paragraph)
                if key not in seen:
                    seen.append(key)
            ranks[mode].append(seen.index(q["gold"]) + 1 if q["gold"] in seen else 999)
    return ranks


def summarize(name: str, questions: list[dict], ranks: dict) -> None:
    langs = sorted({q["lang"] for q in questions})
    counts = ", ".join(f"{lang} {sum(q['lang'] == lang for q in questions)}" for lang in langs)
    print(f"\n## {name}: {len(questions)} questions ({counts})")
    print(f"| retriever | lang | {' | '.join(f'R@{k}' for k in KS)} | MRR@10 |")
    print("| --- | --- |" + " --- |" * (len(KS) + 1))
    for mode in MODES:
        for lang in [*langs, "all"] if len(langs) > 1 else langs:
            r = np.array([rk for rk, q in zip(ranks[mode], questions) if lang in ("all", q["lang"])])
            cells = [f"{np.mean(r <= k):.3f}" for k in KS] + [f"{np.mean(np.where(r <= 10, 1 / r, 0)):.3f}"]
            print(f"| {mode} | {lang} | {' | '.join(cells)} |")


def build(name: str, corpus: Path, rebuild: bool, backend: str = "faiss", share: Engine | None = None) -> Engine:
    """An engine over ``corpus`` with its index in the ``backend`` store (milvus: milvus-lite
    in a file of its own), built or brought up to date; with ``share``'s model, if given."""
    index = CACHE / (f"{name}-index" if backend == "faiss" else f"{name}-{backend}")
    if rebuild:
        shutil.rmtree(index, ignore_errors=True)
    uri = str(index / "milvus.db") if backend == "milvus" else None
    engine = Engine(Settings.from_env(corpus_dir=corpus, index_dir=index, index_backend=backend, milvus_uri=uri))
    if share is not None:
        engine.embedder = share.embedder
    report = engine.build_index(progress=False)
    if report.chunks_embedded:
        print(f"{name} ({backend}): built {report.chunks_total} chunks ({report.units_embedded} sentence units) from "
              f"{len(report.added) + len(report.updated)} documents in {report.seconds:.1f} s, "
              f"{report.embed_seconds:.1f} s of it embedding (model load included): "
              f"{report.chunks_embedded / report.seconds:.2f} passages/s")
    else:
        print(f"{name} ({backend}): reused the index in {index} ({report.chunks_total} chunks; --rebuild to time a build)")
    return engine


def latency(engines: dict[str, Engine], questions: list[dict], runs: int, sample: int) -> None:
    """Median/p95 of one whole hybrid search with each store, in turn, against bare query
    embedding + FAISS search of the same vectors (the reference that cancels machine noise)."""
    queries = [q["question"] for q in questions[:: max(1, len(questions) // sample)]][:sample]
    first = next(iter(engines.values()))
    if "faiss" in engines:
        dense = engines["faiss"].retriever.view.dense
    else:  # a flat index of as many random unit vectors: the same work
        rng = np.random.default_rng(0)
        vectors = rng.standard_normal((first.retriever.view.manifest["counts"]["units"], first.embedder.embed_queries(["x"]).shape[1]))
        dense = faiss.IndexFlatIP(vectors.shape[1])
        dense.add((vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32))
    times: dict[str, list[float]] = {name: [] for name in engines}
    bare: list[float] = []
    for engine in engines.values():
        engine.search(queries[0])  # warm-up
    for _ in range(runs):
        for q in queries:
            t = time.perf_counter()
            vec = first.embedder.embed_queries([q])
            dense.search(vec, 5)
            bare.append(time.perf_counter() - t)
            for name, engine in engines.items():
                t = time.perf_counter()
                engine.search(q)
                times[name].append(time.perf_counter() - t)

    def fmt(xs):
        xs = sorted(xs)
        return f"median {statistics.median(xs) * 1000:.1f} ms, p95 {xs[int(0.95 * (len(xs) - 1))] * 1000:.1f} ms, stdev {statistics.pstdev(xs) * 1000:.1f} ms"

    print(f"query latency over {len(bare)} searches ({runs} runs x {len(queries)} queries), stores in turn:")
    print(f"  bare embed + FAISS:       {fmt(bare)}")
    for name, xs in times.items():
        ratios = [o / b for o, b in zip(xs, bare)]
        print(f"  hybrid search, {name + ':':<10}{fmt(xs)}; ratio to bare median {statistics.median(ratios):.2f}, "
              f"p95 {sorted(ratios)[int(0.95 * (len(ratios) - 1))]:.2f}")


def compare(name: str, questions: list[dict], ranks: dict[str, dict]) -> None:
    """Hybrid R@1, R@5 and MRR@10 of each store beside the first one's."""
    print(f"\n## {name}: hybrid retrieval by store")
    print("| store | R@1 | R@5 | MRR@10 | difference to " + next(iter(ranks)) + " (R@1 / R@5 / MRR@10) |")
    print("| --- | --- | --- | --- | --- |")
    base = None
    for store, r in ranks.items():
        r = np.array(r["hybrid"])
        row = np.array([np.mean(r <= 1), np.mean(r <= 5), np.mean(np.where(r <= 10, 1 / r, 0))])
        base = row if base is None else base
        print(f"| {store} | {row[0]:.3f} | {row[1]:.3f} | {row[2]:.3f} | {' / '.join(f'{d:+.3f}' for d in row - base)} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sets", default="essay,korquad,mixed")
    ap.add_argument("--runs", type=int, default=3, help="latency repetitions")
    ap.add_argument("--sample", type=int, default=20, help="queries per latency run")
    ap.add_argument("--rebuild", action="store_true", help="build indexes from scratch (times the build)")
    ap.add_argument("--backend", action="append", choices=("faiss", "milvus"), help="index store (repeatable; default faiss)")
    args = ap.parse_args()
    backends = args.backend or ["faiss"]
    CACHE.mkdir(exist_ok=True)
    sets = {"essay": essay_set, "korquad": korquad_set, "mixed": mixed_set}
    for name in args.sets.split(","):
        loaded = sets[name](CACHE)
        if loaded is None:
            continue
        corpus, questions = loaded
        engines, ranks = {}, {}
        for backend in backends:
            engines[backend] = build(name, corpus, args.rebuild, backend, share=next(iter(engines.values()), None))
            t = time.perf_counter()
            ranks[backend] = evaluate(engines[backend], questions)
            summarize(f"{name}, {backend}", questions, ranks[backend])
            print(f"(evaluated in {time.perf_counter() - t:.0f} s)")
        if len(ranks) > 1:
            compare(name, questions, ranks)
        latency(engines, questions, args.runs, args.sample)


if __name__ == "__main__":
    main()
