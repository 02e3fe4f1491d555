"""Turn a file of any supported format into plain text for ingestion.

One job: ``extract(path) -> Extracted``. Each format has one extractor, registered by
suffix in ``EXTRACTORS``; ``SUPPORTED_SUFFIXES`` is derived from it. Every extractor
returns text whose paragraphs are separated by blank lines and whose headings are
Markdown-style ``# heading`` lines, so that ingestion classifies blocks the same way for
every format. A PDF also yields the start offset of each page in the text (pages are
separated by a blank line, so no block spans two pages).

Nothing in a document is executed: HTML is parsed, never rendered; XML is parsed with
DTDs and entities refused; zip containers and HWP's compressed sections are read with a
cap on their uncompressed size.
A file that cannot be read raises ``IngestError("name: reason")``.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import zipfile
import zlib
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path

from . import docx, html, hwp, hwpx, image, pdf, plain
from .base import Extracted, IngestError, Unreadable
from .ocr import OcrConfig, PageProgress, Reader

log = logging.getLogger(__name__)

EXTRACTORS: dict[str, tuple[str, Callable[[bytes], tuple[str, tuple[int, ...]]]]] = {
    ".txt": ("text", plain.extract),
    ".md": ("text", plain.extract),
    ".markdown": ("text", plain.extract),
    ".html": ("html", html.extract),
    ".htm": ("html", html.extract),
    ".pdf": ("pdf", pdf.extract),
    ".docx": ("docx", docx.extract),
    ".hwpx": ("hwpx", hwpx.extract),
    ".hwp": ("hwp", hwp.extract),
    **{suffix: ("image", image.extract) for suffix in (".png", ".jpg", ".jpeg", ".tif", ".tiff")},
}
SUPPORTED_SUFFIXES = frozenset(EXTRACTORS)
OCR_FORMATS = frozenset({"pdf", "image"})  # their extractors take an ocr.Reader

# What OCR read, by (file hash, OCR settings): a file checked on upload is not read again
# when it is indexed moments later.
_read_by_ocr: OrderedDict[tuple[str, OcrConfig], Extracted] = OrderedDict()
_read_by_ocr_lock = threading.Lock()

# Formats people will drop in the folder that cannot be read, with what to do instead.
UNSUPPORTED_HINTS = {
    ".doc": "legacy Word .doc files are not supported; save it as DOCX",
    ".rtf": "RTF files are not supported; save it as DOCX or TXT",
    ".ppt": "PowerPoint files are not supported; export it as PDF",
    ".pptx": "PowerPoint files are not supported; export it as PDF",
    ".xls": "spreadsheets are not supported",
    ".xlsx": "spreadsheets are not supported",
}


def unsupported_reason(path: Path) -> str | None:
    """Why ``path`` will not be read, judged by its name alone; None if it is supported."""
    suffix = path.suffix.lower()
    if suffix in EXTRACTORS:
        return None
    return UNSUPPORTED_HINTS.get(suffix, f"unsupported file type {path.suffix or '(none)'}")


def extract(path: Path, ocr: OcrConfig = OcrConfig(), on_page: PageProgress | None = None) -> Extracted:
    """The text of ``path``; IngestError("name: reason") when it cannot be read. Pages
    without text are read by OCR (``ocr``), reported page by page to ``on_page``."""
    path = Path(path)
    reason = unsupported_reason(path)
    if reason is not None:
        raise IngestError(f"{path.name}: {reason}")
    fmt, extractor = EXTRACTORS[path.suffix.lower()]
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise IngestError(f"{path.name}: cannot read the file ({exc.strerror or exc})") from exc
    if not raw.strip():
        raise IngestError(f"{path.name}: file is empty")
    sha256 = hashlib.sha256(raw).hexdigest()
    with _read_by_ocr_lock:
        if (sha256, ocr) in _read_by_ocr:
            return _read_by_ocr[sha256, ocr]
    reader = Reader(ocr, path.name, on_page) if fmt in OCR_FORMATS else None
    try:
        text, pages = extractor(raw, reader) if reader else extractor(raw)
    except Unreadable as exc:
        raise IngestError(f"{path.name}: {exc}") from exc
    except (zipfile.BadZipFile, zlib.error, EOFError) as exc:  # a damaged zip member
        raise IngestError(f"{path.name}: corrupt {fmt.upper()} file ({exc})") from exc
    except Exception as exc:  # one odd file must never stop indexing of the others
        log.debug("extracting %s failed", path, exc_info=True)
        raise IngestError(f"{path.name}: cannot read this {fmt.upper()} file ({type(exc).__name__}: {exc})") from exc
    if not text.strip():
        raise IngestError(f"{path.name}: no text content found")
    extracted = Extracted(text=text, sha256=sha256, format=fmt, pages=pages, ocr=reader.summary() if reader else None)
    if extracted.ocr:
        with _read_by_ocr_lock:
            _read_by_ocr[sha256, ocr] = extracted
            while len(_read_by_ocr) > 16:
                _read_by_ocr.popitem(last=False)
    return extracted
