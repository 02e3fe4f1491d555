"""PDF: text per page, running headers, footers and page numbers dropped, lines joined into paragraphs."""

from __future__ import annotations

import io
import re

from .base import Unreadable
from .ocr import Reader
from .plain import CONTROL

_PAGE_NUMBER = re.compile(r"^\s*(?:[-–—]\s*)?(?:page\s*)?\d{1,4}(?:\s*(?:/|of)\s*\d{1,4})?(?:\s*[-–—])?\s*$", re.IGNORECASE)
_LINE_END = re.compile(r"[.!?。…:;)\]\"'”’]\s*$|[다요죠까니]\.?\s*$")


def extract(raw: bytes, reader: Reader) -> tuple[str, tuple[int, ...]]:
    """The text of every page; a page without a text layer is read by OCR (a page with
    one never is)."""
    from pypdf import PdfReader
    from pypdf.errors import DependencyError, FileNotDecryptedError

    if b"%PDF-" not in raw[:1024]:
        raise Unreadable("corrupt or not a PDF (no PDF header)")
    try:
        pdf = PdfReader(io.BytesIO(raw))
        if pdf.is_encrypted:
            try:
                opened = pdf.decrypt("")  # owner-password-only files open without one
            except (DependencyError, NotImplementedError) as exc:
                raise Unreadable(f"encrypted PDF that cannot be opened here ({exc})") from exc
            if not opened:
                raise Unreadable("encrypted PDF (a password is needed to open it)")
        pages = [page.extract_text() or "" for page in pdf.pages]
    except Unreadable:
        raise
    except FileNotDecryptedError as exc:
        raise Unreadable("encrypted PDF (a password is needed to open it)") from exc
    except Exception as exc:  # pypdf raises many types (PdfReadError, KeyError, ...) on damaged files
        raise Unreadable(f"corrupt or not a PDF ({type(exc).__name__}: {exc})") from exc
    if not pages:
        raise Unreadable("corrupt or not a PDF (no pages)")
    pages = _drop_running_lines([CONTROL.sub("", p.replace("\r\n", "\n").replace("\r", "\n")) for p in pages])
    bodies = [_pdf_paragraphs(p) for p in pages]
    scanned = [n for n, body in enumerate(bodies) if not body.strip()]
    for n, body in _ocr(raw, scanned, reader) if scanned else ():
        bodies[n] = body
    return reader.pages(bodies)


def _ocr(raw: bytes, numbers: list[int], reader: Reader):
    """(page index, OCR text) of the pages ``numbers``, rendered at the reader's dpi."""
    import pypdfium2 as pdfium

    reader.start(len(numbers))
    try:
        document = pdfium.PdfDocument(raw)
    except pdfium.PdfiumError as exc:
        raise Unreadable(f"cannot render this PDF for OCR ({exc})") from exc
    with document:
        for n in numbers:
            page = document[n]
            image = page.render(scale=reader.config.dpi / 72, grayscale=True).to_pil()
            page.close()
            yield n, reader.read(image, n + 1)


def _drop_running_lines(pages: list[str]) -> list[str]:
    """Remove page numbers and running headers/footers from the top and bottom two lines
    of each page: a bare page number ("3", "- 3 -", "Page 3 of 9"), or a short line that
    recurs on most pages, either verbatim or differing only by the page's own number."""
    lines = [p.split("\n") for p in pages]
    seen: dict[str, set[int]] = {}
    for n, ls in enumerate(lines, 1):
        content = [line.strip() for line in ls if line.strip()]
        for line in set(content[:2] + content[-2:]):
            if len(line) <= 80:
                seen.setdefault(line, set()).add(n)
    counts: dict[str, int] = {}
    for line, on in seen.items():
        key = line if len(on) > 1 else _page_key(line, next(iter(on)))
        if key is not None:
            counts[key] = counts.get(key, 0) + len(on)
    recurring = {k for k, c in counts.items() if len(pages) >= 3 and c >= 0.6 * len(pages)}

    def running(line: str, n: int) -> bool:
        line = line.strip()
        return bool(_PAGE_NUMBER.match(line)) or line in recurring or _page_key(line, n) in recurring

    out = []
    for n, ls in enumerate(lines, 1):
        keep = list(ls)
        for _ in range(2):  # peel the top and the bottom, two lines at most
            while keep and not keep[0].strip():
                keep.pop(0)
            if keep and running(keep[0], n):
                keep.pop(0)
            while keep and not keep[-1].strip():
                keep.pop()
            if keep and running(keep[-1], n):
                keep.pop()
        out.append("\n".join(keep))
    return out


def _page_key(line: str, n: int) -> str | None:
    """``line`` with its page number ``n`` replaced by "#", or None if it has none."""
    key, hits = re.subn(rf"(?<!\d){n}(?!\d)", "#", line)
    return key if hits else None


def _pdf_paragraphs(page: str) -> str:
    """The lines of a page, with paragraph breaks put back (PDF text has no blank lines):
    after a line that ends a sentence and is clearly shorter than the page's full lines
    (the last line of a paragraph), and around a short line without a sentence end that
    stands between paragraphs and is followed by a full line (a heading)."""
    lines = [line.strip() for line in page.split("\n")]
    lengths = sorted(len(line) for line in lines if line)
    if not lengths:
        return ""
    full = lengths[int(len(lengths) * 0.75)] if len(lengths) >= 4 else lengths[-1]
    out: list[str] = []
    for i, line in enumerate(lines):
        if not line:
            if out and out[-1]:
                out.append("")
            continue
        after = lines[i + 1] if i + 1 < len(lines) else ""
        starts_paragraph = not out or not out[-1]
        if starts_paragraph and len(line) < 0.6 * full and not _LINE_END.search(line) and len(after) >= 0.6 * full:
            out.extend([line, ""])  # a heading
            continue
        out.append(line)
        if _LINE_END.search(line) and len(line) < 0.8 * full:
            out.append("")
    while out and not out[-1]:
        out.pop()
    return "\n".join(out)
