"""Binary HWP 5.x (Hancom Office's OLE compound format): the paragraphs of every body
section in order, table cells and text boxes included."""

from __future__ import annotations

import io
import re
import struct
import zlib

from . import zipped
from .base import Unreadable

_SIGNATURE = b"HWP Document File"
# FileHeader properties (HWP 5.0 spec, table 3)
_COMPRESSED = 1 << 0
_PASSWORD = 1 << 1 | 1 << 8  # a password, or encryption with a certificate
_DISTRIBUTION = 1 << 2
_DRM = 1 << 4 | 1 << 10  # DRM, or DRM with a certificate
_PARA_HEADER, _PARA_TEXT, _CTRL_HEADER = 0x10 + 50, 0x10 + 51, 0x10 + 55  # HWPTAG_BEGIN + n
MAX_RECORDS = 2_000_000  # over all sections; a long real document has a few hundred thousand

_SECTION = re.compile(r"^Section(\d+)$")
# A run of UTF-16LE units that are not controls (code < 32), two bytes at a time.
_TEXT_RUN = re.compile(rb"(?:[^\x00-\x1f].|[\x00-\x1f][^\x00])*", re.DOTALL)
# Controls that are one unit long; all others (inline and extended controls) take eight:
# the code, six units of parameters, the code again.
_CHAR_CONTROLS = frozenset({0, 10, 13, *range(24, 32)})
_EXTENDED_CONTROLS = frozenset({1, 2, 3, 11, 12, 14, 15, 16, 17, 18, 21, 22, 23})  # each has a CTRL_HEADER
_CONTROL_TEXT = {9: "\t", 10: "\n", 30: " ", 31: " "}  # tab, line break, non-breaking and fixed-width blanks
# Running headers and footers (as the PDF reader drops them) and hidden comments.
_DROPPED_CONTROLS = frozenset({b"head", b"foot", b"tcmt"})
_SPACES = re.compile(r"[ \t\u00a0\u3000]+")


def extract(raw: bytes) -> tuple[str, tuple[int, ...]]:
    import olefile

    try:
        ole = olefile.OleFileIO(io.BytesIO(raw))
    except (OSError, ValueError, struct.error) as exc:  # olefile raises OSError for a non-OLE file
        raise Unreadable("corrupt or not an HWP file (not an OLE compound document)") from exc
    with ole:
        try:
            if not ole.exists("FileHeader"):
                raise Unreadable("corrupt or not an HWP file (no FileHeader stream)")
            flags = _check_header(ole.openstream("FileHeader").read(256))
            sections = sorted(
                (int(m.group(1)), path)
                for path in ole.listdir()
                if len(path) == 2 and path[0] == "BodyText" and (m := _SECTION.match(path[1]))
            )
            if not sections:
                raise Unreadable("corrupt or not an HWP file (no BodyText sections)")
            budget = [zipped.MAX_UNZIPPED_BYTES]
            records = [MAX_RECORDS]
            blocks: list[str] = []
            for _, path in sections:
                data = ole.openstream(path).read()
                if flags & _COMPRESSED:
                    data = inflate(data, budget)
                elif len(data) > budget[0]:
                    raise Unreadable(f"body is over {zipped.MAX_UNZIPPED_BYTES >> 20} MiB; refusing it")
                else:
                    budget[0] -= len(data)
                blocks.extend(_section_blocks(data, records))
        except OSError as exc:  # a missing stream or a damaged sector chain
            raise Unreadable(f"corrupt or not an HWP file ({exc})") from exc
    return "\n\n".join(blocks) + "\n", ()


def _check_header(header: bytes) -> int:
    if len(header) < 40 or not header.startswith(_SIGNATURE):
        raise Unreadable("corrupt or not an HWP file (no HWP signature)")
    version = header[35]  # the version's major number is its last byte (0xMMnnPPrr, little-endian)
    if version != 5:
        raise Unreadable(f"HWP version {version} is not supported (only HWP 5.x); save it as HWPX in Hancom Office")
    (flags,) = struct.unpack_from("<I", header, 36)
    if flags & _PASSWORD:
        raise Unreadable("the document is password-protected; save an unprotected copy")
    if flags & (_DISTRIBUTION | _DRM):
        raise Unreadable("a distribution (DRM-protected) document cannot be read; save an unprotected copy")
    return flags


def inflate(data: bytes, budget: list[int]) -> bytes:
    """Raw deflate, never expanded past the remaining budget (a bomb stops there)."""
    inflater = zlib.decompressobj(-15)
    try:
        out = inflater.decompress(data, budget[0] + 1)
    except zlib.error as exc:
        raise Unreadable(f"corrupt HWP file (a compressed section is damaged: {exc})") from exc
    if len(out) > budget[0]:
        raise Unreadable(f"body expands beyond {zipped.MAX_UNZIPPED_BYTES >> 20} MiB; refusing a possible decompression bomb")
    if not inflater.eof:
        raise Unreadable("corrupt HWP file (a compressed section is truncated)")
    budget[0] -= len(out)
    return out


class _Para:
    """A paragraph, and the paragraphs of the objects anchored in it (tables, text boxes,
    footnotes...): one group per extended control, in the order of those controls, each
    with whether it is kept."""

    __slots__ = ("groups", "leading", "level", "text")

    def __init__(self, level: int):
        self.level = level
        self.text = ""
        self.leading = 0  # how many of the groups are anchored before any of the text
        self.groups: list[tuple[bool, list[_Para]]] = []


def _section_blocks(data: bytes, records: list[int]) -> list[str]:
    """Blocks in reading order: an object anchored before any text of its paragraph (a
    text box at the start of a title) comes before that paragraph, any other after it."""
    root = _Para(-1)
    root.groups.append((True, []))
    stack = [root]
    for tag, level, payload in _records(data, records):
        if tag not in (_PARA_HEADER, _PARA_TEXT, _CTRL_HEADER):
            continue
        while len(stack) > 1 and stack[-1].level >= level:
            stack.pop()
        owner = stack[-1]
        if tag == _PARA_HEADER:
            if not owner.groups:
                owner.groups.append((True, []))
            para = _Para(level)
            owner.groups[-1][1].append(para)
            stack.append(para)
        elif tag == _PARA_TEXT:
            owner.text, owner.leading = _para_text(payload)
        else:
            owner.groups.append((payload[:4][::-1] not in _DROPPED_CONTROLS, []))
    blocks: list[str] = []
    todo: list[_Para | str] = [root]
    while todo:
        item = todo.pop()
        if isinstance(item, str):
            if block := _tidy(item):
                blocks.append(block)
            continue
        before = [p for keep, group in item.groups[: item.leading] if keep for p in group]
        after = [p for keep, group in item.groups[item.leading :] if keep for p in group]
        todo.extend(reversed([*before, item.text, *after]))
    return blocks


def _records(data: bytes, records: list[int]):
    """(tag, level, payload) of each record. A record header is 32 bits: tag (10), level
    (10), size (12); size 0xFFF means the real size follows in the next 32 bits."""
    pos = 0
    while pos < len(data):
        records[0] -= 1
        if records[0] < 0:
            raise Unreadable(f"HWP body has over {MAX_RECORDS:,} records; refusing it as too large")
        if pos + 4 > len(data):
            raise Unreadable("corrupt HWP file (a record header is cut off)")
        (head,) = struct.unpack_from("<I", data, pos)
        pos += 4
        size = head >> 20
        if size == 0xFFF:
            if pos + 4 > len(data):
                raise Unreadable("corrupt HWP file (a record header is cut off)")
            (size,) = struct.unpack_from("<I", data, pos)
            pos += 4
        if pos + size > len(data):
            raise Unreadable("corrupt HWP file (a record runs past the end of its section)")
        yield head & 0x3FF, (head >> 10) & 0x3FF, data[pos : pos + size]
        pos += size


def _para_text(data: bytes) -> tuple[str, int]:
    """PARA_TEXT (UTF-16LE) without its controls, and how many extended controls (anchors
    of objects) come before its first visible character."""
    out: list[str] = []
    leading = 0
    visible = False
    pos = 0
    while pos + 1 < len(data):
        end = _TEXT_RUN.match(data, pos).end()
        out.append(data[pos:end].decode("utf-16le", "replace"))
        visible = visible or bool(out[-1].strip())
        if end + 1 >= len(data):
            break
        code = data[end]
        if code in _EXTENDED_CONTROLS and not visible:
            leading += 1
        out.append(_CONTROL_TEXT.get(code, ""))
        pos = end + (2 if code in _CHAR_CONTROLS else 16)
    return "".join(out), leading


def _tidy(text: str) -> str:
    """One block: spaces collapsed, blank lines dropped (a blank line would end the block)."""
    lines = (_SPACES.sub(" ", line).strip() for line in text.split("\n"))
    return "\n".join(line for line in lines if line)
