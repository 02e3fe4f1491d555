"""Answer-set evaluation: fact accuracy, refusals, language match, citation validity and
speed, over a JSONL answer set (see bench/data/essay_answers.jsonl)."""

from __future__ import annotations

import calendar
import json
import math
import re
import statistics
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from .answer import CHECK_NAMES
from .answer.citations import strip_markers
from .ingest import load_document
from .text.language import detect_language
from .types import Answer

DEFAULT_SET = Path(__file__).resolve().parent.parent / "bench" / "data" / "essay_answers.jsonl"


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """The Wilson score interval of the share ``k / n`` (95% for the default ``z``)."""
    if n == 0:
        return 0.0, 1.0
    p, zz = k / n, z * z
    centre, half = (p + zz / (2 * n)) / (1 + zz / n), z * math.sqrt(p * (1 - p) / n + zz / (4 * n * n)) / (1 + zz / n)
    return round(max(0.0, centre - half), 3), round(min(1.0, centre + half), 3)


def load_items(path: Path) -> list[dict]:
    items = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            try:
                items.append(json.loads(line))
            except ValueError as exc:
                raise ValueError(f"{path.name} line {n}: not JSON ({exc})") from None
    return items


_ARTICLE = re.compile(r"\b(?:a|an|the)\s+(?=\w)")  # "vitamin a" keeps its letter
# Any mark but one between two digits ("1,000" must not hold "10").
_MARK = re.compile(r"(?<!\d)[^\w\s]|[^\w\s](?!\d)")
_DASHES = str.maketrans(dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2015\u2212", "-"))  # "10–15" is "10-15"


def _fold(text: str) -> str:
    # As SQuAD's and KorQuAD's own scripts normalize: no case, punctuation or English
    # articles. Korean spacing varies ("5 가지" / "5가지"), so spaces do not count either.
    return "".join(_ARTICLE.sub(" ", _MARK.sub(" ", text.lower().translate(_DASHES))).split())


_ISO_DATE = re.compile(r"(?<!\d)(\d{4})-(\d{2})(?:-(\d{2}))?(?!\d)")


def _spelled_dates(text: str) -> str:
    """``text`` with each ISO date followed by the ways prose writes it: "2001-11-16" also
    as "16 November 2001", "November 16, 2001" and "2001년 11월 16일"; a month, "2001-11",
    as "November 2001" and "2001년 11월"."""
    def spelled(m: re.Match) -> str:
        year, month, day = m.group(1), int(m.group(2)), m.group(3) and int(m.group(3))
        if not (1 <= month <= 12 and (day is None or 1 <= day <= 31)):
            return m.group()  # no month: a range of years ("2013-14"), or not a date
        name = calendar.month_name[month]
        if day is None:  # a year and month
            return f"{m.group()} ({name} {year}; {year}년 {month}월)"
        return f"{m.group()} ({day} {name} {year}; {name} {day}, {year}; {year}년 {month}월 {day}일)"

    return _ISO_DATE.sub(spelled, text)


def facts_present(answer: str, facts: list[list[str]]) -> bool:
    """Every fact appears in the answer in one of its alternative forms (case, spacing,
    punctuation and English articles ignored; an ISO date read as prose writes it)."""
    text = _fold(_spelled_dates(answer))
    return all(any(_fold(alt) in text for alt in alternatives) for alternatives in facts)


@dataclass
class Scored:
    item: dict
    answer: Answer
    fact_ok: bool | None
    citation_ok: bool | None
    language_ok: bool
    fresh: Answer | None = None  # an "unrelated" item: the same question asked in a new chat

    @property
    def kind(self) -> str:
        return self.item.get("kind", "")

    @cached_property
    def retrieved_answer(self) -> bool:
        """Every fact stands in the passages the search returned: the model could have read
        the answer, so a miss after that is the reader's."""
        return facts_present(" ".join(p.chunk.text for p in self.answer.retrieved), self.item.get("facts", []))

    @cached_property
    def quoted_answer(self) -> bool:
        """Every fact stands in the excerpts the model read (``Answer.excerpts``): a miss
        after that is the reading's, not the excerpt's."""
        return facts_present(" ".join(self.answer.excerpts), self.item.get("facts", []))

    @property
    def as_fresh(self) -> bool | None:
        """For an "unrelated" item: answered (or refused) as in a new chat."""
        if self.fresh is None:
            return None
        return self.fresh.abstained == self.answer.abstained and (
            self.answer.abstained or facts_present(self.fresh.answer, self.item.get("facts", [])) == self.fact_ok
        )


@dataclass
class Report:
    rows: list[Scored] = field(default_factory=list)

    def samples(self) -> dict[str, list[bool]]:
        """The outcomes behind each share the report gives, by figure name."""
        answerable = [r for r in self.rows if r.item.get("answerable", True)]
        unanswerable = [r for r in self.rows if not r.item.get("answerable", True)]
        out = {}
        for lang in ("ko", "en"):
            out[f"fact_accuracy_{lang}"] = [r.fact_ok for r in answerable if r.item["lang"] == lang]
        out["fact_accuracy_en_about_ko"] = [r.fact_ok for r in answerable if r.kind == "en_about_ko"]
        out["fact_accuracy"] = [r.fact_ok for r in answerable]
        out["followup_accuracy"] = [r.fact_ok for r in answerable if r.kind == "followup"]
        out["unrelated_as_fresh"] = [r.as_fresh for r in self.rows]
        for lang in ("ko", "en"):
            out[f"refusal_rate_unanswerable_{lang}"] = [r.answer.abstained for r in unanswerable if r.item["lang"] == lang]
        out["refusal_rate_unanswerable"] = [r.answer.abstained for r in unanswerable]
        out["false_refusal_rate"] = [r.answer.abstained for r in answerable]
        # Where right answers were lost: in the search, in the excerpts cut from what it
        # found, or in the reading of those excerpts.
        out["answer_retrieved"] = [r.retrieved_answer for r in answerable]
        out["fact_accuracy_when_retrieved"] = [r.fact_ok for r in answerable if r.retrieved_answer]
        out["answer_quoted"] = [r.quoted_answer for r in answerable]
        out["fact_accuracy_when_quoted"] = [r.fact_ok for r in answerable if r.quoted_answer]
        out["language_match"] = [r.language_ok for r in self.rows]
        out["citation_validity"] = [r.citation_ok for r in answerable if not r.answer.abstained]
        return {name: [bool(v) for v in values if v is not None] for name, values in out.items()}

    def intervals(self) -> dict[str, tuple[float, float, int]]:
        """Each share's 95% interval (``wilson``) and how many outcomes it counts: on 30
        questions a share of 0.8 is known to about +-0.14, so a gap to a target that small
        is not yet a difference."""
        return {name: (*wilson(sum(v), len(v)), len(v)) for name, v in self.samples().items() if v}

    def metrics(self) -> dict:
        out = {"questions": len(self.rows)}
        out.update({name: round(sum(v) / len(v), 3) if v else None for name, v in self.samples().items()})
        generated = [r.answer for r in self.rows if r.answer.prompt_tokens]
        if generated:
            for timing in ("first_token_ms", "total_ms"):
                values = sorted(a.timings[timing] for a in generated)
                out[f"{timing}_median"] = round(statistics.median(values))
                out[f"{timing}_p95"] = round(values[int(0.95 * (len(values) - 1))])
            out["prompt_tokens_median"] = statistics.median(a.prompt_tokens for a in generated)
            rates = [
                a.completion_tokens / ((a.timings["total_ms"] - a.timings["first_token_ms"]) / 1000)
                for a in generated
                if a.completion_tokens and a.completion_tokens > 1 and a.timings["total_ms"] > a.timings["first_token_ms"]
            ]
            out["tokens_per_s_median"] = round(statistics.median(rates), 1) if rates else None
            confirm = [a.timings["confirm_ms"] for a in generated if "confirm_ms" in a.timings]
            if confirm:
                out["confirm_ms_median"] = round(statistics.median(confirm))
        return out

    def checks(self) -> list[tuple[str, int, int]]:
        """Per check: (name, refusals it decided, of which on answerable questions)."""
        table = []
        for name in CHECK_NAMES:
            refused = [r for r in self.rows if r.answer.refusal == name]
            table.append((name, len(refused), sum(1 for r in refused if r.item.get("answerable", True))))
        return table


def evaluate(items: list[dict], ask: Callable[[str, list[dict] | None], Answer], corpus_dir: Path, on_row=None) -> Report:
    """Ask every item and score it; ``ask(question, history)`` returns the Answer. An item
    with ``before`` is asked after that question in the same chat; an "unrelated" one is
    also asked in a new chat, to compare."""
    docs: dict[str, object] = {}
    report = Report()
    for item in items:
        history = item.get("history")
        if item.get("before"):
            first = ask(item["before"], None)
            history = [{"role": "user", "content": item["before"]}, {"role": "assistant", "content": first.answer}]
        answer = ask(item["question"], history)
        fresh = ask(item["question"], None) if item.get("kind") == "unrelated" else None
        answerable = item.get("answerable", True)
        fact_ok = facts_present(answer.answer, item.get("facts", [])) and not answer.abstained if answerable else None
        citation_ok = None
        if answerable and not answer.abstained and item.get("gold"):
            citation_ok = any(_paragraph_has(docs, corpus_dir, c.passage, item["gold"]) for c in answer.citations)
        language_ok = answer.language == item["lang"] and detect_language(strip_markers(answer.answer)) == item["lang"]
        row = Scored(item, answer, fact_ok, citation_ok, language_ok, fresh)
        report.rows.append(row)
        if on_row:
            on_row(row)
    return report


def _paragraph_has(docs: dict, corpus_dir: Path, passage, gold: str) -> bool:
    doc_id = passage.chunk.doc_id
    if doc_id not in docs:
        docs[doc_id] = load_document(corpus_dir / doc_id, doc_id)
    block = docs[doc_id].blocks[passage.chunk.paragraph - 1]
    return gold in block.text
