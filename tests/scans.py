"""Scans made for the OCR tests and bench/ocr.py: paragraphs rendered onto A4 page images
at 300 dpi with a Korean font from the system packages (fonts-nanum), saved as an
image-only PDF (no text layer) or as image files."""

from __future__ import annotations

import functools
import io
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ESSAY = ROOT / "corpus" / "deep_learning_and_chatgpt.ko.txt"
SQUAD = ROOT.parent / "shared" / "data" / "squad_v2.0_dev_public.json"
KORQUAD = ROOT.parent / "shared" / "data" / "korquad_v1.0_dev_public.json"
FONT = Path("/usr/share/fonts/truetype/nanum/NanumGothic.ttf")
PAGE = (2480, 3508)  # A4 at 300 dpi
MARGIN = 200
FONT_PX = 42  # about 10 pt at 300 dpi
LINE_PX = 62
PARAGRAPH_GAP = 40


def render_pages(paragraphs: list[str], max_pages: int, font_file: Path = FONT) -> tuple[list, list[list[str]]]:
    """Page images, and the paragraphs each page holds (whole paragraphs, word-wrapped)."""
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.truetype(str(font_file), FONT_PX)
    width = PAGE[0] - 2 * MARGIN
    pages, held = [], []
    todo = list(paragraphs)
    while todo and len(pages) < max_pages:
        image = Image.new("L", PAGE, 255)
        draw = ImageDraw.Draw(image)
        y, on_page = MARGIN, []
        while todo:
            lines = _wrap(todo[0], draw, font, width)
            if y + len(lines) * LINE_PX > PAGE[1] - MARGIN and on_page:
                break
            for line in lines:
                draw.text((MARGIN, y), line, font=font, fill=0)
                y += LINE_PX
            y += PARAGRAPH_GAP
            on_page.append(todo.pop(0))
        pages.append(image)
        held.append(on_page)
    return pages, held


def _wrap(text: str, draw, font, width: int) -> list[str]:
    lines, line = [], ""
    for word in text.split():
        candidate = f"{line} {word}".strip()
        if line and draw.textlength(candidate, font=font) > width:
            lines.append(line)
            line = word
        else:
            line = candidate
    return lines + [line] if line else lines


def scanned_look(image, angle: float, noise: float, blur: float, seed: int = 0):
    """``image`` as a scanner might give it: turned by ``angle`` degrees, blurred, on grey
    paper with Gaussian noise of ``noise`` grey levels."""
    import numpy as np
    from PIL import Image, ImageFilter

    turned = image.convert("L").rotate(angle, resample=Image.BICUBIC, fillcolor=255).filter(ImageFilter.GaussianBlur(blur))
    pixels = np.asarray(turned, dtype=float) * 0.85 + 20 + np.random.default_rng(seed).normal(0, noise, (image.height, image.width))
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


def image_pdf(images: list) -> bytes:
    """An image-only PDF, one page per image."""
    out = io.BytesIO()
    images[0].save(out, format="PDF", save_all=True, append_images=images[1:], resolution=300)
    return out.getvalue()


def cer(reference: str, read: str) -> float:
    """Character error rate, whitespace ignored: edit distance / reference length."""
    a, b = "".join(reference.split()), "".join(read.split())
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1] / max(1, len(a))


def essay_paragraphs() -> list[str]:
    """The essay's headings and body paragraphs, in order."""
    from assistant.ingest import load_document

    doc = load_document(ESSAY, ESSAY.name)
    return [b.text for b in doc.blocks if b.kind in ("body", "heading")]


def english_paragraphs() -> list[str]:
    """The first paragraphs of an English encyclopedia article (SQuAD 2.0 dev public)."""
    article = json.loads(SQUAD.read_text(encoding="utf-8"))["data"][0]
    return [p["context"] for p in article["paragraphs"][:3]]


@functools.cache
def _korquad() -> list[dict]:
    return json.loads(KORQUAD.read_text(encoding="utf-8"))["data"]


def korquad_paragraphs(title: str) -> list[str]:
    """The paragraphs of one Korean encyclopedia article (KorQuAD 1.0 dev public)."""
    return [p["context"] for a in _korquad() if a["title"] == title for p in a["paragraphs"]]
