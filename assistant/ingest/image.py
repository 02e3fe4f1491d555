"""Images (PNG, JPEG, TIFF) read by OCR: each frame of a multi-page TIFF is a page."""

from __future__ import annotations

import io

from .base import Unreadable
from .ocr import Reader


def extract(raw: bytes, reader: Reader) -> tuple[str, tuple[int, ...]]:
    from PIL import Image, ImageSequence, UnidentifiedImageError

    try:
        image = Image.open(io.BytesIO(raw))
        frames = [frame.copy() for frame in ImageSequence.Iterator(image)]  # copy() decodes: a truncated file fails here
    except Image.DecompressionBombError as exc:
        raise Unreadable(f"image is too large ({exc}); refusing a possible decompression bomb") from exc
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise Unreadable(f"corrupt or truncated image ({exc})") from exc
    reader.start(len(frames))
    texts = [reader.read(frame, n) for n, frame in enumerate(frames, 1)]
    return paged(texts, reader)


def paged(texts: list[str], reader: Reader | None = None) -> tuple[str, tuple[int, ...]]:
    """Page texts joined by blank lines, with each page's start offset."""
    if not any(t.strip() for t in texts):
        raise reader.nothing_found() if reader else Unreadable("no text content found")
    text, offsets = "", []
    for body in texts:
        if text and body:
            text += "\n\n"
        offsets.append(len(text))
        text += body
    return text + "\n", tuple(offsets)
