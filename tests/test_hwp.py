"""Binary HWP 5.x: real files checked against Hancom's own text preview, and the refusals
(corrupt, password-protected, distribution, decompression bomb)."""

from __future__ import annotations

import random
import re
import shutil
import struct
import zlib
from pathlib import Path

import olefile
import pytest

from assistant.ingest import IngestError, extract, hwp, load_document, zipped
from assistant.ingest.library import Library

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "hwp"
REAL = ["noori.hwp", "basicsReport.hwp"]


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def _preview_segments(path: Path) -> list[str]:
    """The non-blank pieces of the file's PrvText, in order. The preview writes each table
    cell or text box as <text> (several on one line), so each <...> is its own piece."""
    with olefile.OleFileIO(str(path)) as ole:
        preview = ole.openstream("PrvText").read().decode("utf-16le")
    return [s for line in preview.splitlines() for piece in re.split(r"[<>]", line) if (s := _norm(piece))]


def _find_in_order(segments: list[str], blocks: list[str]) -> list[str]:
    """The segments that are not, in order, one or more consecutive whole blocks; the last
    segment (where the preview may be cut off) only has to start such a run."""
    missing = []
    at = 0
    for n, seg in enumerate(segments):
        last = n == len(segments) - 1
        for start in range(at, len(blocks)):
            run, end = blocks[start], start + 1
            while len(run) < len(seg) and end < len(blocks):
                run, end = f"{run} {blocks[end]}", end + 1
            if run == seg or (last and run.startswith(seg)):
                at = end
                break
        else:
            missing.append(seg)
    return missing


@pytest.mark.parametrize("name", REAL)
def test_text_contains_the_preview_in_order(name):
    path = DATA / name
    segments = _preview_segments(path)
    assert len(segments) > 15
    text = extract(path).text
    blocks = [_norm(b) for b in text.split("\n\n")]
    assert _find_in_order(segments, blocks) == []
    # the comparison can fail: the same preview against the text reordered does
    assert _find_in_order(segments, blocks[::-1])
    assert "\x00" not in text and not re.search(r"[\x01-\x08\x0b-\x1f\ufffd]", text)


def test_noori_loads_as_a_document():
    doc = load_document(DATA / "noori.hwp", "noori.hwp")
    body = [b for b in doc.blocks if b.kind == "body"]
    assert len(body) > 10
    assert "누리" in doc.text
    assert "한국형발사체(KSLV-2)의 새로운 이름으로 “누리”가 선정되었다고 밝혔다." in doc.text
    assert extract(DATA / "noori.hwp").format == "hwp"


def test_table_cells_and_text_boxes_are_kept_in_reading_order():
    noori = extract(DATA / "noori.hwp").text
    # the comparison table at the end, cell by cell
    assert "총 길이\n\n47.2 m\n\n25.8 m\n\n최대 직경" in noori
    report = extract(DATA / "basicsReport.hwp").text
    # a text box anchored at the start of the title comes before it; the running header is dropped
    assert report.startswith("●\n\n리포트의 제목\n\n두 줄로 작성\n\n")
    assert "리포트 제목 / 전공명" not in report


def _copy(tmp_path: Path, name: str, target: str) -> Path:
    dest = tmp_path / target
    shutil.copy(DATA / name, dest)
    dest.chmod(0o644)  # the shared data is read-only
    return dest


def test_corrupt_files_are_refused(tmp_path):
    noise = tmp_path / "noise.hwp"
    noise.write_bytes(random.Random(0).randbytes(8192))
    with pytest.raises(IngestError, match=r"^noise\.hwp: corrupt or not an HWP file \(not an OLE"):
        extract(noise)
    raw = (DATA / "noori.hwp").read_bytes()
    cut = tmp_path / "cut.hwp"
    cut.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(IngestError, match=r"^cut\.hwp: corrupt"):
        extract(cut)


def _set_header_flag(path: Path, bit: int) -> None:
    with olefile.OleFileIO(str(path), write_mode=True) as ole:
        header = bytearray(ole.openstream("FileHeader").read())
        (flags,) = struct.unpack_from("<I", header, 36)
        struct.pack_into("<I", header, 36, flags | bit)
        ole.write_stream("FileHeader", bytes(header))


@pytest.mark.parametrize(
    ("bit", "reason"),
    [
        (1 << 1, "the document is password-protected; save an unprotected copy"),
        (1 << 2, "a distribution (DRM-protected) document cannot be read"),
        (1 << 4, "a distribution (DRM-protected) document cannot be read"),
    ],
)
def test_protected_documents_are_refused(tmp_path, bit, reason):
    path = _copy(tmp_path, "noori.hwp", "locked.hwp")
    _set_header_flag(path, bit)
    with pytest.raises(IngestError, match=rf"^locked\.hwp: {re.escape(reason)}"):
        extract(path)


def test_a_decompression_bomb_is_never_fully_expanded(tmp_path, monkeypatch):
    path = _copy(tmp_path, "noori.hwp", "bomb.hwp")
    with olefile.OleFileIO(str(path), write_mode=True) as ole:
        size = ole.get_size("BodyText/Section0")
        packer = zlib.compressobj(9, zlib.DEFLATED, -15)
        bomb = b"".join(packer.compress(bytes(1 << 20)) for _ in range(4)) + packer.flush()  # 4 MiB of zeros
        assert len(bomb) <= size
        ole.write_stream("BodyText/Section0", bomb.ljust(size, b"\0"))
    # the largest bomb that fits the real section cannot pass the real 256 MiB cap, so the
    # cap is lowered; a real document still fits under it
    monkeypatch.setattr(zipped, "MAX_UNZIPPED_BYTES", 1 << 20)
    assert "누리" in extract(DATA / "noori.hwp").text
    expanded = []
    real = zlib.decompressobj

    class Counting:
        def __init__(self, *args):
            self.inner = real(*args)

        def decompress(self, data, max_length=0):
            out = self.inner.decompress(data, max_length)
            expanded.append(len(out))
            return out

        def __getattr__(self, name):
            return getattr(self.inner, name)

    monkeypatch.setattr(zlib, "decompressobj", Counting)
    with pytest.raises(IngestError, match=r"^bomb\.hwp: .*refusing a possible decompression bomb"):
        extract(path)
    assert expanded and sum(expanded) <= (1 << 20) + 1


def test_the_inflate_budget_is_shared_by_all_sections():
    packed = zlib.compressobj(9, zlib.DEFLATED, -15)
    data = packed.compress(bytes(1000)) + packed.flush()
    budget = [1500]
    assert hwp.inflate(data, budget) == bytes(1000) and budget == [500]
    with pytest.raises(hwp.Unreadable, match="possible decompression bomb"):
        hwp.inflate(data, budget)
    with pytest.raises(hwp.Unreadable, match="truncated"):
        hwp.inflate(data[:-3], [10_000])


def test_too_many_records_are_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(hwp, "MAX_RECORDS", 100)
    with pytest.raises(IngestError, match=r"^noori\.hwp: HWP body has over 100 records"):
        extract(DATA / "noori.hwp")


def test_the_library_adds_a_good_hwp_and_refuses_a_corrupt_one(tmp_path):
    good = _copy(tmp_path, "noori.hwp", "noori.hwp")
    corrupt = tmp_path / "broken.hwp"
    corrupt.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600))
    results = Library(tmp_path / "corpus").add([good, corrupt])
    assert [(r.source, r.status) for r in results] == [("noori.hwp", "added"), ("broken.hwp", "refused")]
    assert results[1].reason.startswith("corrupt or not an HWP file")
    assert sorted(p.name for p in (tmp_path / "corpus").iterdir()) == ["noori.hwp"]
