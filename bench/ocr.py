"""OCR: seconds per page, character error rate by language, and whether search finds the
scanned pages, on an image-only PDF made from two essay pages and one English page.

    python -m bench.ocr [--runs 3] [--languages Hangul+eng]

Per page, our reader (PDF page rendered, each model's hOCR, the readings joined) is timed
against bare Tesseract with the same models (``tesseract page.png out -l MODEL --psm 4``
once per model, one after the other, one OpenMP thread as ours) on the same page image, in
turn, several runs; the ratio cancels the machine's noise. The essay retrieval questions
whose gold sentence is on a scanned page are then searched over an index of the scan alone
(real models): is a chunk of the gold page in the top 5 (and first)? Then the first essay
page and the English page are made to look scanned (turned 0.5-2 degrees, blurred, noisy)
and read by ours and by one bare ``kor+eng`` run. Last, pages nobody
tuned the reader on (other Korean articles, other Korean fonts; ../shared needed) are read
once each for their character error rate.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import pypdfium2 as pdfium

from assistant.config import Settings
from assistant.engine import Engine
from assistant.ingest.ocr import OcrConfig, Reader
from tests.scans import (
    FONT,
    KORQUAD,
    cer,
    english_paragraphs,
    essay_paragraphs,
    image_pdf,
    korquad_paragraphs,
    render_pages,
    scanned_look,
)

ROOT = Path(__file__).resolve().parent.parent


def bare_tesseract(image: Path, models: str, page_mode: int) -> str:
    """The text of one plain ``tesseract`` run (one OpenMP thread, as ours)."""
    subprocess.run(["tesseract", str(image), str(image.with_name("out")), "-l", models, "--psm", str(page_mode)],
                   check=True, capture_output=True, env={**os.environ, "OMP_THREAD_LIMIT": "1"})
    return image.with_name("out.txt").read_text(encoding="utf-8")


def spread(xs: list[float]) -> str:
    return f"median {statistics.median(xs):.2f}, min {min(xs):.2f}, max {max(xs):.2f}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--languages", default=Settings.ocr_languages)
    args = ap.parse_args()

    korean, held_ko = render_pages(essay_paragraphs(), 2)
    english, held_en = render_pages(english_paragraphs(), 1)
    pdf = image_pdf(korean + english)
    sources, langs = held_ko + held_en, ["ko", "ko", "en"]
    config = OcrConfig(languages=args.languages)
    work = Path(tempfile.mkdtemp(prefix="bench-ocr-"))
    ours, bare, texts = [], [], {}
    document = pdfium.PdfDocument(pdf)
    for _ in range(args.runs):
        for n in range(len(sources)):
            t = time.perf_counter()
            image = document[n].render(scale=config.dpi / 72, grayscale=True).to_pil()
            reader = Reader(config, "bench")
            reader.start(1)
            texts[n] = reader.read(image, n + 1)
            ours.append(time.perf_counter() - t)
            image.save(work / "page.png")
            t = time.perf_counter()
            for model in dict.fromkeys(config.languages.split("+")):
                bare_tesseract(work / "page.png", model, config.page_mode)
            bare.append(time.perf_counter() - t)
    print(f"OCR {config.languages}, psm {config.page_mode}, {config.dpi} dpi; {len(sources)} pages x {args.runs} runs")
    print(f"seconds per page, ours: {spread(ours)}")
    print(f"seconds per page, bare tesseract: {spread(bare)}")
    print(f"ratio ours/bare: {spread([a / b for a, b in zip(ours, bare)])}")
    for lang in ("ko", "en"):
        rates = [cer("\n".join(sources[n]), texts[n]) for n in range(len(sources)) if langs[n] == lang]
        print(f"character error rate, {lang}: " + ", ".join(f"{r:.3f}" for r in rates))

    corpus = work / "corpus"
    corpus.mkdir()
    (corpus / "scanned-essay.pdf").write_bytes(pdf)
    engine = Engine(Settings.from_env(corpus_dir=corpus, index_dir=work / "index", ocr_languages=args.languages))
    engine.build_index(progress=True)
    items = [json.loads(line) for line in (ROOT / "bench/data/essay_retrieval.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]
    on_pages = [(item, n + 1) for item in items for n in (0, 1) if any(item["gold"] in p for p in sources[n])]
    top5 = top1 = 0
    for item, page in on_pages:
        pages = [p.chunk.page for p in engine.search(item["question"])[:5]]
        top5 += page in pages
        top1 += pages[:1] == [page]
    print(f"retrieval: {len(on_pages)} essay questions with their gold on a scanned page: "
          f"gold page in top 5 {top5 / len(on_pages):.3f}, first {top1 / len(on_pages):.3f}")
    scanned_pages(config, korean[0], sources[0], english[0], sources[2])
    if KORQUAD.exists():
        other_pages(config)


def scanned_pages(config: OcrConfig, korean, korean_source: list[str], english, english_source: list[str]) -> None:
    """The first essay page and the English page as a scanner might give them (turned,
    blurred, noisy): ours against one bare ``kor+eng`` Tesseract run on the same image."""
    for angle, noise, blur in ((0.5, 10, 0.8), (1.0, 20, 1.0), (2.0, 25, 1.2)):
        for label, image, source in (("Korean", korean, korean_source), ("English", english, english_source)):
            page = scanned_look(image, angle, noise, blur)
            reader = Reader(config, "bench")
            reader.start(1)
            ours = reader.read(page, 1)
            with tempfile.TemporaryDirectory() as tmp:
                page.save(Path(tmp) / "page.png")
                bare = bare_tesseract(Path(tmp) / "page.png", "kor+eng", config.page_mode)
            text = chr(10).join(source)
            print(f"scanned look: {label} page turned {angle} degrees, noise {noise}, blur {blur}: character error rate "
                  f"ours {cer(text, ours):.3f}, one kor+eng run {cer(text, bare):.3f}")


def other_pages(config: OcrConfig) -> None:
    """One page each of texts and fonts the reader was not tuned on: Korean encyclopedia
    articles (Latin names, numbers, Hanja in parentheses) and the essay's third page."""
    essay = essay_paragraphs()
    skip = sum(len(held) for held in render_pages(essay, 2)[1])
    nanum = FONT.parent
    for label, paragraphs, font in [
        ("essay, 3rd page", essay[skip:], "NanumBarunGothic.ttf"),
        ("증강현실", korquad_paragraphs("증강현실"), "NanumGothic.ttf"),
        ("암호화폐", korquad_paragraphs("암호화폐"), "NanumMyeongjo.ttf"),
        ("반기문", korquad_paragraphs("반기문"), "NanumSquareR.ttf"),
        ("서양_철학", korquad_paragraphs("서양_철학"), "NanumMyeongjo.ttf"),
    ]:
        pages, held = render_pages(paragraphs, 1, nanum / font)
        reader = Reader(config, "bench")
        reader.start(1)
        print(f"other page: {label} in {font[:-4]}: character error rate {cer(chr(10).join(held[0]), reader.read(pages[0], 1)):.3f}")


if __name__ == "__main__":
    main()
