"""Every supported format becomes clean text with headings, paragraphs and (PDF) pages;
every unreadable file gets a clear reason. Fixtures are real files in
tests/fixtures/formats/, made by tests/fixtures/make_format_fixtures.py."""

from __future__ import annotations

import io
import shutil
import zipfile

import pytest

from assistant.index.builder import IndexConfig, build_index
from assistant.index.chunking import ChunkingConfig, chunk_document
from assistant.index.store import IndexStore
from assistant.ingest import (
    SUPPORTED_SUFFIXES,
    IngestError,
    extract,
    load_document,
    registry,
    scan_corpus,
    zipped,
)
from assistant.ingest.html import without_markup
from assistant.types import Passage

from .fixtures import make_format_fixtures as make

FIXTURES = make.OUT
CONFIG = IndexConfig({"model": "fake", "files": {}}, ChunkingConfig(), 1.2, 0.75)


def fixture(name):
    return FIXTURES / name


def chunks_of(name):
    doc = load_document(fixture(name), name)
    return doc, chunk_document(doc, ChunkingConfig())


def test_supported_suffixes_come_from_the_registry():
    assert SUPPORTED_SUFFIXES == set(registry.EXTRACTORS)
    assert {".txt", ".md", ".markdown", ".html", ".htm", ".pdf", ".docx", ".hwpx", ".hwp", ".png", ".jpg", ".tif"} <= SUPPORTED_SUFFIXES
    assert ".doc" not in SUPPORTED_SUFFIXES


# -- text encodings ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, expected",
    [
        ("korean.cp949.txt", make.KOREAN),
        ("korean.euc-kr.txt", make.KOREAN_EUCKR),
        ("korean.utf-16.txt", make.KOREAN),
        ("korean.utf-16le-nobom.txt", make.KOREAN),
        ("korean.utf-8-bom.md", "# 인코딩\n\n" + make.KOREAN),
    ],
)
def test_text_encodings_are_detected(name, expected):
    out = extract(fixture(name))
    assert out.text == expected  # no BOM, no mojibake, nothing replaced
    assert out.format == "text" and out.pages == ()
    assert len(out.sha256) == 64


def test_cp949_only_syllables_and_hanja_mixed_korean(tmp_path):
    p = tmp_path / "law.txt"
    p.write_bytes("大韓民國 憲法 第一條 大韓民國은 民主共和國이다. 똠방각하.".encode("cp949"))
    assert extract(p).text == "大韓民國 憲法 第一條 大韓民國은 民主共和國이다. 똠방각하."


def test_crlf_becomes_lf_and_utf8_wins(tmp_path):
    p = tmp_path / "a.txt"
    p.write_bytes("첫 줄\r\n\r\n둘째 줄\r\n".encode("utf-8"))
    assert extract(p).text == "첫 줄\n\n둘째 줄\n"


def test_ambiguous_legacy_encoding_is_refused_not_garbled(tmp_path):
    # charset-normalizer's best guess for this CP1252 French is CP1257 ("naļve"); refuse.
    p = tmp_path / "fr.txt"
    p.write_bytes(("Le garçon mange une crêpe à Paris. Il était déjà très tard. Naïve. " * 3).encode("cp1252"))
    with pytest.raises(IngestError, match=r"^fr\.txt: cannot tell the text's encoding.*UTF-8"):
        extract(p)


def test_unambiguous_other_encoding_is_detected(tmp_path):
    p = tmp_path / "de.txt"
    p.write_bytes("Grüße aus München, schöne Straße.".encode("cp1252"))
    assert extract(p).text == "Grüße aus München, schöne Straße."


@pytest.mark.parametrize(
    "name, content, reason",
    [
        ("empty.txt", b"", "file is empty"),
        ("blank.md", b" \n\t\n", "file is empty"),
        ("image.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR\x00\x01\x00\x00\xff\x00", "binary"),
        ("random.txt", bytes(range(256)) * 8, "binary"),
        ("bad-bom.txt", b"\xff\xfe\x00\xd8", "UTF-16"),
    ],
)
def test_unreadable_text_gets_a_reason(tmp_path, name, content, reason):
    p = tmp_path / name
    p.write_bytes(content)
    with pytest.raises(IngestError, match=f"^{name}: .*{reason}"):
        extract(p)


# -- HTML -------------------------------------------------------------------------------


def test_html_keeps_the_article_and_drops_page_furniture():
    text = extract(fixture("bees.html")).text
    for kept in (
        "꿀벌은 꽃에서 꿀을 모아 벌집에 저장합니다.",
        "꿀벌은 8자 춤을 추어 동료에게",
        "Honey bees communicate the direction of flowers with a waggle dance. The angle",
        "육각형 구조는 적은 밀랍으로",
        "일벌 | 암컷",
    ):
        assert kept in text
    for dropped in (
        "SCRIPT", "STYLE", "NAV-MENU", "ADVERT", "ASIDE-TEXT", "FORM-LABEL", "FOOTER-TEXT",
        "IMG-ONERROR", "JS-LINK", "javascript", "alert", "onerror", "<", "font-family",
    ):
        assert dropped not in text, dropped
    # headings are Markdown headings and paragraphs are separated by blank lines
    assert text.startswith("# 벌과 꿀\n\n꿀벌은 꽃에서")
    assert "\n\n## 꿀벌의 춤\n\n" in text


def test_html_sections_and_title_flow_into_chunks():
    doc, chunks = chunks_of("bees.html")
    assert doc.title == "벌과 꿀"
    sections = {c.text[:8]: c.section for c in chunks}
    assert sections["Honey be"] == "꿀벌의 춤"
    assert sections["벌집은 육각형 "] == "벌집의 구조"
    assert all(c.page is None for c in chunks)


def test_small_html_without_article_and_hostile_markup(tmp_path):
    p = tmp_path / "memo.htm"
    p.write_text(
        "<html><head><title>회의 메모</title></head><body><header>SITE</header>"
        "<div>회의는 화요일 오전 10시입니다.<br>장소는 3층입니다.</div>"
        '<p onclick="steal()">Safe <a href="javascript:alert(1)">link</a><img src=x onerror="alert(2)">'
        '<svg onload="alert(3)"><text>SVG</text></svg> text.</p>'
        '<iframe srcdoc="&lt;script&gt;alert(4)&lt;/script&gt;">IFRAME</iframe><!-- hidden comment -->'
        '<div style="display:none">HIDDEN</div><div class="cookie-consent">COOKIE</div></body></html>',
        encoding="utf-8",
    )
    assert extract(p).text == "# 회의 메모\n\n회의는 화요일 오전 10시입니다. 장소는 3층입니다.\n\nSafe link text.\n"


def test_html_declared_korean_charset(tmp_path):
    p = tmp_path / "old.html"
    p.write_bytes('<html><head><meta http-equiv="Content-Type" content="text/html; charset=euc-kr"></head><body><p>옛 한국어 페이지입니다.</p></body></html>'.encode("cp949"))
    assert extract(p).text == "옛 한국어 페이지입니다.\n"


def test_html_with_nothing_but_scripts_has_no_text(tmp_path):
    p = tmp_path / "app.html"
    p.write_text("<html><body><script>render()</script><nav>Menu</nav></body></html>", encoding="utf-8")
    with pytest.raises(IngestError, match="^app.html: no text content found"):
        load_document(p, "app.html")


@pytest.mark.parametrize(
    "typed, asked",
    [
        ("<p>What is <b>BERT</b>?</p>", "What is BERT?"),
        ("<script>alert('x')</script>Transformer는 <i>언제</i> 나왔나요?<br>", "Transformer는 언제 나왔나요?"),
        ('<img src=x onerror="alert(1)"><!-- note -->GPT-3<div>parameters</div>', "GPT-3 parameters"),
        ("Is x<y and y>z when 3 < 5?", "Is x<y and y>z when 3 < 5?"),  # not tags: kept as typed
        ("〈여름밤의 꿈〉과 <SCRIPT type=x>unclosed(", "〈여름밤의 꿈〉과"),
    ],
)
def test_markup_is_taken_out_of_a_pasted_question(typed, asked):
    assert without_markup(typed) == asked


# -- PDF --------------------------------------------------------------------------------


def test_pdf_text_per_page_and_chunks_carry_the_page():
    out = extract(fixture("bees.pdf"))
    assert out.format == "pdf" and len(out.pages) == 2 and out.pages[0] == 0
    page2 = out.text[out.pages[1] :]
    assert page2.startswith("The Waggle Dance\n\nBees tell each other")
    assert "Karl von Frisch decoded the dance" in page2
    assert "Page 1" not in out.text and "Page 2" not in out.text  # page numbers dropped
    assert out.text[out.pages[1] - 2 : out.pages[1]] == "\n\n"  # no block spans two pages

    doc, chunks = chunks_of("bees.pdf")
    assert doc.pages == out.pages
    by_page = {c.page: c for c in chunks}
    assert set(by_page) == {1, 2}
    assert "Karl von Frisch" in by_page[2].text and by_page[2].section == "The Waggle Dance"
    assert "nectar" in by_page[1].text
    for c in chunks:
        assert doc.text[c.start : c.end] == c.text
    d = Passage(by_page[2], 1.0).to_dict()
    assert d["page"] == 2 and by_page[2].to_dict()["page"] == 2


def test_pdf_running_headers_and_page_numbers_are_dropped(tmp_path):
    pages = [
        ["ACME Annual Report 2024", f"Section {name}", "", f"Paragraph {name} of the report says something about bees and honey.", "", f"{n} / 4"]
        for n, name in enumerate(["one", "two", "three", "four"], 1)
    ]
    p = tmp_path / "report.pdf"
    p.write_bytes(make.minimal_pdf(pages))
    out = extract(p)
    assert "ACME" not in out.text and "3 / 4" not in out.text
    assert [out.text[o:].split("\n")[0] for o in out.pages] == ["Section one", "Section two", "Section three", "Section four"]
    # a footer that differs only by the page's own number recurs too
    pages = [[f"Body text number {n * 7} of a page that talks about honey bees.", f"ACME report, page {n}"] for n in range(1, 5)]
    p.write_bytes(make.minimal_pdf(pages))
    assert extract(p).text.count("ACME") == 0


def test_pdf_restricted_but_not_password_protected_opens():
    assert "Karl von Frisch" in extract(fixture("restricted.pdf")).text


@pytest.mark.parametrize(
    "name, reason",
    [
        ("encrypted.pdf", "encrypted"),
        ("scanned.pdf", "OCR found no text"),  # blank pages without a text layer
        ("corrupt.pdf", "corrupt or not a PDF"),
    ],
)
def test_unreadable_pdfs_get_a_reason(name, reason):
    with pytest.raises(IngestError, match=f"^{name}: .*{reason}"):
        extract(fixture(name))


def test_not_a_pdf_at_all(tmp_path):
    p = tmp_path / "fake.pdf"
    p.write_bytes(b"<html>this is not a pdf</html>")
    with pytest.raises(IngestError, match="^fake.pdf: corrupt or not a PDF"):
        extract(p)


# -- DOCX -------------------------------------------------------------------------------


def test_docx_headings_paragraphs_and_tables_in_order():
    out = extract(fixture("policy.docx"))
    assert out.text == (
        "# Leave Policy\n\n"
        "This policy explains how employees take leave.\n\n"
        "# Annual leave\n\n"
        "Employees get fifteen days of annual leave every year.\n\n"
        "연차 휴가는 매년 15일입니다.\n\n"
        "Type | Days\nAnnual | 15\nSick | 10\n\n"
        "# Sick leave\n\n"
        "Sick leave of more than three days needs a doctor's note.\n"
    )
    doc, chunks = chunks_of("policy.docx")
    assert doc.title == "Leave Policy"
    assert [(c.section, c.text) for c in chunks][3:] == [
        ("Annual leave", "Type | Days\nAnnual | 15\nSick | 10"),
        ("Sick leave", "Sick leave of more than three days needs a doctor's note."),
    ]


@pytest.mark.parametrize("content", [b"PK\x03\x04 not really a zip", b"plain bytes"])
def test_corrupt_docx(tmp_path, content):
    p = tmp_path / "broken.docx"
    p.write_bytes(content)
    with pytest.raises(IngestError, match="^broken.docx: corrupt or not a DOCX"):
        extract(p)


def test_zip_that_is_not_a_docx(tmp_path):
    p = tmp_path / "other.docx"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("hello.txt", "hi")
    p.write_bytes(buf.getvalue())
    with pytest.raises(IngestError, match="^other.docx: corrupt or not a DOCX"):
        extract(p)


# -- HWPX / HWP -------------------------------------------------------------------------


def test_hwpx_korean_paragraphs_sections_tables_and_outline_headings():
    out = extract(fixture("hangul.hwpx"))
    assert out.text == (
        "# 한글 문서 제목\n\n"
        "첫 번째 문단입니다. 한글과컴퓨터의 HWPX 형식은 XML로 되어 있습니다.\n\n"
        "두 번째 문단입니다. 탭 뒤의 글자도 읽습니다.\n\n"
        "항목 | 내용\n형식 | HWPX\n\n"
        "# 두 번째 구역\n\n"
        "두 번째 구역의 문단입니다. 구역은 순서대로 읽힙니다.\n"
    )
    doc, chunks = chunks_of("hangul.hwpx")
    assert doc.title == "한글 문서 제목"
    assert chunks[-1].section == "두 번째 구역"


def test_hwpx_sections_are_read_in_numeric_order(tmp_path):
    sections = [make._hwpx_section(make._hwpx_p(f"구역 {i}의 문단입니다.")) for i in range(12)]
    p = tmp_path / "many.hwpx"
    p.write_bytes(make.hwpx_bytes(sections))
    text = extract(p).text
    assert [int(line.split()[1][:-1]) for line in text.split("\n\n") if line.strip()] == list(range(12))


def test_hwpx_entity_expansion_is_refused(tmp_path):
    bomb = (
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>'
        f'<hs:sec xmlns:hs="{make.HS}" xmlns:hp="{make.HP}"><hp:p><hp:run><hp:t>&lol2;</hp:t></hp:run></hp:p></hs:sec>'
    )
    p = tmp_path / "bomb.hwpx"
    p.write_bytes(make.hwpx_bytes([bomb]))
    with pytest.raises(IngestError, match="^bomb.hwpx: .*DTD or entities"):
        extract(p)


def test_hwpx_zip_bomb_is_refused(tmp_path, monkeypatch):
    huge = make._hwpx_section(make._hwpx_p("가" + " " * (4 << 20)))  # 4 MiB that compresses ~1000:1
    p = tmp_path / "zipbomb.hwpx"
    p.write_bytes(make.hwpx_bytes([huge]))
    with pytest.raises(IngestError, match="^zipbomb.hwpx: .*zip bomb"):
        extract(p)
    # and the cap on the total uncompressed size
    monkeypatch.setattr(zipped, "MAX_UNZIPPED_BYTES", 2000)
    with pytest.raises(IngestError, match="^hangul.hwpx: .*zip bomb"):
        extract(fixture("hangul.hwpx"))


@pytest.mark.parametrize("content, reason", [(b"not a zip", "not a zip"), (None, "no Contents/section")])
def test_corrupt_hwpx(tmp_path, content, reason):
    if content is None:
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as z:
            z.writestr("mimetype", "application/hwp+zip")
        content = buf.getvalue()
    p = tmp_path / "broken.hwpx"
    p.write_bytes(content)
    with pytest.raises(IngestError, match=f"^broken.hwpx: .*{reason}"):
        extract(p)


@pytest.mark.parametrize("suffix", [".hwpx", ".docx"])
def test_damaged_zip_member(tmp_path, suffix):
    raw = bytearray(make.hwpx_bytes() if suffix == ".hwpx" else make.docx_bytes())
    name = b"Contents/section0.xml" if suffix == ".hwpx" else b"word/document.xml"
    at = raw.find(name) + len(name) + 10  # inside the member's compressed data
    raw[at : at + 20] = b"\x00" * 20
    p = tmp_path / f"damaged{suffix}"
    p.write_bytes(bytes(raw))
    with pytest.raises(IngestError, match=f"^damaged{suffix}: corrupt"):
        extract(p)


def test_a_file_that_is_not_really_hwp_is_refused_as_corrupt():
    with pytest.raises(IngestError, match="^legacy.hwp: corrupt or not an HWP file"):
        extract(fixture("legacy.hwp"))


def test_legacy_word_is_unsupported_with_advice(tmp_path):
    p = tmp_path / "old.doc"
    p.write_bytes(b"\xd0\xcf\x11\xe0 not really")
    with pytest.raises(IngestError, match=r"^old.doc: legacy Word .doc files are not supported; save it as DOCX"):
        extract(p)


def test_unknown_suffix(tmp_path):
    p = tmp_path / "sound.wav"
    p.write_bytes(b"RIFF....WAVE")
    with pytest.raises(IngestError, match=r"^sound.wav: unsupported file type \.wav"):
        extract(p)


# -- the corpus and the indexer ---------------------------------------------------------


def test_scan_corpus_lists_the_new_formats(tmp_path):
    for name in ("bees.html", "bees.pdf", "policy.docx", "hangul.hwpx", "legacy.hwp"):
        shutil.copy(fixture(name), tmp_path / name)
    (tmp_path / "page.HTM").write_text("<p>x</p>", encoding="utf-8")
    found, skipped = scan_corpus(tmp_path)
    assert sorted(found) == ["bees.html", "bees.pdf", "hangul.hwpx", "legacy.hwp", "page.HTM", "policy.docx"]
    assert skipped == {}


def test_indexing_skips_bad_files_and_indexes_the_rest(tmp_path, fake_embedder):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    good = ["bees.html", "bees.pdf", "policy.docx", "hangul.hwpx", "korean.cp949.txt"]
    bad = ["corrupt.pdf", "encrypted.pdf", "scanned.pdf", "legacy.hwp"]
    for name in good + bad:
        shutil.copy(fixture(name), corpus / name)
    (corpus / "broken.docx").write_bytes(b"PK\x03\x04 truncated")

    store = IndexStore(tmp_path / "index")
    report = build_index(corpus, store, CONFIG, fake_embedder)
    assert sorted(report.added) == sorted(good)
    assert set(report.skipped) == set(bad) | {"broken.docx"}
    assert report.skipped["corrupt.pdf"].startswith("corrupt.pdf: corrupt or not a PDF")
    assert report.skipped["encrypted.pdf"].startswith("encrypted.pdf: encrypted")
    assert report.skipped["scanned.pdf"] == "scanned.pdf: OCR found no text"
    assert report.skipped["broken.docx"].startswith("broken.docx: corrupt or not a DOCX")

    gen = store.load()
    assert {c.doc_id for c in gen.chunks} == set(good)
    pdf_pages = {c.page for c in gen.chunks if c.doc_id == "bees.pdf"}
    assert pdf_pages == {1, 2}  # the page survives the round trip through chunks.jsonl
    assert all(c.page is None for c in gen.chunks if c.doc_id != "bees.pdf")
