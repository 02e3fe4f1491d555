"""Citation markers: parse ``[n]`` in an answer, keep those that point at a passage, and
make sure a factual answer always carries at least one source."""

from __future__ import annotations

import re

from . import morphology
from .types import Citation, Passage

# [1], [1, 2], [1][2], 【1】 and full-width brackets
_MARKER = re.compile(r"\s*[\[【［]\s*(\d+(?:\s*[,，、]\s*\d+)*)\s*[\]】］]")


def parse_markers(text: str) -> list[int]:
    """Passage numbers in order of first appearance."""
    seen: list[int] = []
    for m in _MARKER.finditer(text):
        for n in re.split(r"[,，、]", m.group(1)):
            if int(n) not in seen:
                seen.append(int(n))
    return seen


def clean_markers(text: str, valid: set[int]) -> str:
    """Drop markers that point nowhere; normalize the rest to ``[n]``."""

    def repl(m: re.Match) -> str:
        keep = [n for n in (int(x) for x in re.split(r"[,，、]", m.group(1))) if n in valid]
        return "".join(f" [{n}]" for n in keep).replace("] [", "][")

    return _MARKER.sub(repl, text).strip()


def strip_markers(text: str) -> str:
    return _MARKER.sub("", text).strip()


def best_support(answer: str, passages: list[Passage]) -> int:
    """1-based number of the passage whose terms the answer shares most (by share of the
    answer's terms), falling back to the top-ranked passage."""
    terms = set(morphology.terms(strip_markers(answer)))
    best, best_overlap = 1, 0.0
    for n, p in enumerate(passages, 1):
        overlap = len(terms & set(morphology.terms(p.chunk.text))) / (len(terms) or 1)
        if overlap > best_overlap:
            best, best_overlap = n, overlap
    return best


def attach(answer: str, passages: list[Passage]) -> tuple[str, list[Citation]]:
    """The answer with valid markers only, and its citations. An answer without a valid
    marker gets one for the passage that best supports it."""
    valid = set(range(1, len(passages) + 1))
    numbers = [n for n in parse_markers(answer) if n in valid]
    text = clean_markers(answer, valid)
    if not numbers and passages and text:
        n = best_support(text, passages)
        text = _append_marker(text, n)
        numbers = [n]
    return text, [Citation(n, passages[n - 1]) for n in numbers]


def _append_marker(text: str, n: int) -> str:
    stripped = text.rstrip()
    return f"{stripped} [{n}]"
