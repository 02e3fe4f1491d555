"""OCR: seconds per page, character error rate by language, and whether search finds the
scanned pages, on an image-only PDF made from two essay pages and one English page.

    python -m bench.ocr [--runs 3] [--languages kor+eng]

Per page, our reader (PDF page rendered, Tesseract text and confidences in one run) is
timed against bare Tesseract (``tesseract page.png out --psm 4``, one OpenMP thread as
ours) on the same page image,
in turn, several runs; the ratio cancels the machine's noise. The essay retrieval
questions whose gold sentence is on a scanned page are then searched over an index of
the scan alone (real models): is a chunk of the gold page in the top 5 (and first)?
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
    cer,
    english_paragraphs,
    essay_paragraphs,
    image_pdf,
    render_pages,
)

ROOT = Path(__file__).resolve().parent.parent


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
            subprocess.run(["tesseract", str(work / "page.png"), str(work / "out"), "-l", config.languages, "--psm", str(config.page_mode)],
                           check=True, capture_output=True, env={**os.environ, "OMP_THREAD_LIMIT": "1"})
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


if __name__ == "__main__":
    main()
