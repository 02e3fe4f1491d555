"""The document library: what is in the corpus folder, adding files to it safely and
removing them. Indexing is the indexer's job; this module only decides which files
enter or leave the corpus, and lists them with their index status."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import time
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from ..types import OcrSummary
from ..weights import sha256_file
from .base import IngestError
from .document import scan_corpus
from .limits import Limits
from .ocr import OcrConfig, PageProgress
from .registry import SUPPORTED_SUFFIXES

MAX_NAME_CHARS = 120
_UNSAFE = re.compile(r"[\x00-\x1f\x7f<>:\"|?*]")


class LibraryError(ValueError):
    """A request the library refuses as a whole; the message says why."""


@dataclass(frozen=True)
class AddResult:
    """What happened to one file offered to the library."""

    source: str  # the name it was offered under
    name: str | None  # its document id in the corpus, when it has one
    status: str  # "added", "replaced", "unchanged", "duplicate" or "refused"
    reason: str = ""

    def describe(self) -> str:
        renamed = f" as {self.name}" if self.name and self.name != self.source else ""
        return f"{self.status}: {self.source}{renamed}" + (f" ({self.reason})" if self.reason else "")


@dataclass(frozen=True)
class DocumentRow:
    name: str
    type: str
    size: int
    chunks: int | None
    indexed_at: str | None
    status: str  # "indexed", "pending", or "skipped: <reason>"


def safe_name(name: str) -> str:
    """A plain file name for ``name``: no folders, control characters, leading dots or
    characters that are unsafe on common file systems, at most MAX_NAME_CHARS long.
    Raises LibraryError when nothing usable is left or the type is not supported."""
    base = unicodedata.normalize("NFC", re.split(r"[\\/]", name or "")[-1])
    base = _UNSAFE.sub("_", base).strip().lstrip(".").strip()
    stem, dot, suffix = base.rpartition(".")
    if not dot or not stem.strip("_ "):
        raise LibraryError(f"{_shown(name)}: not a usable file name")
    suffix = "." + suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise LibraryError(f"{_shown(name)}: unsupported file type {suffix} (supported: {', '.join(sorted(SUPPORTED_SUFFIXES))})")
    return stem[: MAX_NAME_CHARS - len(suffix)].rstrip() + suffix


def _shown(name: str) -> str:
    """A file name as it may appear in a message: printable and short."""
    text = _UNSAFE.sub("?", name or "")
    return text if len(text) <= 60 else text[:40] + "…" + text[-15:]


TRASH_KEPT = 10  # removals that can still be undone


class Library:
    """The corpus folder people add documents to and remove them from. With a ``trash``
    folder, removed files are moved there, and the latest removals can be undone."""

    def __init__(self, corpus_dir: Path, limits: Limits | None = None, ocr: OcrConfig = OcrConfig(), trash: Path | None = None):
        self.root = Path(corpus_dir)
        self.limits = limits or Limits()
        self.ocr = ocr
        self.trash = trash

    def files(self) -> dict[str, Path]:
        return scan_corpus(self.root)[0] if self.root.is_dir() else {}

    def add(self, sources: list[Path], names: list[str] | None = None, on_page: PageProgress | None = None) -> list[AddResult]:
        """Copy readable files into the corpus folder (top level). ``names`` are the names
        the files were offered under (an upload's temporary path hides it); default: the
        paths' names. Each file is checked first (name, size, content, readable text), so
        nothing unreadable or duplicated enters the corpus."""
        if len(sources) > self.limits.max_files:
            raise LibraryError(f"too many files at once ({len(sources)}; the limit is {self.limits.max_files})")
        self.root.mkdir(parents=True, exist_ok=True)
        names = names or [Path(s).name for s in sources]
        by_hash = {sha256_file(p): doc for doc, p in self.files().items()}
        results = []
        for source, offered in zip(sources, names):
            try:
                results.append(self._add_one(Path(source), offered, by_hash, on_page))
            except (LibraryError, IngestError, OSError) as exc:
                results.append(AddResult(_shown(offered), None, "refused", _reason(exc)))
        return results

    def _add_one(self, source: Path, offered: str, by_hash: dict[str, str], on_page: PageProgress | None) -> AddResult:
        name = safe_name(offered)
        size = self.limits.check_size(source)
        if size == 0:
            raise LibraryError("file is empty")
        data = source.read_bytes()
        digest = hashlib.sha256(data).hexdigest()
        same = by_hash.get(digest)
        if same == name:
            return AddResult(_shown(offered), name, "unchanged", "already in the library")
        if same is not None:
            return AddResult(_shown(offered), same, "duplicate", f"same content as {same}; not added twice")
        target = self.root / name
        tmp = self.root / f".incoming-{digest[:16]}{target.suffix}"
        try:
            tmp.write_bytes(data)
            shown = on_page and (lambda _, done, total: on_page(name, done, total))  # not the temporary name
            doc = self.limits.load(tmp, name, self.ocr, shown)  # refuse what the indexer could not read
            replaced = target.exists() or target.is_symlink()
            os.replace(tmp, target)  # replaces a symbolic link itself, never its target
        finally:
            tmp.unlink(missing_ok=True)
        by_hash[digest] = name
        return AddResult(_shown(offered), name, "replaced" if replaced else "added", doc.ocr.describe() if doc.ocr else "")

    def remove(self, names: list[str]) -> list[str]:
        """Delete documents from the corpus folder by document id; unknown ids are refused
        before anything is deleted."""
        files = self.files()
        unknown = [n for n in names if n not in files]
        if unknown:
            raise LibraryError(f"not in the library: {', '.join(_shown(n) for n in unknown)}")
        now = time.time_ns()
        batch = self.trash / f"{time.strftime('%Y%m%d-%H%M%S', time.localtime(now / 1e9))}-{now % 10**9:09d}" if self.trash else None
        for n in names:
            if batch is None:
                files[n].unlink()
            else:
                (batch / n).parent.mkdir(parents=True, exist_ok=True)
                shutil.move(files[n], batch / n)
        if batch is not None:
            for old in sorted(self.trash.iterdir())[:-TRASH_KEPT]:
                shutil.rmtree(old, ignore_errors=True)
        return list(names)

    def undo_remove(self) -> list[str]:
        """Put back the files of the latest removal not undone yet; their names. A file of
        the same name added since is kept and the removal left as it is."""
        batches = sorted(self.trash.iterdir()) if self.trash and self.trash.is_dir() else []
        if not batches:
            raise LibraryError("no removal to undo")
        batch = batches[-1]
        names = sorted(p.relative_to(batch).as_posix() for p in batch.rglob("*") if p.is_file())
        taken = [n for n in names if (self.root / n).exists()]
        if taken:
            raise LibraryError(f"added again since it was removed: {', '.join(_shown(n) for n in taken)}")
        for n in names:
            (self.root / n).parent.mkdir(parents=True, exist_ok=True)
            shutil.move(batch / n, self.root / n)
        shutil.rmtree(batch, ignore_errors=True)
        return names

    def rows(self, manifest: dict | None) -> list[DocumentRow]:
        """Every file in the corpus with its index status."""
        indexed = (manifest or {}).get("documents", {})
        skipped = (manifest or {}).get("skipped", {})
        rows = []
        for name, path in self.files().items():
            meta = indexed.get(name)
            if name in skipped:
                status = f"skipped: {skipped[name]}"
            elif meta and meta["sha256"] == sha256_file(path):
                status = "indexed" + (f" ({OcrSummary(**meta['ocr']).describe()})" if meta.get("ocr") else "")
            else:
                status = "pending"
            rows.append(DocumentRow(name, path.suffix.lower().lstrip("."), path.stat().st_size,
                                    meta and meta["chunks"], meta and meta["indexed_at"], status))
        return rows


def _reason(exc: Exception) -> str:
    text = str(exc)
    # IngestError messages start with the file name; the row already shows it.
    return text.split(": ", 1)[1] if isinstance(exc, IngestError) and ": " in text else text
