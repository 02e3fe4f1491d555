"""Text from page images with the Tesseract command, for PDF pages without a text
layer and for image files: a Hangul model and a Latin model each read the page and each
is kept where it reads its own script. Each page is bounded in time and size; its mean
confidence decides whether it is indexed, and a page too doubtful to trust is reported."""

from __future__ import annotations

import functools
import os
import re
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

from ..config import Settings
from ..types import OcrSummary
from .base import Unreadable

MAX_PIXELS = 40_000_000  # a larger page image is scaled down before OCR (memory)
SYLLABLE_OVERLAP = 0.3  # a Latin word overlapping a syllable of the Hangul reading by more is a misreading
INSTALL = "apt-get install tesseract-ocr tesseract-ocr-script-hang tesseract-ocr-eng"
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
        """The page's text and the mean confidence of its characters; None when it ran out
        of time. Each model reads the whole page once (both at the same time) and
        ``_fuse`` keeps, of each, the script it reads well."""
        models = self.config.languages.split("+")
        hangul, latin = models[0], models[-1]
        image = _deskewed(image)
        with tempfile.TemporaryDirectory(prefix="ocr-") as tmp:
            source = Path(tmp) / "page.png"
            image.save(source)
            pages = self._run(source, [hangul] if hangul == latin else [hangul, latin])
        if pages is None:
            return None
        return _fuse(pages[-1], pages[0], _ink(image))

    def _run(self, source: Path, models: list[str]) -> list[list[list[_Line]]] | None:
        """Tesseract's hOCR of ``source``, one run per model, side by side; for each, the
        paragraphs as lists of lines. None when the page's time ran out."""
        outputs = [source.with_name(f"read{i}") for i in range(len(models))]
        commands = [[TESSERACT, str(source), str(out), "-l", model, "--psm", str(self.config.page_mode),
                     "-c", "hocr_char_boxes=1", "hocr"] for model, out in zip(models, outputs)]
        deadline = time.monotonic() + self.config.page_seconds
        try:
            runs = [subprocess.Popen(c, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=_env()) for c in commands]
        except OSError as exc:
            raise Unreadable(f"needs OCR, but Tesseract is not installed ({INSTALL})") from exc
        try:
            errors = [run.communicate(timeout=max(0.0, deadline - time.monotonic()))[1] for run in runs]
        except subprocess.TimeoutExpired:
            for run in runs:
                run.kill()
                run.wait()
            return None
        for run, error in zip(runs, errors):
            if run.returncode != 0:
                raise Unreadable(f"OCR failed ({error.strip().splitlines()[-1] if error.strip() else run.returncode})")
        return [_hocr(out.with_suffix(".hocr").read_text(encoding="utf-8")) for out in outputs]

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


@dataclass(frozen=True)
class _Char:
    """A character of Tesseract's hOCR: what it read, where, and its word's confidence."""

    text: str
    box: tuple[int, int, int, int]  # left, top, right, bottom
    confidence: float

    @property
    def middle(self) -> float:
        return (self.box[0] + self.box[2]) / 2

    @property
    def syllable(self) -> bool:
        return "\uac00" <= self.text[:1] <= "\ud7a3"


@dataclass
class _Line:
    box: tuple[int, int, int, int]
    words: list[tuple[tuple[int, int, int, int], list[_Char]]] = field(default_factory=list)

    @property
    def height(self) -> int:
        return self.box[3] - self.box[1]

    def holds(self, c: _Char) -> bool:
        """Whether a character another reading found lies on this line."""
        x, y = c.middle, (c.box[1] + c.box[3]) / 2
        return self.box[1] - 0.2 * self.height <= y <= self.box[3] + 0.2 * self.height and \
            self.box[0] - self.height <= x <= self.box[2] + self.height


class _Hocr(HTMLParser):
    """Paragraphs, lines, words and characters (with boxes) of Tesseract's hOCR."""

    def __init__(self) -> None:
        super().__init__()
        self.paragraphs: list[list[_Line]] = []
        self.word_confidence = 0.0
        self.char: list | None = None  # [text, box] of the character being read

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        kind, title = dict(attrs).get("class"), dict(attrs).get("title") or ""
        if kind == "ocr_par":
            self.paragraphs.append([])
        elif kind == "ocr_line" and self.paragraphs:
            self.paragraphs[-1].append(_Line(_box(title, "bbox")))
        elif kind == "ocrx_word" and self.paragraphs and self.paragraphs[-1]:
            found = re.search(r"x_wconf (\d+)", title)
            self.word_confidence = float(found.group(1)) if found else 0.0
            self.paragraphs[-1][-1].words.append((_box(title, "bbox"), []))
        elif kind == "ocrx_cinfo" and self.paragraphs and self.paragraphs[-1] and self.paragraphs[-1][-1].words:
            self.char = ["", _box(title, "x_bboxes")]

    def handle_data(self, data: str) -> None:
        if self.char is not None:
            self.char[0] += data

    def handle_endtag(self, tag: str) -> None:
        if self.char is not None and tag == "span":
            text, box = self.char
            if text.strip():
                self.paragraphs[-1][-1].words[-1][1].append(_Char(text.strip(), box, self.word_confidence))
            self.char = None


def _box(title: str, key: str) -> tuple[int, int, int, int]:
    left, top, right, bottom = (int(v) for v in re.search(key + r" (-?\d+) (-?\d+) (-?\d+) (-?\d+)", title).groups())
    return left, top, right, bottom


def _hocr(html: str) -> list[list[_Line]]:
    """The hOCR's paragraphs, without the echo lines Tesseract sometimes adds: a thin line
    lying mostly inside a taller one (the lower half of a line's glyphs read again)."""
    parser = _Hocr()
    parser.feed(html)
    lines = [line for par in parser.paragraphs for line in par]

    def echo(line: _Line) -> bool:
        return any(other.height > line.height and
                   min(line.box[3], other.box[3]) - max(line.box[1], other.box[1]) > 0.5 * line.height for other in lines)

    return [[line for line in par if line.words and not echo(line)] for par in parser.paragraphs]


def _fuse(latin: list[list[_Line]], hangul: list[list[_Line]], ink) -> tuple[str, float]:
    """One page's text and mean confidence from two readings: the Hangul model's syllables
    and the Latin model's words. The Latin model reads Korean words as confident Latin
    letters ("모델을" as "SAS") and the Hangul model reads Latin words as digits and jamo, so
    each is kept where it reads its own script: a Latin word is the Latin model's where no
    syllable of the Hangul reading lies in it, and a Latin word with a particle ("ChatGPT가")
    takes its letters from one and its syllables from the other. Lines, paragraphs and order
    follow the Latin reading; spaces are the wide gaps of the page image (``_space_width``)."""
    lines = [line for par in latin for line in par]
    gaps = {id(line): _line_gaps(ink, line) for line in lines}
    space = _space_width(lines, gaps)
    left = [c for par in hangul for line in par for _, chars in line.words for c in chars]
    paragraphs, confidences = [], []
    for par in latin:
        texts = []
        for line in par:
            here = [line.holds(c) for c in left]
            mine, left = [c for c, h in zip(left, here) if h], [c for c, h in zip(left, here) if not h]
            chars = _line_chars(line, mine)
            confidences += [c.confidence for c in chars]
            wide = [(a + b) / 2 for a, b in gaps[id(line)] if b - a >= space * line.height]
            texts.append(_spaced(chars, wide))
        paragraphs.append(" ".join(t for t in texts if t))
    confidence = sum(confidences) / len(confidences) if confidences else 0.0
    return "\n\n".join(p for p in paragraphs if p), confidence


def _line_chars(line: _Line, hangul: list[_Char]) -> list[_Char]:
    """One line's characters in reading order: the Hangul reading's, with the Latin
    reading's Latin words and word parts put in place of what it read there."""
    syllables = [c for c in hangul if c.syllable]
    pieces: list[tuple[float, float, list[_Char]]] = []
    for box, chars in line.words:
        inside = [c for c in syllables if box[0] <= c.middle <= box[2]]
        if inside:
            before = [c for c in chars if c.middle < inside[0].box[0]]
            after = [c for c in chars if c.middle > inside[-1].box[2]]
            pieces += [(part[0].box[0], part[-1].box[2], part) for part in (before, after) if _latin(part)]
        elif chars and not any(_overlap(box, c.box) > SYLLABLE_OVERLAP * (c.box[2] - c.box[0]) for c in syllables):
            pieces.append((box[0], box[2], chars))
    pieces.sort(key=lambda p: p[0])
    kept = [c for c in hangul if not any(start <= c.middle <= end for start, end, _ in pieces)]
    out: list[_Char] = []
    for c in kept:
        while pieces and pieces[0][0] < c.middle:
            out += pieces.pop(0)[2]
        out.append(c)
    for _, _, chars in pieces:
        out += chars
    return out


def _latin(chars: list[_Char]) -> bool:
    return any(c.text.isascii() and c.text.isalpha() for c in chars)


def _overlap(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> int:
    return max(0, min(a[2], b[2]) - max(a[0], b[0]))


def _ink(image):
    """Which pixels of the page are ink (darker than Otsu's threshold of its grey levels)."""
    import numpy as np

    pixels = np.asarray(image)
    counts = np.bincount(pixels.ravel(), minlength=256)
    return pixels < _otsu(np.arange(256, dtype=float), counts)


def _deskewed(image):
    """The page turned upright: a scan's lines lean by a degree or two, and the line boxes
    both readings are matched by, and the gaps spaces are found in, assume level lines.
    The angle is the one whose rows of ink are sharpest (the row profile's variance),
    searched on a quarter-size copy from -5 to 5 degrees, then to a tenth of a degree."""
    import numpy as np
    from PIL import Image

    small = image.resize((max(1, image.width // 4), max(1, image.height // 4)))
    ink = Image.fromarray((_ink(small) * 255).astype(np.uint8))

    def sharpness(angle: float) -> tuple[float, float]:
        rows = np.asarray(ink.rotate(angle, resample=Image.NEAREST), dtype=np.float64).sum(axis=1)
        return float(np.var(rows)), -abs(angle)  # of equally sharp angles, the smallest turn

    coarse = max(np.arange(-5.0, 5.01, 0.5), key=sharpness)
    angle = max(np.arange(coarse - 0.5, coarse + 0.51, 0.1), key=sharpness)
    if abs(angle) < 0.05:
        return image
    return image.rotate(float(angle), resample=Image.BICUBIC, fillcolor=255)


def _line_gaps(ink, line: _Line) -> list[tuple[int, int]]:
    """The blank column runs between ink inside a line's box, as (start, end) x. An ink
    pixel without an ink neighbour is a scan's speckle, not ink."""
    import numpy as np

    left, top, right, bottom = line.box
    band = ink[top:bottom, left:right]
    padded = np.pad(band, 1)
    neighbours = sum(padded[1 + dy : padded.shape[0] - 1 + dy, 1 + dx : padded.shape[1] - 1 + dx]
                     for dy in (-1, 0, 1) for dx in (-1, 0, 1) if dy or dx)
    columns = np.concatenate(([True], (band & (neighbours > 0)).any(axis=0), [True]))
    edges = np.flatnonzero(np.diff(columns.astype(np.int8)))
    return [(left + int(a), left + int(b)) for a, b in zip(edges[::2], edges[1::2])]


def _space_width(lines: list[_Line], gaps: dict[int, list[tuple[int, int]]]) -> float:
    """The gap, as a share of line height, above which a gap is a space: Otsu's threshold
    between the narrow gaps inside words and the wide ones between them, on the whole page
    (fonts, sizes and scans differ, so it is not fixed). Lines far thinner than most (a
    rule, a speck) and gaps wider than two line heights (columns, indents) do not count.
    ``gaps``: each line's blank column runs (``_line_gaps``), by ``id`` of the line."""
    import numpy as np

    usual = float(np.median([line.height for line in lines])) if lines else 0.0
    shares = [share for line in lines if line.height and line.height >= usual / 2 for a, b in gaps[id(line)]
              if (share := (b - a) / line.height) <= 2]
    if len(shares) < 2:
        return float("inf")
    return _otsu(np.asarray(shares), np.ones(len(shares)))


def _spaced(chars: list[_Char], gaps: list[float]) -> str:
    text = ""
    for before, c in zip([None, *chars], chars):
        if before is not None and any(before.middle < g < c.middle for g in gaps):
            text += " "
        text += c.text
    return text


def _otsu(values, counts) -> float:
    """Otsu's threshold: the cut between sorted ``values`` (weighted by ``counts``) that best
    separates two groups."""
    import numpy as np

    order = np.argsort(values)
    values, counts = np.asarray(values, dtype=float)[order], np.asarray(counts, dtype=float)[order]
    weight = np.cumsum(counts)[:-1]
    total = counts.sum()
    if total == 0 or len(values) < 2:
        return float(values[0]) if len(values) else 0.0
    mass = np.cumsum(counts * values)[:-1]
    below = np.divide(mass, weight, out=np.zeros_like(mass), where=weight > 0)
    rest = total - weight
    above = np.divide(mass[-1] + counts[-1] * values[-1] - mass, rest, out=np.zeros_like(mass), where=rest > 0)
    between = weight * rest * (below - above) ** 2
    cut = int(np.argmax(between))
    return (values[cut] + values[cut + 1]) / 2
