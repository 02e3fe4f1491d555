"""Text from page images with the Tesseract command, for PDF pages without a text
layer and for image files. Each page is bounded in time and size; its words' mean
confidence decides whether it is indexed, and a page too doubtful to trust is reported."""

from __future__ import annotations

import functools
import os
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..config import Settings
from ..types import OcrSummary
from .base import Unreadable

MAX_PIXELS = 40_000_000  # a larger page image is scaled down before OCR (memory)
STRIP_WORDS = 120  # doubtful words per strip read again (a strip stays well under Tesseract's 32,767 px)
STRIP_PAD, STRIP_GAP = 6, 30  # pixels around each word cut out, and between rows of a strip
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
    second_look_below: float = Settings.ocr_second_look_below

    @classmethod
    def of(cls, settings: Settings) -> "OcrConfig":
        return cls(settings.ocr_languages, settings.ocr_dpi, settings.ocr_page_mode,
                   settings.ocr_min_confidence, settings.ocr_page_seconds, settings.ocr_second_look_below)


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
        """The page's text and the words' mean confidence; None when it ran out of time.
        One Tesseract run with all the languages writes the text (whose spacing follows the
        page) and each word's box and confidence; then the doubtful words get a second look
        (``_second_look``) within what is left of the page's time."""
        deadline = time.monotonic() + self.config.page_seconds
        with tempfile.TemporaryDirectory(prefix="ocr-") as tmp:
            found = self._run(image, Path(tmp) / "page", self.config.languages, deadline, "txt")
            if found is None:
                return None
            text, words = found
            languages = self.config.languages.split("+")
            doubtful = [w for w in words if w.confidence < self.config.second_look_below] if len(languages) > 1 else []
            if doubtful:
                self._second_look(image, doubtful, languages, Path(tmp), deadline)
                text = _replace_words(text, words)
        return _paragraphs(text), _confidence(words)

    def _second_look(self, image, words: list["_Word"], languages: list[str], tmp: Path, deadline: float) -> None:
        """Read each doubtful word again alone with each language's model, and keep the
        reading Tesseract is surest of. A word of one language inside a sentence of the other
        ("Python" in a Korean line, a particle after it) is what the combined models misread
        most (bench/ocr.py). The words are cut out and stacked into strips, one run per strip
        and language; out of time, the first reading stays."""
        for start in range(0, len(words), STRIP_WORDS):
            part = words[start : start + STRIP_WORDS]
            strip, rows = _strip(image, [w.box for w in part])
            for language in languages:
                found = self._run(strip, tmp / "strip", language, deadline)
                if found is None:
                    return
                for word, reading in zip(part, _by_row(found[1], rows)):
                    if reading is not None and reading.confidence > word.confidence:
                        word.reading, word.confidence = reading.text, reading.confidence

    def _run(self, image, base: Path, languages: str, deadline: float, *outputs: str) -> tuple[str, list["_Word"]] | None:
        """One Tesseract run: the text (if "txt" is asked for) and the words (TSV)."""
        source = base.with_suffix(".png")
        image.save(source)
        command = [TESSERACT, str(source), str(base), "-l", languages,
                   "--psm", str(self.config.page_mode), "-c", "tessedit_create_tsv=1", *outputs]
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        try:
            run = subprocess.run(command, capture_output=True, text=True, timeout=left, env=_env())
        except subprocess.TimeoutExpired:
            return None
        except OSError as exc:
            raise Unreadable(f"needs OCR, but Tesseract is not installed ({INSTALL})") from exc
        if run.returncode != 0:
            raise Unreadable(f"OCR failed ({run.stderr.strip().splitlines()[-1] if run.stderr.strip() else run.returncode})")
        text = base.with_suffix(".txt").read_text(encoding="utf-8") if "txt" in outputs else ""
        return text, _words(base.with_suffix(".tsv").read_text(encoding="utf-8"))

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


@dataclass
class _Word:
    """A word of Tesseract's TSV: what it read, where, how sure it is; ``reading`` is what
    a second look replaced it with."""

    text: str
    box: tuple[int, int, int, int]  # left, top, width, height
    confidence: float
    reading: str = ""


def _words(tsv: str) -> list[_Word]:
    words = []
    for row in tsv.splitlines()[1:]:
        cells = row.split("\t")
        if len(cells) < 12 or not cells[11].strip() or float(cells[10]) < 0:
            continue
        left, top, width, height = (int(c) for c in cells[6:10])
        words.append(_Word(cells[11].strip(), (left, top, width, height), float(cells[10])))
    return words


def _confidence(words: list[_Word]) -> float:
    """Mean word confidence (0-100), weighted by word length."""
    weight = sum(len(w.reading or w.text) for w in words)
    return sum(len(w.reading or w.text) * w.confidence for w in words) / weight if weight else 0.0


def _strip(image, boxes: list[tuple[int, int, int, int]]):
    """The boxes cut out of ``image`` (with a margin) and stacked one per row on a white
    strip; with each row's vertical span."""
    from PIL import Image

    crops = [image.crop((x - STRIP_PAD, y - STRIP_PAD, x + w + STRIP_PAD, y + h + STRIP_PAD)) for x, y, w, h in boxes]
    strip = Image.new("L", (max(c.width for c in crops) + 2 * STRIP_GAP, sum(c.height + STRIP_GAP for c in crops) + STRIP_GAP), 255)
    y, rows = STRIP_GAP, []
    for crop in crops:
        strip.paste(crop, (STRIP_GAP, y))
        rows.append((y, y + crop.height))
        y += crop.height + STRIP_GAP
    return strip, rows


def _by_row(words: list[_Word], rows: list[tuple[int, int]]) -> list[_Word | None]:
    """What was read in each row of a strip, joined, with its least sure word's confidence."""
    found: list[list[_Word]] = [[] for _ in rows]
    for w in words:
        middle = w.box[1] + w.box[3] / 2
        row = next((i for i, (a, b) in enumerate(rows) if a - STRIP_GAP / 2 <= middle <= b + STRIP_GAP / 2), None)
        if row is not None:
            found[row].append(w)
    return [_Word("".join(w.text for w in ws), ws[0].box, min(w.confidence for w in ws)) if ws else None for ws in found]


def _replace_words(text: str, words: list[_Word]) -> str:
    """``text`` with each word read again put in place of its first reading. The words
    appear in the text in order, so each is found after the one before."""
    out, pos = [], 0
    for w in words:
        at = text.find(w.text, pos)
        if at < 0:
            continue
        out += [text[pos:at], w.reading or w.text]
        pos = at + len(w.text)
    return "".join(out) + text[pos:]
