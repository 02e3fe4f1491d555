"""Question + history → ``Answer``: resolve a follow-up, retrieve, gate on evidence,
prompt, generate (once more when the reply is off target), verify, cite."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace

from ..config import Settings
from ..text import numbers
from ..text.language import detect_language, other_script
from ..text.lexicon import REFUSAL, SENTINEL
from ..types import Answer, Passage
from . import checks, citations, followup, prompt, source_talk, support
from .generation import Generator, Prompt

# Asked as a reader deciding whether the text contains the answer, the model separated
# right answers from answered unanswerable questions better than asked whether the text
# answers "exactly this question" (bench/RESULTS.md, 2026-12-06, "A reader's judge").
JUDGE = "You are a careful reader."
CONFIRM = "Read the text and decide whether it contains the answer to the question.\n\nText: {text}\n\nQuestion: {question}\n\nAnswer yes or no."
# Only Korean and English are answered, and only they can be checked against the passages.
OTHER_SCRIPT = "Questions are answered in Korean or English; this one is answered in English."


@dataclass
class Pipeline:
    """The answer pipeline over a ``search(query, k)`` and a generator."""

    settings: Settings
    search: Callable[[str, int], list[Passage]]

    @property
    def depth(self) -> int:
        """How many passages each search for a question returns."""
        return max(self.settings.top_k, self.settings.answer_passages)

    def retrieve(self, question: str, history: list[dict] | None) -> followup.Query:
        return followup.resolve(question, history, lambda q: self.search(q, self.depth), self.settings.followup_margin, tuple(REFUSAL.values()))

    def quoted(self, passages: list[Passage], own: Passage | None = None) -> list[Passage]:
        s = self.settings
        return prompt.quoted_passages(passages, s.answer_passages, s.answer_passage_ratio, own)

    def prompt(self, question: str, language: str, quoted: list[Passage], query: followup.Query | None = None, insist: bool = False) -> Prompt:
        s = self.settings
        previous, earlier = (query.previous, query.earlier_answer) if query else (None, None)
        excerpts = prompt.quoted_texts(quoted, s.excerpt_budget, language)
        messages = prompt.build_messages(question, language, excerpts, previous, insist, earlier)
        return Prompt(messages=messages, question=question, language=language, passages=quoted, excerpts=excerpts,
                      max_tokens=s.max_new_tokens, decline_floor=s.decline_floor)

    def stream(
        self,
        question: str,
        history: list[dict] | None,
        gen: Generator,
        stop: threading.Event | None = None,
        notice: str | None = None,
        on_sources: Callable[[list[Passage]], None] | None = None,
    ) -> Iterator[tuple[str, Answer | None]]:
        """Yield the answer text as it grows, then ``(text, Answer)`` once it is complete;
        once ``stop`` is set, the stream ends without an ``Answer``. ``on_sources`` gets
        the passages the answer may quote, numbered [1]... as its markers will be, as soon
        as they are found; ``("", None)`` follows it."""
        started = time.perf_counter()
        language = detect_language(question)
        if other_script(question):
            notice = f"{notice} {OTHER_SCRIPT}" if notice else OTHER_SCRIPT
        query = self.retrieve(question, history)
        timings = {"retrieve_ms": (time.perf_counter() - started) * 1000}
        quoted = self.quoted(query.passages, query.own)
        if on_sources is not None and quoted:
            on_sources(quoted)
            yield "", None

        def finish(text: str, cites, model: str, refusal: str | None = None, **extra) -> Answer:
            timings.setdefault("first_token_ms", (time.perf_counter() - started) * 1000)
            timings["total_ms"] = (time.perf_counter() - started) * 1000
            return Answer(question, text, language, refusal is not None, cites, query.passages, timings, model,
                          query=query.text, refusal=refusal, notice=notice, **extra)

        # The best quoted sentence, as bench/evidence_gate.py calibrates it: the top fused
        # passage may owe its place to shared words while another holds the close sentence.
        if not quoted or followup.closeness(quoted) < self.settings.min_evidence:
            yield REFUSAL[language], finish(REFUSAL[language], [], "evidence-gate", checks.EVIDENCE)
            return

        first = self.prompt(question, language, quoted, query)
        raw, read, pieces = yield from _reply(gen, first, stop, timings, started)
        miss = None if gen.name == "extractive" or (stop and stop.is_set()) else checks.off_target(read, question, language, query.previous)
        if miss:
            # Ask once more, saying so; a reply in the other language must now begin in this
            # one. The prompt differs only in its last line, so llama.cpp reuses the rest.
            again = replace(self.prompt(question, language, quoted, query, insist=True), opening=language if miss == "language" else None)
            raw, read, more = yield from _reply(gen, again, stop, timings, started)
            pieces += more
        if stop is not None and stop.is_set():
            return  # what was shown is the answer; the caller marks it stopped, unverified
        tokens = dict(prompt_tokens=gen.count_tokens(first), completion_tokens=pieces, decline=first.observed.get("decline"))

        def judge(text: str, asked: str) -> float | None:
            t0 = time.perf_counter()
            p = gen.judge([{"role": "system", "content": JUDGE}, {"role": "user", "content": CONFIRM.format(text=text, question=asked)}]) if text else None
            timings["confirm_ms"] = (time.perf_counter() - t0) * 1000
            return p

        s = self.settings
        said = raw if gen.name == "extractive" else source_talk.without_source_talk(support.rescaled(read, [p.chunk.text for p in quoted], language))
        draft = checks.Draft(question, language, said, quoted,
                             min_coverage=s.support_coverage, judge=judge, min_confidence=s.confirm_threshold,
                             across=s.cross_language_cosine, previous=query.previous)
        verdict = checks.Verdict.of(draft, quoted=gen.name == "extractive")
        weighed = dict(confidence=draft.confidence, closeness=None if draft.confidence is None else draft.closeness)
        if verdict.refused:
            detail = "; ".join(f"{f.check}: {f.detail}" if f.detail else f.check for f in verdict.findings)
            yield REFUSAL[language], finish(REFUSAL[language], [], gen.model, verdict.reason, refusal_detail=detail, reply=raw, excerpts=first.excerpts, **weighed, **tokens)
            return
        # A claim supported only by a passage the reply does not cite is cited there too.
        text = said
        for n in sorted({p for p in draft.supporting if p is not None} - set(draft.cited)):
            text = citations.append_marker(text, n + 1)
        text, cites = citations.attach(text, quoted)
        yield text, finish(text, cites, gen.model, reply=raw, excerpts=first.excerpts, **weighed, **tokens)


def _reply(gen: Generator, p: Prompt, stop, timings: dict, started: float):
    """Stream one reply: yields ``(cleaned text so far, None)``, without talk about the
    passages as the final text will be, and returns ``(raw, read, pieces)``: ``read`` is
    the reply as the checks read it, its dates in hanja units written in the prompt's
    language (``numbers.hanja_dates``)."""
    raw, pieces = "", 0
    valid = set(range(1, len(p.passages) + 1))
    for piece in gen.stream(p, stop):
        timings.setdefault("first_token_ms", (time.perf_counter() - started) * 1000)
        pieces += 1
        raw += piece
        # Hold back text that may still turn out to be the refusal sentinel.
        if SENTINEL.startswith(raw.strip()[: len(SENTINEL)]) and len(raw.strip()) <= len(SENTINEL):
            continue
        if checks.is_refusal(raw):
            break
        yield source_talk.without_source_talk(citations.clean_markers(raw, valid)), None
    return raw, numbers.hanja_dates(raw, p.language), pieces
