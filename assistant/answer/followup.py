"""Whether a question depends on the earlier turn, decided by retrieval: a question is
searched with the previous one only when that finds clearly closer evidence than the
question alone ("When was he born?" finds nothing close on its own; a new question on
another subject finds its passages better alone)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from ..text.language import detect_language
from ..types import Passage

Search = Callable[[str], list[Passage]]


@dataclass(frozen=True)
class Query:
    """What is searched for a question, and the earlier question it depends on (or None)."""

    text: str
    previous: str | None
    passages: list[Passage]
    earlier_answer: str | None = None  # what was answered to ``previous``, when it was answered
    # A follow-up's best passage for its own words: the joined search finds the earlier
    # subject first, and the new fact may stand in another passage of its document.
    own: Passage | None = None


def refocused(passages: list[Passage], alone: list[Passage]) -> list[Passage]:
    """``passages`` with the best sentence (``highlight``) the question alone found in
    each: the joined search marks the earlier subject's sentence, and the excerpt the
    model reads is cut around the marked one, so the follow-up's fact, often a few
    sentences on, fell outside it."""
    own = {p.chunk.chunk_id: p.highlight for p in alone}
    return [replace(p, highlight=h) if (h := own.get(p.chunk.chunk_id)) else p for p in passages]


def closeness(passages: list[Passage], language: str | None = None, across: float = 1.0) -> float:
    """How close the best passage is: its best sentence's cosine with the query. For a
    query in ``language`` and a best passage in another, that cosine divided by
    ``across`` (cosines run lower between languages), at most 1."""
    best = max(passages, key=lambda p: p.dense_score or 0.0, default=None)
    if best is None:
        return 0.0
    cosine = best.dense_score or 0.0
    if language is not None and detect_language(best.chunk.text) != language:
        return min(1.0, cosine / across)
    return cosine


def joined(previous: str, question: str) -> str:
    """What a question that depends on the earlier one is searched with."""
    return f"{previous} {question}"


def gain(alone: list[Passage], together: list[Passage]) -> float:
    """How much closer (cosine) the search joined with the earlier question comes than the
    question's alone: what ``resolve`` holds against its margin."""
    return closeness(together) - closeness(alone)


def previous_question(history: list[dict] | None) -> str | None:
    asked = [m["content"].strip() for m in history or [] if m.get("role") == "user" and (m.get("content") or "").strip()]
    return asked[-1] if asked else None


def previous_answer(history: list[dict] | None) -> str | None:
    said = [m.get("content") or "" for m in history or [] if m.get("role") == "assistant"]
    return said[-1].strip() if said and said[-1].strip() else None


def resolve(question: str, history: list[dict] | None, search: Search, margin: float, refusals: tuple[str, ...] = ()) -> Query:
    """The question alone, or joined with the previous user question when the joined search
    comes closer by more than ``margin`` (cosine); a follow-up also carries the earlier
    answer, unless it was one of the ``refusals``, its own best passage (``own``, when it is
    in the document the joined search found first), and each passage marked at the sentence
    that best matches the question alone (``refocused``)."""
    alone = search(question)
    previous = previous_question(history)
    if previous is None:
        return Query(question, None, alone)
    text = joined(previous, question)
    together = search(text)
    if gain(alone, together) > margin:
        answer = previous_answer(history)
        # Only from the earlier subject's document: found in another one, the question's
        # own words matched text about something else, which the model then answered from.
        own = alone[0] if alone and together and alone[0].chunk.doc_id == together[0].chunk.doc_id else None
        together = refocused(together, alone)
        if own is not None and not own.among(together):
            together = together + [own]
        return Query(text, previous, together, None if answer in refusals else answer, own)
    return Query(question, None, alone)
