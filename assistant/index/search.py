"""Hybrid retrieval: dense (sentence vectors) and lexical (BM25 over Kiwi morphemes)
candidates from whichever store holds the index, fused by a score-aware rule (see ``fuse``)."""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Protocol

import numpy as np

from ..config import Settings
from ..text import analysis
from ..text.language import detect_language
from ..types import Chunk, Passage
from .embeddings import Embedder


@dataclass(frozen=True)
class Candidates:
    """Per-chunk evidence for one query: dense cosine of the chunk's best sentence unit
    (whose span is ``spans[i]``) and BM25 score (0 where absent)."""

    chunks: list[Chunk]
    spans: list[tuple[int, int]]
    dense: np.ndarray
    lexical: np.ndarray
    coverage: float = 0.0  # share of the query's term weight (IDF) that the index knows at all
    language: str = ""  # the query's ("ko" or "en"); empty: chunks are not told apart by language


class IndexView(Protocol):
    """What retrieval reads from a loaded index, whichever store holds it."""

    name: str  # the index version; a new one is loaded when the store's differs
    manifest: dict

    @property
    def size(self) -> int: ...  # chunks

    @property
    def df(self) -> Mapping[str, int]: ...  # chunks holding each lexical term

    def candidates(self, terms: list[str], qvec: np.ndarray, n: int) -> Candidates:
        """Both retrievers' top ``n`` chunks (dense: of the top ``4 n`` units), each scored
        by both; coverage left 0."""
        ...


class HybridRetriever:
    def __init__(self, view: IndexView, embedder: Embedder, settings: Settings):
        self.view = view
        self.embedder = embedder
        self.settings = settings

    def search(self, query: str, k: int) -> list[Passage]:
        if not self.view.size:
            return []
        qvec = self.embedder.embed_queries([query])
        return self.search_with_vector(query, qvec[0], k)

    def search_with_vector(self, query: str, qvec: np.ndarray, k: int, mode: str = "hybrid") -> list[Passage]:
        """Rank with a precomputed query vector; ``mode`` "dense" or "lexical" ranks by one
        retriever alone (for benchmarks)."""
        return self.passages(self.candidates(query, qvec), k, mode)

    def candidates(self, query: str, qvec: np.ndarray) -> Candidates:
        terms = analysis.terms(query)
        found = self.view.candidates(terms, qvec, self.settings.candidates)
        return replace(found, coverage=self.coverage(terms), language=detect_language(query))

    def passages(self, cand: Candidates, k: int, mode: str = "hybrid") -> list[Passage]:
        """The ``k`` best of ``cand`` by fused score (or one retriever's, see ``search_with_vector``)."""
        if mode == "hybrid":
            fused = fuse(cand, self.settings.lexical_weight)
        else:
            fused = cand.dense if mode == "dense" else cand.lexical
        order = np.argsort(-fused, kind="stable")
        out: list[Passage] = []
        for i in order[:k]:
            out.append(
                Passage(
                    chunk=cand.chunks[i],
                    highlight=cand.spans[i],
                    score=float(fused[i]),
                    dense_score=float(cand.dense[i]),
                    lexical_score=float(cand.lexical[i]),
                    rank=len(out) + 1,
                )
            )
        return out

    def coverage(self, terms: list[str]) -> float:
        """IDF-weighted share of the query terms that occur in the index. An English
        question over Korean documents shares only a few names with them (low coverage);
        a Korean question reusing the documents' words shares most (high)."""
        unique = set(terms)
        if not unique:
            return 0.0
        n, df = self.view.size, self.view.df
        idf = {t: math.log(1 + (n - df.get(t, 0) + 0.5) / (df.get(t, 0) + 0.5)) for t in unique}
        return sum(w for t, w in idf.items() if df.get(t, 0)) / sum(idf.values())


@functools.lru_cache(maxsize=16384)
def _language(text: str) -> str:
    return detect_language(text)


def fuse(c: Candidates, lexical_weight: float) -> np.ndarray:
    """Convex combination of raw cosine similarity and BM25 relative to the best BM25
    hit, with the lexical share scaled by coverage squared.

    Measured (bench/retrieval.py): BM25 wins on Korean questions that reuse the
    passage's words, dense wins across languages, and plain RRF loses to the better of
    the two. Cosine is comparable across queries, so it stays raw; BM25 is not, so it
    is scaled to the query's best hit, and trusted only as far as the query's terms are
    known to the index at all.

    A chunk written in another language than the query shares few of its words whatever
    it says, so its lexical share is its cosine where that is higher: in a corpus of
    Korean and English articles, English questions about the Korean ones otherwise found
    English paragraphs that share their words first (bench/RESULTS.md, "A passage in
    another language").
    """
    best = float(c.lexical.max()) if len(c.lexical) else 0.0
    if best <= 0:
        return c.dense.copy()
    lexical = c.lexical / best
    if c.language:
        other = np.fromiter((_language(chunk.text) != c.language for chunk in c.chunks), dtype=bool, count=len(c.chunks))
        lexical = np.where(other, np.maximum(lexical, c.dense), lexical)
    weight = lexical_weight * c.coverage**2
    return weight * lexical + (1 - lexical_weight) * c.dense
