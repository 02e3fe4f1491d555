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
    return reader.pages([reader.read(frame, n) for n, frame in enumerate(frames, 1)])
