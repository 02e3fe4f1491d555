"""HWPX (Hancom Office's open XML format): sections in order, outline headings, table cells."""

from __future__ import annotations

import re
import zipfile

from . import zipped
from .base import Unreadable
from .html import WHITESPACE
from .zipped import open_zip, read_member

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


def extract(raw: bytes) -> tuple[str, tuple[int, ...]]:
    zf = open_zip(raw, "HWPX")
    names = zf.namelist()
    budget = [zipped.MAX_UNZIPPED_BYTES]
    if "mimetype" in names:
        mimetype = read_member(zf, "mimetype", budget).decode("ascii", "replace").strip()
        if mimetype and "hwp" not in mimetype:
            raise Unreadable(f"not an HWPX file (mimetype {mimetype})")
    sections = sorted((int(m.group(1)), n) for n in names if (m := _SECTION.match(n)))
    if not sections:
        raise Unreadable("corrupt or not an HWPX file (no Contents/section*.xml)")
    headings = _hwpx_heading_styles(zf, names, budget)
    blocks: list[str] = []
    for _, name in sections:
        root = _parse_xml(read_member(zf, name, budget), name)
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
    root = _parse_xml(read_member(zf, "Contents/header.xml", budget), "Contents/header.xml")
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
    text = WHITESPACE.sub(" ", "".join(parts)).strip()
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
            text = WHITESPACE.sub(" ", " ".join(inner)).strip()
            if text:
                cells.append(text)
        if cells:
            rows.append(" | ".join(cells))
    return rows
