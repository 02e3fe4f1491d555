"""What every extractor shares: the result type and the errors."""

from __future__ import annotations

from dataclasses import dataclass


class IngestError(ValueError):
    """A file that cannot be turned into a document; the message says why."""


@dataclass(frozen=True)
class Extracted:
    """The text of one file, ready for block classification."""

    text: str
    sha256: str  # of the raw file bytes (what the indexer compares to detect changes)
    format: str  # "text", "html", "pdf", "docx", "hwpx" or "hwp"
    pages: tuple[int, ...] = ()  # PDF only: start offset in ``text`` of each page


class Unreadable(Exception):
    """Raised inside an extractor; ``extract`` prefixes the file name."""
