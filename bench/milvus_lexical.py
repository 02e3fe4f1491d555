"""Which lexical scoring to use in Milvus: BM25 weights computed by the app over Kiwi
morphemes and stored as a sparse vector (what `assistant/index/milvus.py` does), or
Milvus's own BM25 function over the same morphemes (its standard analyzer on the
morphemes joined by spaces). Lexical retrieval alone, KorQuAD public half, against bm25s.

    python -m bench.milvus_lexical

Reads the chunks and their terms from the file index `bench/retrieval.py` keeps in
.bench-cache/ (built if missing); writes a milvus-lite file of its own.
"""

from __future__ import annotations

import shutil
import time

import numpy as np
from pymilvus import DataType, Function, FunctionType, MilvusClient

from assistant.index.lexical import top_rows
from assistant.index.milvus import Stats
from assistant.text import analysis
from bench.retrieval import CACHE, build, korquad_set

K = 10


def ranks(found: list[list[tuple[str, int]]], golds: list[tuple[str, int]]) -> np.ndarray:
    """Rank of each gold paragraph among the distinct paragraphs found (999: not found)."""
    found = [list(dict.fromkeys(f)) for f in found]
    return np.array([f.index(g) + 1 if g in f else 999 for f, g in zip(found, golds)])


def row(name: str, r: np.ndarray, seconds: float) -> str:
    mrr = np.mean(np.where(r <= 10, 1 / r, 0))
    return f"| {name} | {np.mean(r <= 1):.3f} | {np.mean(r <= 5):.3f} | {mrr:.3f} | {seconds / len(r) * 1000:.2f} ms |"


def main() -> None:
    loaded = korquad_set(CACHE)
    if loaded is None:
        return
    corpus, questions = loaded
    view = build("korquad", corpus, False).retriever.view
    keys = [(c.doc_id, c.paragraph) for c in view.chunks]
    golds = [tuple(q["gold"]) for q in questions]
    query_terms = [analysis.terms(q["question"]) for q in questions]

    t = time.perf_counter()
    bm25s = [[keys[i] for i in top_rows(view.lexical.scores(terms), K)] for terms in query_terms]
    results = [row("bm25s (file index)", ranks(bm25s, golds), time.perf_counter() - t)]

    folder = CACHE / "milvus-lexical"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    client = MilvusClient(str(folder / "lexical.db"))
    lex = view.manifest["lexical"]
    stats = Stats(k1=lex["k1"], b=lex["b"])
    stats.add(view.terms)

    schema = MilvusClient.create_schema(auto_id=False)
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("ours", DataType.SPARSE_FLOAT_VECTOR)
    schema.add_field("text", DataType.VARCHAR, max_length=65535, enable_analyzer=True,
                     analyzer_params={"tokenizer": "standard"})
    schema.add_field("bm25", DataType.SPARSE_FLOAT_VECTOR)
    schema.add_function(Function(name="bm25", function_type=FunctionType.BM25, input_field_names=["text"], output_field_names=["bm25"]))
    client.create_collection("lexical", schema=schema)
    index = client.prepare_index_params()
    index.add_index(field_name="ours", index_type="SPARSE_INVERTED_INDEX", metric_type="IP")
    index.add_index(field_name="bm25", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25",
                    params={"bm25_k1": lex["k1"], "bm25_b": lex["b"]})
    client.create_index("lexical", index)
    client.load_collection("lexical")
    rows = [{"id": i, "ours": stats.weights(terms) or {0: 1.0}, "text": " ".join(terms) or "∅"} for i, terms in enumerate(view.terms)]
    for i in range(0, len(rows), 256):
        client.insert("lexical", rows[i : i + 256])
    client.flush("lexical")

    for name, field, data in (
        ("Milvus, sparse vector of our BM25 weights (IP)", "ours", [stats.query(terms) for terms in query_terms]),
        ("Milvus BM25 function, standard analyzer over the morphemes", "bm25", [" ".join(terms) for terms in query_terms]),
    ):
        found, t = [], time.perf_counter()
        for d in data:
            hits = client.search("lexical", data=[d], anns_field=field, limit=K)[0] if d else []
            found.append([keys[h["id"]] for h in hits])
        results.append(row(name, ranks(found, golds), time.perf_counter() - t))
    print(f"\n## Lexical retrieval alone, KorQuAD public half ({len(questions)} questions, {len(keys)} chunks)")
    print("| scoring | R@1 | R@5 | MRR@10 | per query |")
    print("| --- | --- | --- | --- | --- |")
    print("\n".join(results))
    client.close()


if __name__ == "__main__":
    main()
