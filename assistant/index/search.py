"""Hybrid retrieval: dense (FAISS) and lexical (BM25 over Kiwi morphemes) candidates,
fused by a score-aware rule (see ``fuse``)."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

import numpy as np

from ..config import Settings
from ..text import analysis
from ..types import Passage
from .embeddings import Embedder
from .lexical import top_rows
from .store import Generation


@dataclass(frozen=True)
class Candidates:
    """Per-row evidence for one query: dense cosine and BM25 score (0 where absent)."""

    rows: np.ndarray
    dense: np.ndarray
    lexical: np.ndarray
    coverage: float  # share of the query's term weight (IDF) that the index knows at all
    best_unit: np.ndarray  # per candidate: row of its most similar sentence unit


class HybridRetriever:
    def __init__(self, generation: Generation, embedder: Embedder, settings: Settings):
        self.generation = generation
        self.embedder = embedder
        self.settings = settings
        self._df = Counter(t for terms in generation.terms for t in set(terms))

    def search(self, query: str, k: int) -> list[Passage]:
        if not self.generation.chunks:
            return []
        qvec = self.embedder.embed_queries([query])
        return self.search_with_vector(query, qvec[0], k)

    def search_with_vector(self, query: str, qvec: np.ndarray, k: int, mode: str = "hybrid") -> list[Passage]:
        """Rank with a precomputed query vector; ``mode`` "dense" or "lexical" ranks by one
        retriever alone (for benchmarks)."""
        cand = self.candidates(analysis.terms(query), qvec)
        if mode == "hybrid":
            fused = fuse(cand, self.settings.lexical_weight)
        else:
            fused = cand.dense if mode == "dense" else cand.lexical
        order = np.argsort(-fused, kind="stable")
        chunks = self.generation.chunks
        out: list[Passage] = []
        for i in order[:k]:
            row = int(cand.rows[i])
            _, start, end = self.generation.units[cand.best_unit[i]]
            out.append(
                Passage(
                    chunk=chunks[row],
                    highlight=(int(start), int(end)),
                    score=float(fused[i]),
                    dense_score=float(cand.dense[i]),
                    lexical_score=float(cand.lexical[i]),
                    rank=len(out) + 1,
                )
            )
        return out

    def candidates(self, terms: list[str], qvec: np.ndarray) -> Candidates:
        """Union of both retrievers' top chunks, each scored by both. A chunk's dense score
        is its best sentence unit's cosine similarity."""
        n = self.settings.candidates
        g = self.generation
        _, hits = g.dense.search(qvec[None, :].astype(np.float32), min(4 * n, g.dense.ntotal))
        dense_rows = g.units[hits[0][hits[0] >= 0], 0]
        lexical = g.lexical.scores(terms)
        rows = np.unique(np.concatenate([dense_rows, top_rows(lexical, n)]))
        dense = np.empty(len(rows), dtype=np.float32)
        best = np.empty(len(rows), dtype=np.int64)
        for i, row in enumerate(rows):
            lo, hi = g.unit_bounds[row], g.unit_bounds[row + 1]
            sims = g.vectors[lo:hi] @ qvec
            best[i] = lo + int(np.argmax(sims))
            dense[i] = sims[best[i] - lo]
        return Candidates(rows, dense, lexical[rows], self.coverage(terms), best)

    def coverage(self, terms: list[str]) -> float:
        """IDF-weighted share of the query terms that occur in the index. An English
        question over Korean documents shares only a few names with them (low coverage);
        a Korean question reusing the documents' words shares most (high)."""
        unique = set(terms)
        if not unique:
            return 0.0
        n = len(self.generation.terms)
        idf = {t: math.log(1 + (n - self._df.get(t, 0) + 0.5) / (self._df.get(t, 0) + 0.5)) for t in unique}
        return sum(w for t, w in idf.items() if t in self._df) / sum(idf.values())


def fuse(c: Candidates, lexical_weight: float) -> np.ndarray:
    """Convex combination of raw cosine similarity and BM25 relative to the best BM25
    hit, with the lexical share scaled by coverage squared.

    Measured (bench/retrieval.py): BM25 wins on Korean questions that reuse the
    passage's words, dense wins across languages, and plain RRF loses to the better of
    the two. Cosine is comparable across queries, so it stays raw; BM25 is not, so it
    is scaled to the query's best hit, and trusted only as far as the query's terms are
    known to the index at all.
    """
    best = float(c.lexical.max()) if len(c.lexical) else 0.0
    if best <= 0:
        return c.dense.copy()
    weight = lexical_weight * c.coverage**2
    return weight * (c.lexical / best) + (1 - lexical_weight) * c.dense
