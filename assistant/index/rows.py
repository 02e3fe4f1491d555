"""One document's rows as an index stores them: chunks, lexical terms, sentence units
and their vectors. The builder makes them; each store writes them its own way."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..text import analysis
from ..types import Chunk
from .chunking import ChunkingConfig, sentence_units


@dataclass
class DocRows:
    """Chunks with their lexical terms, sentence units (absolute spans and the chunk each
    belongs to, relative to this document) and unit vectors (None until embedded)."""

    chunks: list[Chunk]
    terms: list[list[str]]
    units: list[tuple[int, int]]
    unit_chunk: list[int]
    vectors: np.ndarray | None = None

    @classmethod
    def fresh(cls, chunks: list[Chunk], config: ChunkingConfig) -> "DocRows":
        units, owners = [], []
        for row, chunk in enumerate(chunks):
            for span in sentence_units(chunk, config.min_unit_chars):
                units.append(span)
                owners.append(row)
        terms = analysis.terms_batch([lexical_text(c) for c in chunks])
        return cls(chunks, terms, units, owners)

    def unit_texts(self) -> tuple[list[str], list[str]]:
        """Each unit's text and its chunk's section (the title it is embedded with)."""
        texts, titles = [], []
        for (s, e), row in zip(self.units, self.unit_chunk):
            chunk = self.chunks[row]
            texts.append(chunk.text[s - chunk.start : e - chunk.start])
            titles.append(chunk.section)
        return texts, titles


@dataclass
class Update:
    """What a build asks a store to make current: the documents of the new index in
    order, the rows of those (re)embedded now, and whether nothing of the previous index
    is kept."""

    manifest: dict
    order: list[str]
    fresh: dict[str, DocRows] = field(default_factory=dict)
    full: bool = False


def lexical_text(chunk: Chunk) -> str:
    return f"{chunk.section}\n{chunk.text}"
