"""Incremental index builds: only new or changed documents are chunked and embedded.

A change of embedding model, chunking rules, lexical analyzer or index format rebuilds
everything. The result is written aside and swapped in (see ``store``), under a lock.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from . import morphology
from .chunking import ChunkingConfig, chunk_document
from .ingest import IngestError, load_document, scan_corpus
from .models import sha256_file
from .store import FORMAT_VERSION, IndexStore, IndexUnavailable, load_generation
from .types import BuildReport, Chunk

log = logging.getLogger(__name__)

LEXICAL_ANALYZER = "kiwi-content-morphemes-v1"


@dataclass(frozen=True)
class IndexConfig:
    """Everything an index depends on besides the documents."""

    embedding: dict  # model fingerprint (see models.fingerprint) and truncation
    chunking: ChunkingConfig
    k1: float
    b: float

    def manifest(self) -> dict:
        """The parts of a manifest that must match for old chunks and vectors to be reused."""
        return {
            "format_version": FORMAT_VERSION,
            "embedding": self.embedding,
            "chunking": self.chunking.as_dict(),
            "lexical": {"analyzer": LEXICAL_ANALYZER, "k1": self.k1, "b": self.b},
        }


def build_index(
    corpus_dir: Path,
    store: IndexStore,
    config: IndexConfig,
    embed: Callable[[list[Chunk]], np.ndarray],
    full: bool = False,
    lock_timeout: float = 600,
) -> BuildReport:
    """Bring the index in line with ``corpus_dir``. ``embed`` turns chunks into normalized
    vectors; it is called once, with only the chunks that need it."""
    started = time.perf_counter()
    report = BuildReport()
    settings = config.manifest()
    with store.lock(lock_timeout):
        old = _reusable(store, settings, full, report)
        old_docs = old.manifest["documents"] if old else {}
        old_rows = old.rows_by_doc() if old else {}

        files, report.skipped = scan_corpus(corpus_dir)
        if not files and not report.skipped and not corpus_dir.is_dir():
            raise IndexUnavailable(f"corpus folder {corpus_dir} does not exist")

        kept: list[tuple[str, list[Chunk], list[list[str]], np.ndarray | None]] = []
        documents: dict[str, dict] = {}
        fresh: list[Chunk] = []
        now = datetime.now(timezone.utc).isoformat(timespec="seconds")
        for doc_id, path in files.items():
            prev = old_docs.get(doc_id)
            sha = sha256_file(path)
            if prev is not None and prev["sha256"] == sha:
                rows = old_rows.get(doc_id, [])
                kept.append((doc_id, [old.chunks[i] for i in rows], [old.terms[i] for i in rows], old.vectors[rows]))
                documents[doc_id] = prev
                report.unchanged.append(doc_id)
                continue
            try:
                doc = load_document(path, doc_id)
            except IngestError as exc:
                report.skipped[doc_id] = str(exc)
                continue
            chunks = chunk_document(doc, config.chunking)
            kept.append((doc_id, chunks, morphology.terms_batch([_lexical_text(c) for c in chunks]), None))
            fresh.extend(chunks)
            documents[doc_id] = {
                "sha256": doc.sha256,
                "title": doc.title,
                "size": path.stat().st_size,
                "chunks": len(chunks),
                "indexed_at": now,
            }
            (report.updated if prev is not None else report.added).append(doc_id)
        report.removed = sorted(set(old_docs) - set(documents))

        if not fresh and not report.removed and old is not None and not full:
            report.chunks_total = len(old.chunks)
            report.seconds = time.perf_counter() - started
            return report

        fresh_vectors = embed(fresh) if fresh else None
        chunks, terms, blocks = [], [], []
        offset = 0
        for _, doc_chunks, doc_terms, vecs in kept:
            if vecs is None:
                vecs = fresh_vectors[offset : offset + len(doc_chunks)]
                offset += len(doc_chunks)
            chunks.extend(doc_chunks)
            terms.extend(doc_terms)
            blocks.append(vecs)
        vectors = np.concatenate(blocks).astype(np.float32) if blocks else np.zeros((0, 1), np.float32)
        manifest = {
            **settings,
            "created_at": now,
            "documents": documents,
            "counts": {"documents": len(documents), "chunks": len(chunks)},
        }
        store.write(manifest, chunks, terms, vectors, k1=config.k1, b=config.b)
        report.chunks_embedded = len(fresh)
        report.chunks_total = len(chunks)
    report.seconds = time.perf_counter() - started
    return report


def _lexical_text(chunk: Chunk) -> str:
    return f"{chunk.section}\n{chunk.text}"


def _reusable(store: IndexStore, settings: dict, full: bool, report: BuildReport):
    """The current generation if its chunks and vectors can be reused, else None."""
    name = store.current_name()
    if name is None:
        return None
    if full:
        report.full_rebuild_reason = "--full requested"
        return None
    try:
        old = load_generation(store.root / name)
    except IndexUnavailable as exc:
        report.full_rebuild_reason = f"previous index unusable ({exc})"
        return None
    for key in ("format_version", "embedding", "chunking", "lexical"):
        if old.manifest.get(key) != settings[key]:
            report.full_rebuild_reason = f"{key} changed"
            return None
    return old


