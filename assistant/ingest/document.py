"""Read documents from the corpus folder: any supported format (``registry.extract``)
turned into a ``Document`` whose blocks say what is content (``blocks``)."""

from __future__ import annotations

from pathlib import Path

from ..types import Document
from . import registry
from .base import IngestError
from .blocks import classify, clean_heading, split_blocks
from .ocr import OcrConfig, PageProgress


def load_document(path: Path, doc_id: str, ocr: OcrConfig = OcrConfig(), on_page: PageProgress | None = None) -> Document:
    """Any supported format (see ``registry``): its text, split into classified blocks."""
    extracted = registry.extract(path, ocr, on_page)
    text = extracted.text
    blocks = classify(text, split_blocks(text))
    if not any(b.kind == "body" for b in blocks):
        raise IngestError(f"{path.name}: no text content found")
    title = next((b.text for b in blocks if b.kind == "title"), Path(doc_id).stem)
    return Document(
        doc_id=doc_id,
        text=text,
        sha256=extracted.sha256,
        title=clean_heading(title),
        blocks=tuple(blocks),
        pages=extracted.pages,
        ocr=extracted.ocr,
    )


def scan_corpus(corpus_dir: Path) -> tuple[dict[str, Path], dict[str, str]]:
    """Supported files under the corpus (doc id -> path) and files skipped with a reason.
    Symbolic links that lead outside the corpus are not followed."""
    root = corpus_dir.resolve()
    found: dict[str, Path] = {}
    skipped: dict[str, str] = {}
    for path in sorted(corpus_dir.rglob("*")):
        rel = path.relative_to(corpus_dir).as_posix()
        if any(part.startswith(".") for part in Path(rel).parts):
            continue
        if path.is_symlink() and not path.resolve().is_relative_to(root):
            skipped[rel] = "symbolic link pointing outside the corpus"
            continue
        if not path.is_file():
            continue
        reason = registry.unsupported_reason(path)
        if reason is not None:
            skipped[rel] = reason
            continue
        found[rel] = path
    return found, skipped
