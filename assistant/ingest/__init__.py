"""Documents in, text out: one module per format behind ``registry``, the text split into
classified blocks (``blocks``), documents loaded from the corpus (``document``), and the
document library people add to and remove from (``library``)."""

from .base import IngestError
from .document import load_document, scan_corpus
from .registry import SUPPORTED_SUFFIXES, extract

__all__ = ["IngestError", "SUPPORTED_SUFFIXES", "extract", "load_document", "scan_corpus"]
