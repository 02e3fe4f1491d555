"""Text from page images with the Tesseract command, for PDF pages without a text
layer and for image files. Each page is bounded in time and size; its words' mean
confidence decides whether it is indexed, and a page too doubtful to trust is reported."""

from __future__ import annotations

import functools
import os
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..config import Settings
from ..types import OcrSummary
from .base import Unreadable

MAX_PIXELS = 40_000_000  # a larger page image is scaled down before OCR (memory)
INSTALL = "apt-get install tesseract-ocr tesseract-ocr-kor tesseract-ocr-eng"
TESSERACT = "tesseract"

PageProgress = Callable[[str, int, int], None]  # (document name, pages read, pages to read)


@dataclass(frozen=True)
class OcrConfig:
    languages: str = Settings.ocr_languages
    dpi: int = Settings.ocr_dpi
    page_mode: int = Settings.ocr_page_mode
    min_confidence: float = Settings.ocr_min_confidence
    page_seconds: int = Settings.ocr_page_seconds

    @classmethod
    def of(cls, settings: Settings) -> "OcrConfig":
        return cls(settings.ocr_languages, settings.ocr_dpi, settings.ocr_page_mode,
                   settings.ocr_min_confidence, settings.ocr_page_seconds)


@functools.lru_cache(maxsize=1)
def installed_languages() -> frozenset[str]:
    """The models Tesseract has (``tesseract --list-langs``)."""
    try:
        listed = subprocess.run([TESSERACT, "--list-langs"], capture_output=True, text=True, timeout=30, env=_env())
    except (OSError, subprocess.SubprocessError) as exc:
        raise Unreadable(f"needs OCR, but Tesseract is not installed ({INSTALL})") from exc
    return frozenset(line.strip() for line in listed.stdout.splitlines()[1:] if line.strip())


@dataclass
class Reader:
    """Reads the page images of one document and keeps what it found: pages read, their
    mean confidence, pages left out."""

    config: OcrConfig
    name: str
    on_page: PageProgress | None = None
    confidences: list[float] = field(default_factory=list)
    dropped: list[tuple[int, str]] = field(default_factory=list)  # (page, why)
    total: int = 0
    done: int = 0

    def start(self, total: int) -> None:
        """``total`` pages are to be read; Unreadable, with what to install, when
        Tesseract or one of the languages is missing."""
        self.total += total
        missing = [lang for lang in self.config.languages.split("+") if lang not in installed_languages()]
        if missing:
            raise Unreadable(f"needs OCR, but Tesseract has no {'+'.join(missing)} model ({INSTALL})")

    def read(self, image, page: int) -> str:
        """The text of one page image (paragraphs separated by blank lines), or "" when
        the page holds no text or none worth trusting (then it is recorded as dropped)."""
        try:
            found = self._tesseract(_bounded(image))
        finally:
            self.done += 1
            if self.on_page:
                self.on_page(self.name, self.done, self.total)
        if found is None:
            self.dropped.append((page, f"OCR took over {self.config.page_seconds} s"))
            return ""
        text, confidence = found
        if not text:
            return ""
        if confidence < self.config.min_confidence:
            self.dropped.append((page, f"OCR confidence {confidence:.0f} (below {self.config.min_confidence:.0f})"))
            return ""
        self.confidences.append(confidence)
        return text

    def _tesseract(self, image) -> tuple[str, float] | None:
        """One Tesseract run writing both the text (whose spacing follows the page) and the
        words' confidences (TSV); None when it ran out of time."""
        with tempfile.TemporaryDirectory(prefix="ocr-") as tmp:
            source, base = Path(tmp) / "page.png", Path(tmp) / "page"
            image.save(source)
            command = [TESSERACT, str(source), str(base), "-l", self.config.languages,
                       "--psm", str(self.config.page_mode), "-c", "tessedit_create_tsv=1", "txt"]
            try:
                run = subprocess.run(command, capture_output=True, text=True, timeout=self.config.page_seconds, env=_env())
            except subprocess.TimeoutExpired:
                return None
            except OSError as exc:
                raise Unreadable(f"needs OCR, but Tesseract is not installed ({INSTALL})") from exc
            if run.returncode != 0:
                raise Unreadable(f"OCR failed ({run.stderr.strip().splitlines()[-1] if run.stderr.strip() else run.returncode})")
            text = base.with_suffix(".txt").read_text(encoding="utf-8")
            tsv = base.with_suffix(".tsv").read_text(encoding="utf-8")
        return _paragraphs(text), _confidence(tsv)

    def summary(self) -> OcrSummary | None:
        if not self.confidences and not self.dropped:
            return None
        mean = sum(self.confidences) / len(self.confidences) if self.confidences else 0.0
        return OcrSummary(pages=len(self.confidences), confidence=round(mean, 1), dropped=tuple(self.dropped))

    def pages(self, texts: list[str]) -> tuple[str, tuple[int, ...]]:
        """A document's page texts (OCR's or a text layer's) joined by blank lines, with each
        page's start offset; Unreadable, saying why, when no page has text."""
        if not any(t.strip() for t in texts):
            if self.dropped:
                pages = "; ".join(f"page {p}: {why}" for p, why in self.dropped)
                raise Unreadable(f"OCR found no text it could trust ({pages})")
            raise Unreadable("OCR found no text")
        text, offsets = "", []
        for body in texts:
            if text and body:
                text += "\n\n"
            offsets.append(len(text))
            text += body
        return text + "\n", tuple(offsets)


def _env() -> dict[str, str]:
    """The environment for Tesseract, with one OpenMP thread: left to choose, it started
    more threads than the 2 cores it had and took 29 s for a page it reads in 2.6 s with
    one (bench/ocr.py)."""
    return {**os.environ, "OMP_THREAD_LIMIT": "1"}


def _bounded(image):
    """The image in grayscale, scaled down to at most MAX_PIXELS."""
    image = image.convert("L")
    pixels = image.width * image.height
    if pixels > MAX_PIXELS:
        scale = (MAX_PIXELS / pixels) ** 0.5
        image = image.resize((max(1, int(image.width * scale)), max(1, int(image.height * scale))))
    return image


def _paragraphs(text: str) -> str:
    """Tesseract's text with each paragraph's lines joined: paragraphs are separated by
    blank lines, lines within one only wrap."""
    paragraphs = (" ".join(line.strip() for line in block.splitlines() if line.strip()) for block in text.split("\n\n"))
    return "\n\n".join(p for p in paragraphs if p)


def _confidence(tsv: str) -> float:
    """Mean word confidence (0-100) of Tesseract's TSV, weighted by word length."""
    weight = total = 0.0
    for row in tsv.splitlines()[1:]:
        cells = row.split("\t")
        if len(cells) < 12 or not cells[11].strip() or float(cells[10]) < 0:
            continue
        weight += len(cells[11].strip())
        total += len(cells[11].strip()) * float(cells[10])
    return total / weight if weight else 0.0
