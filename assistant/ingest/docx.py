"""DOCX: paragraphs, headings by style and table rows in reading order."""

from __future__ import annotations

import io
import re
import zipfile

from . import zipped
from .base import Unreadable
from .html import WHITESPACE
from .zipped import open_zip, read_member

_DOCX_HEADING = re.compile(r"^(?:heading|제목)\s*(\d)$", re.IGNORECASE)


def extract(raw: bytes) -> tuple[str, tuple[int, ...]]:
    import docx
    from docx.opc.exceptions import PackageNotFoundError
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    zf = open_zip(raw, "DOCX")
    budget = [zipped.MAX_UNZIPPED_BYTES]
    for info in zf.infolist():  # read everything once under the budget: sizes may lie
        read_member(zf, info.filename, budget)
    try:
        document = docx.Document(io.BytesIO(raw))
    except (PackageNotFoundError, KeyError, ValueError, zipfile.BadZipFile) as exc:
        raise Unreadable(f"corrupt or not a DOCX file ({type(exc).__name__})") from exc
    except Exception as exc:  # lxml syntax errors and the like from a damaged part
        raise Unreadable(f"corrupt or not a DOCX file ({type(exc).__name__}: {exc})") from exc
    blocks: list[str] = []
    for item in document.iter_inner_content():
        if isinstance(item, Paragraph):
            text = WHITESPACE.sub(" ", item.text).strip()
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
            text = WHITESPACE.sub(" ", cell.text).strip()
            if text:
                cells.append(text)
        if cells:
            rows.append(" | ".join(cells))
    return rows
