"""Hybrid retrieval: dense (FAISS) and lexical (BM25 over Kiwi morphemes) candidates,
fused by a score-aware rule (see ``fuse``), ranked per paragraph."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import morphology
from .config import Settings
from .embeddings import Embedder
from .lexical import top_rows
from .store import Generation
from .types import Passage


@dataclass(frozen=True)
class Candidates:
    """Per-row evidence for one query: dense cosine and BM25 score (0 where absent)."""

    rows: np.ndarray
    dense: np.ndarray
    lexical: np.ndarray


class HybridRetriever:
    def __init__(self, generation: Generation, embedder: Embedder, settings: Settings):
        self.generation = generation
        self.embedder = embedder
        self.settings = settings

    def search(self, query: str, k: int) -> list[Passage]:
        if not self.generation.chunks:
            return []
        qvec = self.embedder.embed_queries([query])
        return self.search_with_vector(query, qvec[0], k)

    def search_with_vector(self, query: str, qvec: np.ndarray, k: int, mode: str = "hybrid") -> list[Passage]:
        """Rank with a precomputed query vector; ``mode`` "dense" or "lexical" ranks by one
        retriever alone (for benchmarks)."""
        cand = self.candidates(morphology.terms(query), qvec)
        if mode == "hybrid":
            fused = fuse(cand)
        else:
            fused = cand.dense if mode == "dense" else cand.lexical
        order = np.argsort(-fused, kind="stable")
        chunks = self.generation.chunks
        out: list[Passage] = []
        for i in order[:k]:
            row = int(cand.rows[i])
            out.append(
                Passage(
                    chunk=chunks[row],
                    score=float(fused[i]),
                    dense_score=float(cand.dense[i]),
                    lexical_score=float(cand.lexical[i]),
                    rank=len(out) + 1,
                )
            )
        return out

    def candidates(self, terms: list[str], qvec: np.ndarray) -> Candidates:
        """Union of both retrievers' top candidates, each scored by both."""
        n = self.settings.candidates
        g = self.generation
        _, dense_rows = g.dense.search(qvec[None, :].astype(np.float32), min(n, g.dense.ntotal))
        lexical = g.lexical.scores(terms)
        rows = np.unique(np.concatenate([dense_rows[0][dense_rows[0] >= 0], top_rows(lexical, n)]))
        return Candidates(rows, (g.vectors[rows] @ qvec).astype(np.float32), lexical[rows])


def fuse(c: Candidates, query_language: str, settings: Settings) -> np.ndarray:
    raise NotImplementedError
