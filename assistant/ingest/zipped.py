"""Zip containers (DOCX, HWPX), read with caps on their size, entry count and compression ratio."""

from __future__ import annotations

import io
import zipfile

from .base import Unreadable

MAX_UNZIPPED_BYTES = 256 << 20  # the most a DOCX or HWPX may expand to
MAX_ZIP_ENTRIES = 10_000
MAX_ZIP_RATIO = 200  # uncompressed / compressed, per member of any size worth checking


def open_zip(raw: bytes, kind: str) -> zipfile.ZipFile:
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


def read_member(zf: zipfile.ZipFile, name: str, budget: list[int]) -> bytes:
    """Read one member, never more than the remaining budget (the sizes in the zip
    directory may lie)."""
    with zf.open(name) as f:
        data = f.read(budget[0] + 1)
    if len(data) > budget[0]:
        raise Unreadable(f"expands beyond {_size(MAX_UNZIPPED_BYTES)}; refusing a possible zip bomb")
    budget[0] -= len(data)
    return data
