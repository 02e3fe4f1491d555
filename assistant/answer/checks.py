"""The verification stage: an ordered list of named checks, each a small function that
reads a ``Draft`` (the question, the quoted passages and the model's reply) and returns a
finding or nothing; one ``Verdict`` decides. A refused answer records the name of the check
that refused it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property

from ..text.language import written_in
from ..text.lexicon import DECLINED, QUESTION_WORDS
from ..types import Passage
from . import citations, followup
from .support import Claim, Unit, claims, folded, lacking, supporting_unit, units

EVIDENCE = "evidence"  # the pre-generation gate: no passage close enough to ask the model
MODEL = "model"  # the model itself declined


def is_refusal(text: str) -> bool:
    return bool(DECLINED.search(text))


def restated(reply: str, question: str, previous: str | None = None) -> str | None:
    """How ``reply`` restates instead of answering: "echo" when it gives a wh-question back
    (it uses nearly all of the question's content words and no other, except, for a
    follow-up, words of the ``previous`` question it depends on; an answer to "A or B?"
    drops one of them, a yes/no question may be answered in its words); "earlier" when a
    follow-up's reply answers the ``previous`` question again (it uses nearly all of that
    question's content words and none of those the follow-up adds). Words are compared as
    the support test folds them ("appeared" is "appear"); the reply is read once for both."""
    said, asked = folded(citations.strip_markers(reply)), folded(question)
    before = folded(previous) if previous else set()
    if QUESTION_WORDS.search(question) and said <= asked | before and len(asked - said) <= len(asked) // 5:
        return "echo"
    added = asked - before
    if before and added and not said & added and len(before - said) <= len(before) // 5:
        return "earlier"
    return None


def off_target(reply: str, question: str, language: str, previous: str | None = None) -> str | None:
    """Why a reply is worth asking again for: "language" when it is written in another
    language, else how it is ``restated`` ("echo", or "earlier" for a follow-up's reply
    that answers the question it depends on); a small model sometimes does each."""
    text = citations.strip_markers(reply)
    if not text or is_refusal(text):
        return None
    if written_in(text) != language:
        return "language"
    return restated(text, question, previous)


@dataclass
class Draft:
    """What the checks read: one reply of the model to one prompt."""

    question: str
    language: str
    reply: str
    quoted: list[Passage]
    min_coverage: float = 0.5
    judge: Callable[[str, str], float | None] | None = None  # P(text answers question), asked of the model
    min_confidence: float = 0.0
    across: float = 1.0  # closeness across languages is divided by this (``followup.closeness``)
    previous: str | None = None  # the earlier question a follow-up depends on
    confidence: float | None = None  # set by ``unconfirmed`` when it asks

    @property
    def asked(self) -> str:
        """The question and, for a follow-up, the question it depends on."""
        return f"{self.previous} {self.question}" if self.previous else self.question

    @cached_property
    def text(self) -> str:
        return citations.strip_markers(self.reply)

    @cached_property
    def cited(self) -> list[int]:
        """0-based quoted passages the reply cites."""
        return [n - 1 for n in citations.parse_markers(self.reply) if 1 <= n <= len(self.quoted)]

    @cached_property
    def units(self) -> list[Unit]:
        return units(self.quoted)

    @cached_property
    def claims(self) -> list[Claim]:
        return claims(self.reply, self.asked, self.cited or [0])

    @cached_property
    def supporting_units(self) -> list[Unit | None]:
        """For each claim, the quoted sentence that supports it, or None."""
        return [supporting_unit(c, self.units, self.min_coverage) for c in self.claims]

    @property
    def supporting(self) -> list[int | None]:
        """For each claim, the 0-based passage whose sentence supports it, or None."""
        return [None if u is None else u.passage for u in self.supporting_units]

    @cached_property
    def closeness(self) -> float:
        """How close the evidence the answer uses came to what was searched: the lowest
        ``followup.closeness`` of the passages whose sentences support its claims (of the
        quoted passages when none does). An answer taken from a passage the search ranked
        less close is weighed by that passage, not by the best one."""
        used = [self.quoted[n] for n in dict.fromkeys(self.supporting) if n is not None]
        if not used:
            return followup.closeness(self.quoted, self.language, self.across)
        return min(followup.closeness([p], self.language, self.across) for p in used)


@dataclass(frozen=True)
class Finding:
    check: str
    detail: str = ""


def declined(d: Draft) -> Finding | None:
    """The model said the passages do not hold the answer, or said nothing but markers."""
    if not d.text or is_refusal(d.reply):
        return Finding(MODEL, d.text[:80])
    return None


def wrong_language(d: Draft) -> Finding | None:
    said = written_in(d.text)
    return Finding("language", said) if said != d.language else None


def echo(d: Draft) -> Finding | None:
    how = restated(d.text, d.question, d.previous)
    return None if how is None else Finding("echo", "the earlier question" if how == "earlier" else "")


def unsupported(d: Draft) -> Finding | None:
    """A sentence of the answer adds a name, number or content words that no sentence of
    the quoted passages holds (``support``)."""
    missing = [c for c, s in zip(d.claims, d.supporting) if s is None]
    if not missing:
        return None
    return Finding("support", ", ".join(sorted(lacking(missing[0], d.units)))[:80])


def evidence(d: Draft) -> str:
    """The quoted sentences that support the answer's claims, in order, each once."""
    return " ".join(dict.fromkeys(u.sentence for u in d.supporting_units if u is not None))


def unconfirmed(d: Draft) -> Finding | None:
    """The model, shown only the sentences that support the answer and the question in a
    fresh prompt, finds that they do not contain the answer: the probability it gives
    "yes", times how close the evidence the answer uses came to the question
    (``Draft.closeness``), is below ``min_confidence``. A question whose premise the
    documents do not state is answered from the nearest sentence; read on its own, that
    sentence plainly does not answer it, and it is seldom as close to the question as a
    sentence that does."""
    if d.judge is None or d.min_confidence <= 0:
        return None
    p = d.judge(evidence(d), d.asked.strip())
    if p is None:
        return None
    d.confidence = score = p * d.closeness
    return Finding("confirm", f"{p:.2f} x {d.closeness:.2f}") if score < d.min_confidence else None


# In order; the first finding is the reason. ``unconfirmed`` costs a model call, so it runs
# only when the others found nothing.
CHECKS: tuple[Callable[[Draft], Finding | None], ...] = (declined, wrong_language, echo, unsupported)
COSTLY: tuple[Callable[[Draft], Finding | None], ...] = (unconfirmed,)
NAMES = (EVIDENCE, MODEL, "language", "echo", "support", "confirm")


@dataclass
class Verdict:
    findings: list[Finding] = field(default_factory=list)

    @classmethod
    def of(cls, draft: Draft, quoted: bool = False) -> "Verdict":
        """``quoted``: the reply is the passages' own sentence (the extractive backend), so
        only whether it says anything is checked."""
        findings = [f for check in (CHECKS[:1] if quoted else CHECKS) if (f := check(draft))]
        if not findings and not quoted:
            findings = [f for check in COSTLY if (f := check(draft))]
        return cls(findings)

    @property
    def refused(self) -> bool:
        return bool(self.findings)

    @property
    def reason(self) -> str | None:
        return self.findings[0].check if self.findings else None
