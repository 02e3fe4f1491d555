"""How much one document and one upload may be: the one place the limits are checked, for
the library (uploads) and the index builder alike. The defaults are the ``Settings``'."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..config import Settings
from ..types import Document
from .base import IngestError
from .document import load_document
from .ocr import OcrConfig, PageProgress


@dataclass(frozen=True)
class Limits:
    max_file_bytes: int = Settings.max_file_mb << 20
    max_files: int = Settings.max_upload_files  # per upload
    max_doc_chars: int = Settings.max_doc_chars

    @classmethod
    def of(cls, settings: Settings) -> "Limits":
        return cls(settings.max_file_mb << 20, settings.max_upload_files, settings.max_doc_chars)

    def check_size(self, path: Path) -> int:
        """The file's size; IngestError("name: file too large …") above the limit."""
        size = path.stat().st_size
        if size > self.max_file_bytes:
            raise IngestError(f"{path.name}: file too large ({size / 2**20:.1f} MB; the limit is {self.max_file_bytes / 2**20:.0f} MB)")
        return size

    def load(self, path: Path, doc_id: str, ocr: OcrConfig = OcrConfig(), on_page: PageProgress | None = None) -> Document:
        """``load_document`` within the limits (IngestError with the reason otherwise)."""
        self.check_size(path)
        doc = load_document(path, doc_id, ocr, on_page)
        if len(doc.text) > self.max_doc_chars:
            raise IngestError(f"{path.name}: too much text ({len(doc.text):,} characters; the limit is {self.max_doc_chars:,})")
        return doc
