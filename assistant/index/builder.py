"""Incremental index builds: only new or changed documents are chunked and embedded.

A change of embedding model, chunking rules, lexical analyzer or index format rebuilds
everything. The result is written aside and swapped in (see ``store``), under a lock.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from ..ingest import IngestError, scan_corpus
from ..ingest.limits import Limits
from ..ingest.ocr import OcrConfig, PageProgress
from ..types import BuildReport
from ..weights import sha256_file
from .chunking import ChunkingConfig, chunk_document
from .rows import DocRows, Update
from .store import FORMAT_VERSION, IndexUnavailable, Store

log = logging.getLogger(__name__)

LEXICAL_ANALYZER = "kiwi-content-morphemes-v3"  # v2: a period after a Latin word split off; v3: "essay", "text", "document" are terms


@dataclass(frozen=True)
class IndexConfig:
    """Everything an index depends on besides the documents."""

    embedding: dict  # model fingerprint (see models.fingerprint) and truncation
    chunking: ChunkingConfig
    k1: float
    b: float
    limits: Limits = Limits()  # a bigger file or text is skipped with the reason
    ocr: OcrConfig = OcrConfig()  # how pages without text are read

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
    store: Store,
    config: IndexConfig,
    embed: Callable[[list[str], list[str]], np.ndarray],
    full: bool = False,
    lock_timeout: float = 600,
    on_page: PageProgress | None = None,
) -> BuildReport:
    """Bring the index in line with ``corpus_dir``. ``embed(texts, titles)`` returns
    normalized vectors; it is called once, with only the sentence units of new or changed
    documents. ``on_page(name, done, total)`` follows OCR page by page."""
    started = time.perf_counter()
    report = BuildReport()
    settings = config.manifest()
    with store.lock(lock_timeout):
        old = _reusable(store, settings, full, report)
        old_docs = old.manifest["documents"] if old else {}

        files, report.skipped = scan_corpus(corpus_dir)
        if not files and not report.skipped and not corpus_dir.is_dir():
            raise IndexUnavailable(f"corpus folder {corpus_dir} does not exist")

        order: list[str] = []
        fresh: dict[str, DocRows] = {}
        documents: dict[str, dict] = {}
        now = datetime.now(timezone.utc).isoformat(timespec="seconds")
        hashes = {doc_id: sha256_file(path) for doc_id, path in files.items()}
        original = _originals(hashes, old_docs)
        for doc_id, path in files.items():
            prev = old_docs.get(doc_id)

            def keep_previous() -> None:
                order.append(doc_id)
                documents[doc_id] = prev

            if original[doc_id] != doc_id:
                report.skipped[doc_id] = f"same content as {original[doc_id]}; not indexed twice"
                continue
            if prev is not None and prev["sha256"] == hashes[doc_id]:
                keep_previous()
                report.unchanged.append(doc_id)
                continue
            try:
                doc = config.limits.load(path, doc_id, config.ocr, on_page)
            except IngestError as exc:
                report.skipped[doc_id] = str(exc)
                if prev is not None:
                    keep_previous()
                    report.skipped[doc_id] += "; the previously indexed version is kept"
                continue
            order.append(doc_id)
            fresh[doc_id] = DocRows.fresh(chunk_document(doc, config.chunking), config.chunking)
            documents[doc_id] = {
                "sha256": doc.sha256,
                "title": doc.title,
                "size": path.stat().st_size,
                "type": path.suffix.lower().lstrip("."),
                "chunks": len(fresh[doc_id].chunks),
                "indexed_at": now,
            }
            if doc.ocr:
                documents[doc_id]["ocr"] = asdict(doc.ocr)
                if doc.ocr.dropped:
                    report.notes[doc_id] = doc.ocr.describe()
            (report.updated if prev is not None else report.added).append(doc_id)
        report.removed = sorted(set(old_docs) - set(documents))

        if not fresh and not report.removed and old is not None and old.manifest.get("skipped") == report.skipped:
            report.chunks_total = old.size
            report.seconds = time.perf_counter() - started
            return report

        texts, titles = [], []
        for d in fresh.values():
            t, h = d.unit_texts()
            texts += t
            titles += h
        t = time.perf_counter()
        vectors = embed(texts, titles) if texts else None
        report.embed_seconds = time.perf_counter() - t
        offset = 0
        for d in fresh.values():
            d.vectors = vectors[offset : offset + len(d.units)]
            offset += len(d.units)

        manifest = {**settings, "created_at": now, "documents": documents, "skipped": report.skipped}
        store.apply(Update(manifest, order, fresh, full=old is None), old)
        report.chunks_embedded = sum(len(d.chunks) for d in fresh.values())
        report.units_embedded = len(texts)
        report.chunks_total = manifest["counts"]["chunks"]
    report.seconds = time.perf_counter() - started
    return report


def _originals(hashes: dict[str, str], old_docs: dict[str, dict]) -> dict[str, str]:
    """For each file, the file whose copy of the same content is indexed: the one already
    in the index, else the first by name."""
    owner: dict[str, str] = {}
    for doc_id in sorted(hashes, key=lambda d: (old_docs.get(d, {}).get("sha256") != hashes[d], d)):
        owner.setdefault(hashes[doc_id], doc_id)
    return {doc_id: owner[h] for doc_id, h in hashes.items()}


def _reusable(store: Store, settings: dict, full: bool, report: BuildReport):
    """The current generation if its chunks and vectors can be reused, else None."""
    if store.current_name() is None:
        return None
    if full:
        report.full_rebuild_reason = "--full requested"
        return None
    try:
        old = store.open_current()
    except IndexUnavailable as exc:
        report.full_rebuild_reason = f"previous index unusable ({exc})"
        return None
    if old is None:
        return None
    for key in ("format_version", "embedding", "chunking", "lexical"):
        if old.manifest.get(key) != settings[key]:
            report.full_rebuild_reason = f"{key} changed"
            return None
    return old


