"""The on-disk index: generations written aside and swapped in atomically.

Layout of the index folder::

    CURRENT            name of the live generation (replaced atomically)
    .lock              held by the one build that may run at a time
    gen-*/             a complete generation
        manifest.json  format, models, chunking, per-document hashes, counts
        chunks.jsonl   one chunk per line, with its lexical terms
        units.npy      sentence units: (chunk row, start, end) per row
        vectors.npy    normalized embeddings of the units, row-aligned with units.npy
        dense.faiss    FAISS inner-product index over vectors.npy
        lexical/       bm25s index over the terms

A reader resolves CURRENT once and then reads only that generation, so a build that is
interrupted, or runs beside it, never shows it a mixture.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Protocol

import faiss
import numpy as np
from filelock import FileLock, Timeout

from ..types import Chunk
from .lexical import LexicalIndex, top_rows
from .rows import DocRows, Update
from .search import Candidates, IndexView

log = logging.getLogger(__name__)

FORMAT_VERSION = 2  # 2: chunks carry a page number (PDF)
_GEN_PREFIX = "gen-"
_TMP_PREFIX = ".tmp-"


class IndexUnavailable(RuntimeError):
    """The index is missing, incompatible or damaged; the message says how to fix it."""


class IndexMissing(IndexUnavailable):
    pass


class IndexIncompatible(IndexUnavailable):
    pass


@dataclass
class Generation:
    """One loaded, complete index generation."""

    path: Path
    manifest: dict
    chunks: list[Chunk]
    terms: list[list[str]]
    units: np.ndarray  # (n_units, 3): chunk row, start, end; grouped by chunk, in order
    vectors: np.ndarray  # (n_units, dim)
    dense: faiss.Index
    lexical: LexicalIndex

    @cached_property
    def unit_bounds(self) -> np.ndarray:
        """Chunk ``i``'s units are rows ``unit_bounds[i]:unit_bounds[i + 1]`` (units are
        stored contiguously per chunk, chunks contiguously per document)."""
        starts = np.searchsorted(self.units[:, 0], np.arange(len(self.chunks)))
        return np.append(starts, len(self.units))

    @property
    def name(self) -> str:
        return self.path.name

    @cached_property
    def df(self) -> Counter:
        """Document frequency of each lexical term (over chunks)."""
        return Counter(t for terms in self.terms for t in set(terms))

    @property
    def size(self) -> int:
        return len(self.chunks)

    def candidates(self, terms: list[str], qvec: np.ndarray, n: int) -> Candidates:
        """Union of both retrievers' top chunks, each scored by both. A chunk's dense score
        is its best sentence unit's cosine similarity."""
        _, hits = self.dense.search(qvec[None, :].astype(np.float32), min(4 * n, self.dense.ntotal))
        dense_rows = self.units[hits[0][hits[0] >= 0], 0]
        lexical = self.lexical.scores(terms)
        rows = np.unique(np.concatenate([dense_rows, top_rows(lexical, n)]))
        dense = np.empty(len(rows), dtype=np.float32)
        spans = []
        for i, row in enumerate(rows):
            lo, hi = self.unit_bounds[row], self.unit_bounds[row + 1]
            sims = self.vectors[lo:hi] @ qvec
            best = int(np.argmax(sims))
            dense[i] = sims[best]
            spans.append((int(self.units[lo + best, 1]), int(self.units[lo + best, 2])))
        return Candidates([self.chunks[r] for r in rows], spans, dense, lexical[rows])

    def unit_passages(self) -> Iterator[tuple[Chunk, int, int]]:
        """Every sentence unit: its chunk and span."""
        for row, s, e in self.units:
            yield self.chunks[int(row)], int(s), int(e)

    def doc_rows(self, doc_id: str) -> DocRows:
        """The rows of one document; they are contiguous here."""
        rows = self.rows_by_doc().get(doc_id, [])
        if not rows:
            return DocRows([], [], [], [], self.vectors[:0])
        first, end = rows[0], rows[-1] + 1
        lo, hi = self.unit_bounds[first], self.unit_bounds[end]
        units = self.units[lo:hi]
        return DocRows(
            self.chunks[first:end],
            self.terms[first:end],
            [(int(s), int(e)) for s, e in units[:, 1:]],
            [int(r) - first for r in units[:, 0]],
            self.vectors[lo:hi],
        )

    def rows_by_doc(self) -> dict[str, list[int]]:
        return self._rows_by_doc

    @cached_property
    def _rows_by_doc(self) -> dict[str, list[int]]:
        out: dict[str, list[int]] = {}
        for i, c in enumerate(self.chunks):
            out.setdefault(c.doc_id, []).append(i)
        return out


class Store(Protocol):
    """Where an index lives: files with FAISS and bm25s (``IndexStore``) or a Milvus
    collection (``milvus.MilvusStore``). Readers load the current version; one build at
    a time (under ``lock``) applies an ``Update`` to it."""

    def lock(self, timeout: float = 600) -> FileLock: ...

    def current_name(self) -> str | None: ...

    def read_manifest(self) -> dict | None: ...

    def load(self) -> IndexView: ...

    def open_current(self) -> IndexView | None: ...

    def apply(self, update: Update, previous) -> object: ...


class IndexStore:
    """The index as files in one folder, loaded whole by each reader."""

    def __init__(self, root: Path):
        self.root = Path(root)

    @property
    def pointer(self) -> Path:
        return self.root / "CURRENT"

    def pointed(self) -> str | None:
        """The generation ``CURRENT`` names, complete or not; None without a pointer."""
        try:
            return self.pointer.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return None

    def current_name(self) -> str | None:
        name = self.pointed()
        return name if name is not None and (self.root / name / "manifest.json").is_file() else None

    def lock(self, timeout: float = 600) -> FileLock:
        self.root.mkdir(parents=True, exist_ok=True)
        return FileLock(str(self.root / ".lock"), timeout=timeout)

    # -- reading -------------------------------------------------------------------
    def read_manifest(self) -> dict | None:
        name = self.current_name()
        if name is None:
            return None
        return manifest_of(self.root / name)

    def load(self) -> Generation:
        name = self.current_name()
        if name is None:
            raise IndexMissing(f"no index in {self.root}; build it with: python -m assistant index")
        return load_generation(self.root / name)

    def open_current(self) -> Generation | None:
        """The current generation, None when there is none (IndexUnavailable if damaged)."""
        return None if self.current_name() is None else self.load()

    # -- writing -------------------------------------------------------------------
    def apply(self, update: Update, previous: Generation | None) -> Path:
        """Write the updated index as a new generation and make it current: the kept
        documents' rows copied from ``previous``, the fresh ones added. Call under ``lock()``."""
        chunks, terms, unit_rows, unit_spans, blocks = [], [], [], [], []
        for doc_id in update.order:
            d = update.fresh.get(doc_id) or previous.doc_rows(doc_id)
            unit_rows.extend(len(chunks) + r for r in d.unit_chunk)
            unit_spans.extend(d.units)
            chunks.extend(d.chunks)
            terms.extend(d.terms)
            blocks.append(d.vectors)
        units = np.column_stack([np.array(unit_rows, dtype=np.int64).reshape(-1), np.array(unit_spans, dtype=np.int64).reshape(-1, 2)])
        vectors = np.concatenate(blocks).astype(np.float32) if blocks else np.zeros((0, 1), np.float32)
        update.manifest["counts"] = {"documents": len(update.order), "chunks": len(chunks), "units": len(units)}
        lexical = update.manifest["lexical"]
        return self._write(update.manifest, chunks, terms, units, vectors, k1=lexical["k1"], b=lexical["b"])

    def _write(self, manifest: dict, chunks: list[Chunk], terms: list[list[str]], units: np.ndarray, vectors: np.ndarray, k1: float, b: float) -> Path:
        previous = self.current_name()
        stamp = time.strftime("%Y%m%d-%H%M%S") + f"-{time.time_ns() % 1_000_000_000:09d}"
        tmp = self.root / f"{_TMP_PREFIX}{_GEN_PREFIX}{stamp}"
        tmp.mkdir(parents=True)
        with open(tmp / "chunks.jsonl", "w", encoding="utf-8") as f:
            for chunk, t in zip(chunks, terms):
                f.write(json.dumps({**chunk.to_dict(), "terms": t}, ensure_ascii=False) + "\n")
        np.save(tmp / "units.npy", units)
        np.save(tmp / "vectors.npy", vectors)
        dense = faiss.IndexFlatIP(vectors.shape[1])
        if len(vectors):
            dense.add(vectors)
        faiss.write_index(dense, str(tmp / "dense.faiss"))
        LexicalIndex.build(terms, k1=k1, b=b).save(tmp / "lexical")
        (tmp / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
        _fsync_tree(tmp)
        final = self.root / f"{_GEN_PREFIX}{stamp}"
        os.replace(tmp, final)
        pointer_tmp = self.root / f"{_TMP_PREFIX}CURRENT"
        pointer_tmp.write_text(final.name + "\n", encoding="utf-8")
        _fsync(pointer_tmp)
        os.replace(pointer_tmp, self.pointer)
        _fsync_dir(self.root)
        self.collect_garbage(keep=final.name, previous=previous)
        return final

    def collect_garbage(self, keep: str, previous: str | None = None) -> None:
        """Remove unfinished builds and old generations; the previous one (``previous``,
        the one live until the swap; else the newest other) stays a while for readers
        that resolved CURRENT just before the swap. A generation that a killed build
        renamed into place but never made current is not kept in its stead."""
        gens = sorted(p for p in self.root.glob(f"{_GEN_PREFIX}*") if p.is_dir())
        old = [p for p in gens if p.name != keep]
        stay = previous if previous is not None else (old[-1].name if old else None)
        for p in old:
            if p.name != stay:
                shutil.rmtree(p, ignore_errors=True)
        for p in self.root.glob(f"{_TMP_PREFIX}*"):
            shutil.rmtree(p, ignore_errors=True) if p.is_dir() else p.unlink(missing_ok=True)


def manifest_of(path: Path) -> dict:
    """The manifest of the generation in ``path``, read as UTF-8 whatever the locale (a
    library may switch the process to the C locale for a moment)."""
    return json.loads((path / "manifest.json").read_text(encoding="utf-8"))


def load_generation(path: Path) -> Generation:
    try:
        manifest = manifest_of(path)
        if manifest.get("format_version") != FORMAT_VERSION:
            raise IndexIncompatible(
                f"index format {manifest.get('format_version')} is not {FORMAT_VERSION}; "
                "rebuild it with: python -m assistant index --full"
            )
        chunks, terms = [], []
        with open(path / "chunks.jsonl", encoding="utf-8") as f:
            for line in f:
                rec = json.loads(line)
                terms.append(rec.pop("terms"))
                chunks.append(Chunk(**rec))
        units = np.load(path / "units.npy")
        vectors = np.load(path / "vectors.npy")
        dense = faiss.read_index(str(path / "dense.faiss"))
        lexical = LexicalIndex.load(path / "lexical", len(chunks))
    except (OSError, ValueError, KeyError, TypeError, RuntimeError) as exc:
        if isinstance(exc, IndexUnavailable):
            raise
        raise IndexUnavailable(f"index at {path} is damaged ({exc}); rebuild it with: python -m assistant index --full") from exc
    counts = manifest["counts"]
    if not (len(chunks) == counts["chunks"] and len(units) == vectors.shape[0] == dense.ntotal == counts["units"]):
        raise IndexUnavailable(f"index at {path} is inconsistent; rebuild it with: python -m assistant index --full")
    return Generation(path, manifest, chunks, terms, units, vectors, dense, lexical)


def _fsync(path: Path) -> None:
    with open(path, "rb") as f:
        os.fsync(f.fileno())


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_tree(root: Path) -> None:
    for p in root.rglob("*"):
        if p.is_file():
            _fsync(p)
    for p in [root, *[d for d in root.rglob("*") if d.is_dir()]]:
        _fsync_dir(p)


__all__ = ["Store", "IndexStore", "Generation", "IndexUnavailable", "IndexMissing", "IndexIncompatible", "Timeout", "FORMAT_VERSION"]
