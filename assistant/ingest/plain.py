"""Plain text and Markdown: the encoding detected (BOMs, UTF-8, UTF-16 without a BOM, CP949/EUC-KR), control characters dropped."""

from __future__ import annotations

import re

from ..text.language import HANGUL
from .base import Unreadable

BOMS = (
    (b"\xef\xbb\xbf", "utf-8-sig"),
    (b"\xff\xfe\x00\x00", "utf-32"),
    (b"\x00\x00\xfe\xff", "utf-32"),
    (b"\xff\xfe", "utf-16"),
    (b"\xfe\xff", "utf-16"),
)
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
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
    for bom, encoding in BOMS:
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
    if CONTROL.search(text.replace("\t", "")):
        return None
    return text


def _reads_as_korean(text: str) -> bool:
    """CP949 decodes many non-Korean byte sequences too (as Hanja and symbols); accept it
    only when the non-ASCII characters are mostly Hangul, or Hangul mixed with Hanja (as
    in legal and academic Korean)."""
    non_ascii = [c for c in text if ord(c) > 127]
    if not non_ascii:
        return True
    hangul = sum(1 for c in non_ascii if HANGUL.match(c))
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


def extract(raw: bytes) -> tuple[str, tuple[int, ...]]:
    if not raw.strip():
        raise Unreadable("file is empty")
    return decode_text(raw), ()
