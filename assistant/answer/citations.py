"""Citation markers: parse ``[n]`` in an answer, keep those that point at a passage, and
make sure a factual answer always carries at least one source."""

from __future__ import annotations

import re

from ..text import analysis
from ..types import Citation, Passage

# [1], [1, 2], [1][2], 【1】 and full-width brackets
MARKER = r"[\[【［]\s*(\d+(?:\s*[,，、]\s*\d+)*)\s*[\]】］]"
_MARKER = re.compile(r"\s*" + MARKER)


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
    """1-based number of the passage holding most of the answer's names and figures, then
    sharing most of its terms; the top-ranked passage on a tie."""
    keys = analysis.key_terms(strip_markers(answer))
    terms = set(analysis.terms(strip_markers(answer)))

    def support(p: Passage) -> tuple[int, float]:
        shared = len(terms & set(analysis.terms(p.chunk.text))) / (len(terms) or 1)
        return sum(analysis.mentions(p.chunk.text, k) for k in keys), shared

    scores = [support(p) for p in passages]
    return 1 + max(range(len(passages)), key=lambda i: (scores[i], -i))


def attach(answer: str, passages: list[Passage]) -> tuple[str, list[Citation]]:
    """The answer with valid markers only, and its citations. An answer without a valid
    marker gets one for the passage that best supports it."""
    valid = set(range(1, len(passages) + 1))
    numbers = [n for n in parse_markers(answer) if n in valid]
    text = clean_markers(answer, valid)
    if not numbers and passages and text:
        n = best_support(text, passages)
        text = append_marker(text, n)
        numbers = [n]
    return text, [Citation(n, passages[n - 1]) for n in numbers]


def append_marker(text: str, n: int) -> str:
    """``text`` citing passage ``n`` at its end as well."""
    return f"{text.rstrip()} [{n}]".replace("] [", "][")
