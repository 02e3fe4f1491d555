"""What every extractor shares: the result type and the errors."""

from __future__ import annotations

from dataclasses import dataclass

from ..types import OcrSummary


class IngestError(ValueError):
    """A file that cannot be turned into a document; the message says why."""


@dataclass(frozen=True)
class Extracted:
    """The text of one file, ready for block classification."""

    text: str
    sha256: str  # of the raw file bytes (what the indexer compares to detect changes)
    format: str  # "text", "html", "pdf", "docx", "hwpx", "hwp" or "image"
    pages: tuple[int, ...] = ()  # paged formats (PDF, images): start offset in ``text`` of each page
    ocr: OcrSummary | None = None  # when pages were read by OCR


class Unreadable(Exception):
    """Raised inside an extractor; ``extract`` prefixes the file name."""
