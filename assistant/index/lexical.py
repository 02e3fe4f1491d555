"""BM25 over Kiwi morphemes (bm25s), so Korean particles and endings do not hide matches."""

from __future__ import annotations

import logging
from pathlib import Path

import bm25s
import numpy as np

# bm25s sets its own logger to DEBUG on import; keep it as quiet as the rest.
logging.getLogger("bm25s").setLevel(logging.WARNING)

_EMPTY = "\u2205"  # stands in for a chunk with no terms, keeping rows aligned


class LexicalIndex:
    def __init__(self, retriever: bm25s.BM25, size: int):
        self.retriever = retriever
        self.size = size

    @classmethod
    def build(cls, docs_terms: list[list[str]], k1: float, b: float) -> "LexicalIndex":
        retriever = bm25s.BM25(k1=k1, b=b, method="lucene")
        retriever.index([t or [_EMPTY] for t in docs_terms], show_progress=False)
        return cls(retriever, len(docs_terms))

    def scores(self, query_terms: list[str]) -> np.ndarray:
        """BM25 score of every row for the query (zeros when no term is known)."""
        vocab = self.retriever.vocab_dict
        known = [t for t in query_terms if t in vocab and t != _EMPTY]
        if not known or self.size == 0:
            return np.zeros(self.size, dtype=np.float32)
        return self.retriever.get_scores(known).astype(np.float32)

    def save(self, folder: Path) -> None:
        self.retriever.save(str(folder))

    @classmethod
    def load(cls, folder: Path, size: int) -> "LexicalIndex":
        return cls(bm25s.BM25.load(str(folder)), size)


def top_rows(scores: np.ndarray, k: int) -> np.ndarray:
    """Rows of the ``k`` highest positive scores, best first."""
    k = min(k, len(scores))
    if k == 0:
        return np.zeros(0, dtype=np.int64)
    top = np.argpartition(-scores, k - 1)[:k]
    top = top[np.argsort(-scores[top], kind="stable")]
    return top[scores[top] > 0].astype(np.int64)
