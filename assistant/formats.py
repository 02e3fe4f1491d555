"""Turn a file of any supported format into plain text for ingestion.

One job: ``extract(path) -> Extracted``. Each format has one extractor, registered by
suffix in ``EXTRACTORS``; ``SUPPORTED_SUFFIXES`` is derived from it. Every extractor
returns text whose paragraphs are separated by blank lines and whose headings are
Markdown-style ``# heading`` lines, so that ingestion classifies blocks the same way for
every format. A PDF also yields the start offset of each page in the text (pages are
separated by a blank line, so no block spans two pages).

Nothing in a document is executed: HTML is parsed, never rendered; XML is parsed with
DTDs and entities refused; zip containers are read with a cap on their uncompressed size.
A file that cannot be read raises ``IngestError("name: reason")``.
"""

from __future__ import annotations

import hashlib
import io
import logging
import re
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)


class IngestError(ValueError):
    """A file that cannot be turned into a document; the message says why."""


@dataclass(frozen=True)
class Extracted:
    """The text of one file, ready for block classification."""

    text: str
    sha256: str  # of the raw file bytes (what the indexer compares to detect changes)
    format: str  # "text", "html", "pdf", "docx" or "hwpx"
    pages: tuple[int, ...] = ()  # PDF only: start offset in ``text`` of each page


class Unreadable(Exception):
    """Raised inside an extractor; ``extract`` prefixes the file name."""


# ---------------------------------------------------------------------------------------
# Plain text and Markdown
# ---------------------------------------------------------------------------------------

_BOMS = (
    (b"\xef\xbb\xbf", "utf-8-sig"),
    (b"\xff\xfe\x00\x00", "utf-32"),
    (b"\x00\x00\xfe\xff", "utf-32"),
    (b"\xff\xfe", "utf-16"),
    (b"\xfe\xff", "utf-16"),
)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_HANGUL = re.compile(r"[\uac00-\ud7a3\u3131-\u318e]")
_HANJA = re.compile(r"[\u4e00-\u9fff\uf900-\ufaff]")


def decode_text(raw: bytes) -> str:
    """Decode bytes of unknown encoding strictly, or raise Unreadable. Tried in order:
    a byte-order mark (UTF-8, UTF-16, UTF-32), BOM-less UTF-16 (told by its NUL bytes),
    UTF-8, CP949 (a superset of EUC-KR) when the result reads as Korean, then
    charset-normalizer's detection when it is unambiguous. Never decodes with
    replacement characters. Line ends become ``\\n``."""
    text = _decode(raw)
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _decode(raw: bytes) -> str:
    for bom, encoding in _BOMS:
        if raw.startswith(bom):
            try:
                return raw.decode(encoding)
            except UnicodeDecodeError as exc:
                raise Unreadable(f"starts with a {encoding.upper()} byte-order mark but does not decode as {encoding.upper()}") from exc
    head = raw[:8192]
    if b"\x00" in head:
        utf16 = _bomless_utf16(raw)
        if utf16 is None:
            raise Unreadable("looks like a binary file, not text")
        return utf16
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        text = raw.decode("cp949")
        if _reads_as_korean(text):
            return text
    except UnicodeDecodeError:
        pass
    detected = _detect(raw)
    if detected is None:
        raise Unreadable("cannot decode the text (not UTF-8, UTF-16, CP949/EUC-KR or another encoding that could be detected)")
    return detected


def _bomless_utf16(raw: bytes) -> str | None:
    """UTF-16 without a byte-order mark: ASCII characters (spaces, newlines, digits, Latin
    letters) put a NUL in every other byte, always on the same side."""
    sample = raw[:8192]
    sample = sample[: len(sample) // 2 * 2]
    if len(sample) < 4:
        return None
    even, odd = sample[0::2].count(0), sample[1::2].count(0)
    half = len(sample) // 2
    # Hangul syllables have a NUL low byte too, 1 in 256, so the other side is not NUL-free
    if odd >= 0.1 * half and even <= 0.2 * odd:
        encoding = "utf-16-le"
    elif even >= 0.1 * half and odd <= 0.2 * even:
        encoding = "utf-16-be"
    else:
        return None
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError:
        return None
    if _CONTROL.search(text.replace("\t", "")):
        return None
    return text


def _reads_as_korean(text: str) -> bool:
    """CP949 decodes many non-Korean byte sequences too (as Hanja and symbols); accept it
    only when the non-ASCII characters are mostly Hangul, or Hangul mixed with Hanja (as
    in legal and academic Korean)."""
    non_ascii = [c for c in text if ord(c) > 127]
    if not non_ascii:
        return True
    hangul = sum(1 for c in non_ascii if _HANGUL.match(c))
    hanja = sum(1 for c in non_ascii if _HANJA.match(c))
    return hangul >= 0.5 * len(non_ascii) or (hangul >= 0.1 * len(non_ascii) and hangul + hanja >= 0.95 * len(non_ascii))


def _detect(raw: bytes) -> str:
    """charset-normalizer's reading, trusted only when it is unambiguous: every candidate
    about as plausible as the best must decode to the same text. (Measured: on French
    CP1252 text its best guess is CP1257, which garbles "naïve"; a wrong guess would be
    indexed as mojibake, so an ambiguous file is refused instead.)"""
    from charset_normalizer import from_bytes

    matches = list(from_bytes(raw))
    if not matches or matches[0].chaos > 0.2:
        raise Unreadable("cannot decode the text (not UTF-8, UTF-16 or CP949/EUC-KR, and no other encoding fits); save it as UTF-8")
    best = matches[0]
    close = [m for m in matches if m.chaos <= best.chaos + 0.1]
    if any(str(m) != str(best) for m in close):
        names = ", ".join(dict.fromkeys(m.encoding for m in close))
        raise Unreadable(f"cannot tell the text's encoding for sure (it could be {names}); save it as UTF-8")
    return str(best)


def _extract_text(raw: bytes) -> tuple[str, tuple[int, ...]]:
    if not raw.strip():
        raise Unreadable("file is empty")
    return decode_text(raw), ()


# ---------------------------------------------------------------------------------------
# HTML: main text only
# ---------------------------------------------------------------------------------------

# Elements whose content is never document text.
_HTML_DROP = {
    "script", "style", "noscript", "template", "iframe", "frame", "frameset", "object", "embed",
    "applet", "svg", "math", "canvas", "video", "audio", "map", "form", "input", "button",
    "select", "option", "textarea", "label", "nav", "aside", "menu", "dialog", "head",
}
# Page chrome, dropped unless it sits inside the article itself.
_HTML_CHROME = {"header", "footer"}
_HTML_DROP_ROLES = {"navigation", "banner", "complementary", "contentinfo", "search", "menu", "menubar", "dialog", "alert"}
# class/id words that mark advertising, navigation and other page furniture
_HTML_DROP_WORDS = {
    "ad", "ads", "adv", "advert", "adverts", "advertisement", "advertising", "adsense", "adslot", "adbox",
    "banner", "sponsor", "sponsored", "promo", "promotion", "popup", "modal", "cookie", "cookies",
    "consent", "newsletter", "subscribe", "subscription", "share", "sharing", "social", "sns",
    "related", "recommend", "recommended", "comment", "comments", "breadcrumb", "breadcrumbs",
    "sidebar", "menu", "nav", "navbar", "navigation", "footer", "masthead", "toolbar", "pagination",
    "pager", "skip", "widget", "gnb", "lnb", "snb",
}
_HTML_BLOCKS = {
    "p", "div", "section", "article", "main", "blockquote", "pre", "li", "dd", "dt", "figcaption",
    "caption", "address", "center", "details", "summary", "table", "ul", "ol", "dl", "figure",
    "h1", "h2", "h3", "h4", "h5", "h6", "hr", "body", "html", "header", "footer", "tr", "fieldset",
}
_WS = re.compile(r"[ \t\r\n\f\v\u00a0\u200b]+")
_WORDS = re.compile(r"[a-z0-9]+")


def _html_decode(raw: bytes) -> str:
    """The declared charset (``<meta charset>``) when there is one and it decodes, else
    the same detection as for text files."""
    if not any(raw.startswith(bom) for bom, _ in _BOMS):
        m = re.search(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_\-:.]+)""", raw[:4096], re.IGNORECASE)
        if m:
            encoding = m.group(1).decode("ascii").lower()
            if encoding in {"euc-kr", "ks_c_5601-1987", "ksc5601", "x-windows-949", "windows-949", "uhc"}:
                encoding = "cp949"  # browsers treat every Korean label as CP949
            try:
                return raw.decode(encoding).replace("\r\n", "\n").replace("\r", "\n")
            except (LookupError, UnicodeDecodeError):
                pass
    return decode_text(raw)


def _extract_html(raw: bytes) -> tuple[str, tuple[int, ...]]:
    import lxml.html
    from lxml import etree

    if not raw.strip():
        raise Unreadable("file is empty")
    source = _html_decode(raw)
    if not source.strip():
        raise Unreadable("file is empty")
    try:
        parser = lxml.html.HTMLParser(remove_comments=True, remove_pis=True, no_network=True, recover=True)
        root = lxml.html.document_fromstring(source, parser=parser)
    except (etree.ParserError, etree.XMLSyntaxError, ValueError) as exc:
        raise Unreadable(f"cannot parse the HTML ({exc})") from exc
    title_el = root.find(".//title")
    title = _WS.sub(" ", title_el.text_content()).strip() if title_el is not None else ""
    main = _main_content(root)
    blocks: list[str] = []
    _html_blocks(main, blocks, inside_article=main.tag in {"article", "main"})
    blocks = [b for b in blocks if b]
    if title and not any(b.startswith("# ") for b in blocks):
        blocks.insert(0, "# " + title)
    return "\n\n".join(blocks) + "\n", ()


def _dropped(el) -> bool:
    if el.tag in _HTML_DROP:
        return True
    attrib = el.attrib
    if "hidden" in attrib or attrib.get("aria-hidden", "").lower() == "true":
        return True
    if attrib.get("role", "").lower() in _HTML_DROP_ROLES:
        return True
    if re.search(r"display\s*:\s*none|visibility\s*:\s*hidden", attrib.get("style", ""), re.IGNORECASE):
        return True
    words = _WORDS.findall(f"{attrib.get('class', '')} {attrib.get('id', '')}".lower())
    if not any(w in _HTML_DROP_WORDS for w in words):
        return False
    # layout wrappers such as <div class="content has-sidebar"> hold the article itself
    return el.find(".//h1") is None and el.find(".//main") is None and el.find(".//article") is None


def _main_content(root):
    """The page's article: the <main> or <article> (the longest, if several), else the body."""
    elements = [el for el in root.iter() if isinstance(el.tag, str)]
    for wanted in (lambda el: el.tag == "main" or el.get("role", "").lower() == "main", lambda el: el.tag == "article"):
        candidates = [el for el in elements if wanted(el) and not any(_dropped(a) for a in (el, *el.iterancestors()))]
        if candidates:
            return max(candidates, key=lambda el: len(el.text_content()))
    body = root.find("body")
    return body if body is not None else root


def _html_blocks(el, out: list[str], inside_article: bool) -> None:
    """Append the blocks of ``el``: headings as ``# text``, list items as ``- text``,
    table rows as cells joined by `` | ``, other block elements as paragraphs."""
    tag = el.tag
    if tag in {"h1", "h2", "h3", "h4", "h5", "h6"}:
        text = _inline_text(el)
        if text:
            out.append("#" * int(tag[1]) + " " + text)
        return
    if tag == "table":
        rows = []
        for tr in el.xpath("./tr|./thead/tr|./tbody/tr|./tfoot/tr"):
            cells = [_inline_text(td) for td in tr if isinstance(td.tag, str) and td.tag in {"td", "th"} and not _dropped(td)]
            cells = [c for c in cells if c]
            if cells:
                rows.append(" | ".join(cells))
        if rows:
            out.append("\n".join(rows))
        return
    if tag == "pre":
        text = "\n".join(line.rstrip() for line in el.text_content().strip("\n").splitlines() if line.strip())
        if text.strip():
            out.append(text)
        return
    # A block element: collect runs of inline content between its child blocks.
    buffer: list[str] = []

    def flush() -> None:
        text = _WS.sub(" ", "".join(buffer)).strip()
        buffer.clear()
        if text:
            out.append(("- " + text) if tag == "li" else text)

    if el.text:
        buffer.append(el.text)
    for child in el:
        if not isinstance(child.tag, str):  # comments, processing instructions
            if child.tail:
                buffer.append(child.tail)
            continue
        if _dropped(child) or (child.tag in _HTML_CHROME and not inside_article):
            pass
        elif child.tag in _HTML_BLOCKS:
            flush()
            _html_blocks(child, out, inside_article or child.tag in {"article", "main"})
        elif child.tag == "br":
            buffer.append(" ")
        else:
            buffer.append(_inline_text(child, strip=False))
        if child.tail:
            buffer.append(child.tail)
    flush()


def _inline_text(el, strip: bool = True) -> str:
    """Text of an inline element, without the content of dropped descendants."""
    parts: list[str] = []
    if el.text:
        parts.append(el.text)
    for child in el:
        if isinstance(child.tag, str) and not _dropped(child):
            parts.append(" " if child.tag == "br" else _inline_text(child, strip=False))
            if child.tag in _HTML_BLOCKS:
                parts.append(" ")
        if child.tail:
            parts.append(child.tail)
    text = _WS.sub(" ", "".join(parts))
    return text.strip() if strip else text


# ---------------------------------------------------------------------------------------
# PDF: text per page
# ---------------------------------------------------------------------------------------

_PAGE_NUMBER = re.compile(r"^\s*(?:[-–—]\s*)?(?:page\s*)?\d{1,4}(?:\s*(?:/|of)\s*\d{1,4})?(?:\s*[-–—])?\s*$", re.IGNORECASE)
_LINE_END = re.compile(r"[.!?。…:;)\]\"'”’]\s*$|[다요죠까니]\.?\s*$")


def _extract_pdf(raw: bytes) -> tuple[str, tuple[int, ...]]:
    from pypdf import PdfReader
    from pypdf.errors import DependencyError, FileNotDecryptedError

    if b"%PDF-" not in raw[:1024]:
        raise Unreadable("corrupt or not a PDF (no PDF header)")
    try:
        reader = PdfReader(io.BytesIO(raw))
        if reader.is_encrypted:
            try:
                opened = reader.decrypt("")  # owner-password-only files open without one
            except (DependencyError, NotImplementedError) as exc:
                raise Unreadable(f"encrypted PDF that cannot be opened here ({exc})") from exc
            if not opened:
                raise Unreadable("encrypted PDF (a password is needed to open it)")
        pages = [page.extract_text() or "" for page in reader.pages]
    except Unreadable:
        raise
    except FileNotDecryptedError as exc:
        raise Unreadable("encrypted PDF (a password is needed to open it)") from exc
    except Exception as exc:  # pypdf raises many types (PdfReadError, KeyError, ...) on damaged files
        raise Unreadable(f"corrupt or not a PDF ({type(exc).__name__}: {exc})") from exc
    if not pages:
        raise Unreadable("corrupt or not a PDF (no pages)")
    pages = _drop_running_lines([_CONTROL.sub("", p.replace("\r\n", "\n").replace("\r", "\n")) for p in pages])
    if not any(p.strip() for p in pages):
        raise Unreadable("PDF has no text layer (scanned?); run OCR on it first")
    text, offsets = "", []
    for page in pages:
        body = _pdf_paragraphs(page)
        if text and body:
            text += "\n\n"
        offsets.append(len(text))
        text += body
    return text + "\n", tuple(offsets)


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


# ---------------------------------------------------------------------------------------
# Zip containers (DOCX, HWPX)
# ---------------------------------------------------------------------------------------

MAX_UNZIPPED_BYTES = 256 << 20  # the most a DOCX or HWPX may expand to
MAX_ZIP_ENTRIES = 10_000
MAX_ZIP_RATIO = 200  # uncompressed / compressed, per member of any size worth checking


def _open_zip(raw: bytes, kind: str) -> zipfile.ZipFile:
    try:
        zf = zipfile.ZipFile(io.BytesIO(raw))
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise Unreadable(f"corrupt or not a {kind} file (not a zip archive)") from exc
    infos = zf.infolist()
    if len(infos) > MAX_ZIP_ENTRIES:
        raise Unreadable(f"{kind} has too many parts ({len(infos)}); refusing a possible zip bomb")
    total = sum(i.file_size for i in infos)
    if total > MAX_UNZIPPED_BYTES:
        raise Unreadable(f"{kind} expands to {_size(total)} (limit {_size(MAX_UNZIPPED_BYTES)}); refusing a possible zip bomb")
    for i in infos:
        if i.file_size > (1 << 20) and i.file_size > MAX_ZIP_RATIO * max(i.compress_size, 1):
            raise Unreadable(f"{kind} part {i.filename} is compressed {i.file_size // max(i.compress_size, 1)}:1; refusing a possible zip bomb")
    return zf


def _size(n: int) -> str:
    return f"{n / (1 << 20):.0f} MiB" if n >= 1 << 20 else f"{n} bytes"


def _read_member(zf: zipfile.ZipFile, name: str, budget: list[int]) -> bytes:
    """Read one member, never more than the remaining budget (the sizes in the zip
    directory may lie)."""
    with zf.open(name) as f:
        data = f.read(budget[0] + 1)
    if len(data) > budget[0]:
        raise Unreadable(f"expands beyond {_size(MAX_UNZIPPED_BYTES)}; refusing a possible zip bomb")
    budget[0] -= len(data)
    return data


# ---------------------------------------------------------------------------------------
# DOCX
# ---------------------------------------------------------------------------------------

_DOCX_HEADING = re.compile(r"^(?:heading|제목)\s*(\d)$", re.IGNORECASE)


def _extract_docx(raw: bytes) -> tuple[str, tuple[int, ...]]:
    import docx
    from docx.opc.exceptions import PackageNotFoundError
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    zf = _open_zip(raw, "DOCX")
    budget = [MAX_UNZIPPED_BYTES]
    for info in zf.infolist():  # read everything once under the budget: sizes may lie
        _read_member(zf, info.filename, budget)
    try:
        document = docx.Document(io.BytesIO(raw))
    except (PackageNotFoundError, KeyError, ValueError, zipfile.BadZipFile) as exc:
        raise Unreadable(f"corrupt or not a DOCX file ({type(exc).__name__})") from exc
    except Exception as exc:  # lxml syntax errors and the like from a damaged part
        raise Unreadable(f"corrupt or not a DOCX file ({type(exc).__name__}: {exc})") from exc
    blocks: list[str] = []
    for item in document.iter_inner_content():
        if isinstance(item, Paragraph):
            text = _WS.sub(" ", item.text).strip()
            if not text:
                continue
            style = (item.style.name if item.style is not None else "") or ""
            m = _DOCX_HEADING.match(style.strip())
            if style.strip().lower() in {"title", "제목"}:
                text = "# " + text
            elif m:
                text = "#" * min(int(m.group(1)), 6) + " " + text
            blocks.append(text)
        elif isinstance(item, Table):
            rows = _docx_rows(item)
            if rows:
                blocks.append("\n".join(rows))
    return "\n\n".join(blocks) + "\n", ()


def _docx_rows(table) -> list[str]:
    rows = []
    for row in table.rows:
        cells, seen = [], set()
        for cell in row.cells:
            if id(cell._tc) in seen:  # a merged cell is returned once per grid column
                continue
            seen.add(id(cell._tc))
            text = _WS.sub(" ", cell.text).strip()
            if text:
                cells.append(text)
        if cells:
            rows.append(" | ".join(cells))
    return rows


# ---------------------------------------------------------------------------------------
# HWPX (Hancom Office's open XML format)
# ---------------------------------------------------------------------------------------

_HWPML = "http://www.hancom.co.kr/hwpml/"
_SECTION = re.compile(r"^Contents/section(\d+)\.xml$")
_OUTLINE = re.compile(r"^(?:outline|개요)\s*(\d+)$", re.IGNORECASE)


def _local(tag) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _parse_xml(data: bytes, what: str):
    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import ParseError, fromstring

    try:
        return fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise Unreadable(f"{what} declares a DTD or entities, which are refused") from exc
    except ParseError as exc:
        raise Unreadable(f"corrupt HWPX ({what} is not well-formed XML: {exc})") from exc


def _extract_hwpx(raw: bytes) -> tuple[str, tuple[int, ...]]:
    zf = _open_zip(raw, "HWPX")
    names = zf.namelist()
    budget = [MAX_UNZIPPED_BYTES]
    if "mimetype" in names:
        mimetype = _read_member(zf, "mimetype", budget).decode("ascii", "replace").strip()
        if mimetype and "hwp" not in mimetype:
            raise Unreadable(f"not an HWPX file (mimetype {mimetype})")
    sections = sorted((int(m.group(1)), n) for n in names if (m := _SECTION.match(n)))
    if not sections:
        raise Unreadable("corrupt or not an HWPX file (no Contents/section*.xml)")
    headings = _hwpx_heading_styles(zf, names, budget)
    blocks: list[str] = []
    for _, name in sections:
        root = _parse_xml(_read_member(zf, name, budget), name)
        for p in _children(root, "p"):
            _hwpx_paragraph(p, headings, blocks)
    return "\n\n".join(b for b in blocks if b) + "\n", ()


def _children(el, local: str):
    return [c for c in el if _local(c.tag) == local]


def _hwpx_heading_styles(zf: zipfile.ZipFile, names: list[str], budget: list[int]) -> dict[str, int]:
    """Style id -> heading level for the outline styles ("개요 1" / "Outline 1") of
    Contents/header.xml."""
    if "Contents/header.xml" not in names:
        return {}
    root = _parse_xml(_read_member(zf, "Contents/header.xml", budget), "Contents/header.xml")
    out = {}
    for el in root.iter():
        if _local(el.tag) != "style":
            continue
        for name in (el.get("engName", ""), el.get("name", "")):
            m = _OUTLINE.match(name.strip())
            if m and el.get("id") is not None:
                out[el.get("id")] = min(int(m.group(1)), 6)
                break
    return out


def _hwpx_paragraph(p, headings: dict[str, int], out: list[str]) -> None:
    """A paragraph's own text as one block; tables inside it as blocks of rows."""
    parts: list[str] = []
    tables: list[str] = []
    for run in _children(p, "run"):
        for item in run:
            kind = _local(item.tag)
            if kind == "t":
                parts.append(_hwpx_t(item))
            elif kind == "tbl":
                rows = _hwpx_table(item, headings)
                if rows:
                    tables.append("\n".join(rows))
            elif kind in {"rect", "ellipse", "polygon", "container", "textart"}:  # text boxes
                for sub in item.iter():
                    if _local(sub.tag) == "subList":
                        for q in _children(sub, "p"):
                            _hwpx_paragraph(q, headings, tables)
    text = _WS.sub(" ", "".join(parts)).strip()
    if text:
        level = headings.get(p.get("styleIDRef", ""))
        out.append(("#" * level + " " + text) if level else text)
    out.extend(tables)


def _hwpx_t(t) -> str:
    parts = [t.text or ""]
    for child in t:
        kind = _local(child.tag)
        parts.append(" " if kind in {"tab", "lineBreak", "nbSpace", "fwSpace"} else "")
        parts.append(child.tail or "")
    return "".join(parts)


def _hwpx_table(tbl, headings: dict[str, int]) -> list[str]:
    rows = []
    for tr in _children(tbl, "tr"):
        cells = []
        for tc in _children(tr, "tc"):
            inner: list[str] = []
            for sub in _children(tc, "subList"):
                for q in _children(sub, "p"):
                    _hwpx_paragraph(q, {}, inner)
            text = _WS.sub(" ", " ".join(inner)).strip()
            if text:
                cells.append(text)
        if cells:
            rows.append(" | ".join(cells))
    return rows


# ---------------------------------------------------------------------------------------
# Registry
# ---------------------------------------------------------------------------------------

EXTRACTORS: dict[str, tuple[str, Callable[[bytes], tuple[str, tuple[int, ...]]]]] = {
    ".txt": ("text", _extract_text),
    ".md": ("text", _extract_text),
    ".markdown": ("text", _extract_text),
    ".html": ("html", _extract_html),
    ".htm": ("html", _extract_html),
    ".pdf": ("pdf", _extract_pdf),
    ".docx": ("docx", _extract_docx),
    ".hwpx": ("hwpx", _extract_hwpx),
}
SUPPORTED_SUFFIXES = frozenset(EXTRACTORS)

# Formats people will drop in the folder that cannot be read, with what to do instead.
UNSUPPORTED_HINTS = {
    ".hwp": "HWP (binary Hancom) files are not supported; save it as HWPX or PDF in Hancom Office",
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


def extract(path: Path) -> Extracted:
    """The text of ``path``; IngestError("name: reason") when it cannot be read."""
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
    try:
        text, pages = extractor(raw)
    except Unreadable as exc:
        raise IngestError(f"{path.name}: {exc}") from exc
    except (zipfile.BadZipFile, zlib.error, EOFError) as exc:  # a damaged zip member
        raise IngestError(f"{path.name}: corrupt {fmt.upper()} file ({exc})") from exc
    except Exception as exc:  # one odd file must never stop indexing of the others
        log.debug("extracting %s failed", path, exc_info=True)
        raise IngestError(f"{path.name}: cannot read this {fmt.upper()} file ({type(exc).__name__}: {exc})") from exc
    if not text.strip():
        raise IngestError(f"{path.name}: no text content found")
    return Extracted(text=text, sha256=hashlib.sha256(raw).hexdigest(), format=fmt, pages=pages)
