"""OCR of scans and images with the real Tesseract: an image-only PDF made here from two
pages of the essay and one English page, read back and searched."""

from __future__ import annotations

import io
import json

import pytest

from assistant.ingest import IngestError, load_document, ocr
from assistant.ingest.library import Library
from assistant.ingest.ocr import OcrConfig

from .conftest import ROOT, indexed_engine
from .scans import cer, english_paragraphs, essay_paragraphs, image_pdf, render_pages, scanned_look


@pytest.fixture(scope="module")
def scan(tmp_path_factory):
    """An image-only PDF: two essay pages, one English page; with each page's source text."""
    korean, held_ko = render_pages(essay_paragraphs(), 2)
    english, held_en = render_pages(english_paragraphs(), 1)
    path = tmp_path_factory.mktemp("scan") / "scanned-essay.pdf"
    path.write_bytes(image_pdf(korean + english))
    seen = []
    doc = load_document(path, path.name, on_page=lambda name, done, total: seen.append((name, done, total)))
    return path, doc, held_ko + held_en, seen


def page_text(doc, n: int) -> str:
    end = doc.pages[n + 1] if n + 1 < len(doc.pages) else len(doc.text)
    return doc.text[doc.pages[n] : end]


def test_an_image_only_pdf_is_read_page_by_page(scan):
    path, doc, sources, seen = scan
    assert len(doc.pages) == 3
    assert seen == [(path.name, 1, 3), (path.name, 2, 3), (path.name, 3, 3)]
    assert doc.ocr.pages == 3 and doc.ocr.dropped == () and doc.ocr.confidence > 70
    english = cer("\n".join(sources[2]), page_text(doc, 2))
    korean = [cer("\n".join(sources[n]), page_text(doc, n)) for n in (0, 1)]
    assert english <= 0.02
    assert max(korean) <= 0.05


def test_scanned_pages_are_found_by_search(scan, tmp_path):
    path, doc, sources, _ = scan
    engine = indexed_engine(tmp_path, path)
    items = [json.loads(line) for line in (ROOT / "bench/data/essay_retrieval.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]
    on_pages = [(item, n + 1) for item in items for n in (0, 1) if any(item["gold"] in p for p in sources[n])]
    assert len(on_pages) >= 10
    found = [page in {p.chunk.page for p in engine.search(item["question"])[:5]} for item, page in on_pages]
    assert sum(found) / len(found) >= 0.9
    row = next(r for r in engine.documents() if r.name == path.name)
    assert row.status.startswith("indexed (OCR, 3 page(s), mean confidence")


def test_pages_with_a_text_layer_are_never_read_by_ocr(tmp_path):
    from pypdf import PdfReader, PdfWriter

    from .fixtures.make_format_fixtures import minimal_pdf

    images, _ = render_pages(["스캔한 쪽입니다. 이 쪽에는 글자 층이 없습니다."], 1)
    writer = PdfWriter()
    for part in (minimal_pdf([["A page with a text layer about honey bees."]]), image_pdf(images)):
        for page in PdfReader(io.BytesIO(part)).pages:
            writer.add_page(page)
    path = tmp_path / "mixed.pdf"
    with path.open("wb") as f:
        writer.write(f)
    seen = []
    doc = load_document(path, path.name, on_page=lambda *a: seen.append(a))
    assert seen == [("mixed.pdf", 1, 1)]  # only the scanned page
    assert doc.ocr.pages == 1
    assert "honey bees" in page_text(doc, 0) and "스캔" in page_text(doc, 1)


def test_images_are_read_and_multi_page_tiffs_keep_their_pages(tmp_path):
    first, held = render_pages(english_paragraphs()[:1], 1)
    second, _ = render_pages(english_paragraphs()[1:2], 1)
    images = first + second
    png, tiff = tmp_path / "page.png", tmp_path / "pages.tiff"
    images[0].save(png)
    images[0].save(tiff, save_all=True, append_images=images[1:2])
    assert cer("\n".join(held[0]), load_document(png, png.name).text) <= 0.02
    doc = load_document(tiff, tiff.name)
    assert len(doc.pages) == 2 and doc.ocr.pages == 2


def test_a_page_too_doubtful_to_trust_is_reported_not_indexed(tmp_path):
    images, _ = render_pages(english_paragraphs()[:1], 1)
    path = tmp_path / "doubtful.png"
    images[0].save(path)
    strict = OcrConfig(min_confidence=99.5)
    with pytest.raises(IngestError, match=r"^doubtful.png: OCR found no text it could trust \(page 1: OCR confidence \d+ \(below 100\)\)"):
        load_document(path, path.name, strict)


def test_a_truncated_image_is_refused_and_the_rest_of_the_upload_added(tmp_path):
    images, _ = render_pages(english_paragraphs()[:1], 1)
    whole = io.BytesIO()
    images[0].save(whole, format="PNG")
    truncated = tmp_path / "truncated.png"
    truncated.write_bytes(whole.getvalue()[: len(whole.getvalue()) // 2])
    good = tmp_path / "page.png"
    good.write_bytes(whole.getvalue())
    results = Library(tmp_path / "corpus").add([truncated, good])
    assert [(r.status, r.name) for r in results] == [("refused", None), ("added", "page.png")]
    assert results[0].reason.startswith("corrupt or truncated image")
    assert results[1].reason.startswith("OCR, 1 page(s), mean confidence")


def test_without_tesseract_a_scan_gets_a_clear_message(tmp_path, monkeypatch):
    images, _ = render_pages(["A scanned page."], 1)
    path = tmp_path / "scan.png"
    images[0].save(path)
    monkeypatch.setattr(ocr, "TESSERACT", str(tmp_path / "no-tesseract"))
    ocr.installed_languages.cache_clear()
    try:
        with pytest.raises(IngestError, match=r"^scan.png: needs OCR, but Tesseract is not installed \(apt-get install tesseract-ocr"):
            load_document(path, path.name)
    finally:
        ocr.installed_languages.cache_clear()


def test_a_missing_language_model_is_named(tmp_path):
    images, _ = render_pages(["A scanned page."], 1)
    path = tmp_path / "scan.png"
    images[0].save(path)
    with pytest.raises(IngestError, match=r"^scan.png: needs OCR, but Tesseract has no xyz model"):
        load_document(path, path.name, OcrConfig(languages="eng+xyz"))



def test_one_upload_with_a_corrupt_hwp_a_truncated_image_and_an_encrypted_pdf(tmp_path):
    hwp = ROOT.parent / "shared" / "data" / "hwp" / "noori.hwp"
    corrupt = tmp_path / "broken.hwp"
    corrupt.write_bytes(hwp.read_bytes()[:5000])
    images, _ = render_pages(english_paragraphs()[:1], 1)
    whole = io.BytesIO()
    images[0].save(whole, format="PNG")
    truncated = tmp_path / "cut.png"
    truncated.write_bytes(whole.getvalue()[:20000])
    encrypted = ROOT / "tests" / "fixtures" / "formats" / "encrypted.pdf"
    results = Library(tmp_path / "corpus").add([corrupt, truncated, encrypted, hwp])
    by_name = {r.source: r for r in results}
    assert by_name["broken.hwp"].status == "refused" and by_name["broken.hwp"].reason.startswith("corrupt")
    assert by_name["cut.png"].status == "refused" and by_name["cut.png"].reason.startswith("corrupt or truncated image")
    assert by_name["encrypted.pdf"].status == "refused" and by_name["encrypted.pdf"].reason.startswith("encrypted PDF")
    assert by_name["noori.hwp"].status == "added"
    assert sorted(p.name for p in (tmp_path / "corpus").iterdir()) == ["noori.hwp"]


def test_a_leaning_noisy_scan_is_turned_upright_and_read(tmp_path):
    """A page turned by 2 degrees, blurred and speckled: the lines are straightened before
    the readings are matched line by line, and spaces are still found."""
    pages, held = render_pages(essay_paragraphs(), 1)
    path = tmp_path / "leaning.png"
    scanned_look(pages[0], angle=2.0, noise=25, blur=1.2).save(path)
    text = load_document(path, path.name).text
    source = "\n".join(held[0])
    assert cer(source, text) <= 0.06
    assert abs(len(text.split()) - len(source.split())) <= 0.15 * len(source.split())


def test_the_two_models_together_read_better_than_the_hangul_model_alone(scan):
    """The Hangul model alone misreads the English words of the Korean pages."""
    path, doc, sources, _ = scan
    alone = load_document(path, path.name, OcrConfig(languages="Hangul"))
    first = [cer("\n".join(sources[n]), page_text(alone, n)) for n in (0, 1)]
    both = [cer("\n".join(sources[n]), page_text(doc, n)) for n in (0, 1)]
    assert sum(both) < sum(first) - 0.1


def fake_chars(text: str, left: int, width: int = 30, confidence: float = 90.0) -> list:
    """Fake hOCR characters side by side on one line, ``width`` pixels each."""
    return [ocr._Char(t, (left + i * width, 0, left + (i + 1) * width - 2, 40), confidence) for i, t in enumerate(text)]


def test_fusion_keeps_syllables_from_one_reading_and_latin_words_from_the_other():
    """Pure logic on fake readings: a Latin word with a particle, a Korean word the Latin
    model read as letters, and a Latin word the Hangul model read as digits."""
    latin = ocr._Line((0, 0, 900, 40), [
        ((0, 0, 238, 40), fake_chars("ChatGPT7", 0)),  # "ChatGPT가": the particle misread
        ((300, 0, 388, 40), fake_chars("SAS", 300)),  # "모델을" read as letters
        ((450, 0, 598, 40), fake_chars("Keras", 450)),
    ])
    hangul = fake_chars("cn", 0) + fake_chars("at6?7", 60) + fake_chars("가", 210) + fake_chars("모델을", 300) + fake_chars("<6[35", 450)
    assert "".join(c.text for c in ocr._line_chars(latin, hangul)) == "ChatGPT가모델을Keras"


def test_spaces_are_the_wide_gaps_of_the_line():
    import numpy as np

    threshold = ocr._otsu(np.array([2, 3, 3, 4, 12, 13, 14], dtype=float), np.ones(7))
    assert 4 < threshold < 12
    chars = fake_chars("ab", 0) + fake_chars("cd", 100)
    assert ocr._spaced(chars, [80.0]) == "ab cd"


def test_a_line_read_twice_as_a_thin_echo_is_dropped():
    line = "<span class='ocr_line' title='bbox {0}'><span class='ocrx_word' title='bbox {0}; x_wconf 90'>" \
           "<span class='ocrx_cinfo' title='x_bboxes {0}; x_conf 90'>{1}</span></span></span>"
    html = "<p class='ocr_par'>" + line.format("0 100 500 140", "가") + line.format("0 125 500 145", "~") + \
           line.format("0 200 500 240", "나") + "</p>"
    [paragraph] = ocr._hocr(html)
    assert [w[1][0].text for line in paragraph for w in line.words] == ["가", "나"]
