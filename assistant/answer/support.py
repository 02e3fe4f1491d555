"""The one support test: everything an answer adds to the question (names, numbers,
content words) must stand in a sentence of a passage it cites, read with its context
(the document's title and section and the sentence before)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import PurePosixPath

from ..text import analysis, numbers as amounts
from ..text.language import detect_language
from ..text.lexicon import ABOUT, DATE_UNITS, MONTHS, NUMBER_WORDS, UNIT_WORDS
from ..types import Passage
from . import citations
from .prompt import SYSTEM

_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_FIGURE = re.compile(r"\d+(?:\.\d+)?")  # a number as ``numbers`` writes it: "2.34", "1600000"
_HANGUL_NAME = re.compile(r"[\uac00-\ud7a3]{2,}")
# Units of measure, abbreviated and spelled out: what a conversion in brackets follows.
_MEASURES = set(UNIT_WORDS) | set(UNIT_WORDS.values())
# A figure in a unit and a bracket after it that opens with a number ("2.4 m (7 ft 10 in)").
_BRACKETED = re.compile(r"(?<=\d)((?:\s*[^\W\d_]+\.?){1,2})\s*\(\s*\d[\d.,]*\s*[^\W\d_][^()]*\)")
# A number and the unit of a date that may follow it ("10월", "1774 년", "10여 년").
_DATED = re.compile(rf"(?<![\d.,])(\d+)(?![\d.,])(?:\s*(?:{ABOUT}\s*)?([{DATE_UNITS}]))?")
# An English sentence's first word is capitalized whatever it is ("However", "Yes").
_OPENING_WORD = re.compile(r"(?:^|[.!?]\s+)([A-Z][a-z]+)\b")
# Words the prompt itself supplies: an answer that talks about "Passage [1]" names nothing.
_PROMPT_WORDS = {t.lower() for t in analysis.key_terms(f"{SYSTEM} Passages Passage Question Answer Korean English")} | {"yes", "no"}


def numbers(text: str, spelled: bool = True) -> set[str]:
    """The numbers ``text`` states: in digits (without thousands separators), as English
    number words (``spelled``), native Korean ones ("두 가지") and month names, which a
    Korean answer writes as numbers. A number with units is its value alone: "1.6 million"
    states 1600000, not 1.6. Leading zeros are dropped."""
    text = citations.strip_markers(text)
    runs = amounts.scaled(text)
    found = {amounts.plain(s.value) for s in runs}
    rest = amounts.rewrite(text, runs, lambda s, run: " ")
    # "04" in "2008-04-03" is the 4 that "4월" and "April" state.
    found |= {re.sub(r"^0+(?=\d)", "", n.replace(",", "")) for n in _NUMBER.findall(rest)}
    found |= {str(n) for n in amounts.native(rest)}
    for word in re.findall(r"[A-Za-z]+", rest):
        found.add(MONTHS.get(word) or (NUMBER_WORDS.get(word.lower(), "") if spelled else ""))
    return found - {""}


def dated(text: str) -> set[tuple[str, str]]:
    """Each number of ``text`` with the date unit that follows it ("" for none): "10월" is
    ("10", "월")."""
    return {(m.group(1).lstrip("0") or "0", m.group(2) or "") for m in _DATED.finditer(citations.strip_markers(text))}


def _digits(value: float) -> str:
    """The significant digits of ``value``: 1050000 and 105000000 are both "105"."""
    return f"{value:.6f}".replace(".", "").strip("0")


def rescaled(reply: str, sources: list[str], language: str) -> str:
    """``reply`` with each figure of 1,000 or more that no source states, but whose digits
    are those of exactly one amount written with units in the sources, given that
    amount's value instead, as ``language`` writes it. A small model copies the digits of
    "105만" and gets the scale wrong ("105 million" for 1.05 million; "39,000" for "39만")."""
    runs = amounts.scaled(reply, hangul=False)
    rest = amounts.rewrite(reply, runs, lambda s, run: " " * len(run))
    plain = [amounts.Scaled(m.start(), m.end(), float(m.group().replace(",", "")), language)
             for m in re.finditer(r"(?<![\d.,])(?:\d{1,3}(?:,\d{3})+|\d{4,})(?!\d|[.,]\d)", rest)]
    figures = sorted((s for s in runs + plain if s.value >= 1000), key=lambda s: s.start)
    if not figures:  # most replies: the sources need not be read
        return reply
    text = " ".join(sources)
    stated = numbers(text)
    valued = {s.value for s in amounts.scaled(text, hangul=False) if s.value >= amounts.SMALL}

    def fixed(s: amounts.Scaled, run: str) -> str:
        same = [v for v in valued if _digits(v) == _digits(s.value)]
        return amounts.written(same[0], language) if len(same) == 1 and amounts.plain(s.value) not in stated else run

    out = amounts.rewrite(reply, figures, fixed)
    # "109 billion (10.9 billion)" became "10.9 billion (10.9 billion)".
    return re.sub(r"(\d[\d.,]*(?: ?[^\W\d_]+)?) ?\(\1\)", r"\1", out) if out != reply else reply


def _fold(term: str) -> str:
    """An English name as another text may write it: "RNNs" is "RNN", "Lua-based" is "Lua"."""
    head = term.split("-")[0] if re.search(r"-[a-z]", term) else term
    if re.fullmatch(r"[A-Z0-9]{2,}s", head) or (len(head) > 4 and head.endswith("s") and not head.endswith("ss")):
        return head[:-1]
    return head


def states(text: str, term: str) -> bool:
    """Whether ``text`` has the name or number ``term``: a number in any of its forms, a
    Hangul name as written, a Latin name as a whole word, folded (``_fold``) or, for a
    place, as its adjective (``_adjectives``)."""
    if _FIGURE.fullmatch(term):
        return term in numbers(text)
    if _HANGUL_NAME.fullmatch(term):
        return term in text
    return any(analysis.mentions(text, form) for form in (term, _fold(term), *_adjectives(term)))


def _adjectives(name: str) -> tuple[str, ...]:
    """The adjectives English makes of a place name ("Mexico": "Mexican", "Japan":
    "Japanese", "Germany": "German"), which a passage may write instead of the name."""
    if not re.fullmatch(r"[A-Z][a-z]{3,}", name):
        return ()
    stem = name[:-1] if name[-1] in "aeoy" else name
    forms = [stem + end for end in ("an", "ian", "ese")]
    if name.endswith("y"):
        forms.append(stem)  # "German"
    elif name.endswith("e"):
        forms.append(name + "an")  # "European"
    return tuple(forms)


def names(text: str, spelled: bool = True) -> set[str]:
    """The names and figures of ``text``: numbers (English number words only when
    ``spelled``), Latin-script names (not the prompt's own words, nor the capitalized word
    that opens an English sentence) and Hangul proper nouns."""
    plain = citations.strip_markers(text)
    openers = {m.group(1) for m in _OPENING_WORD.finditer(plain)} if detect_language(plain) == "en" else set()
    latin = {t for t in analysis.key_terms(plain) if not t.isdigit() and t not in openers and t.lower() not in _PROMPT_WORDS}
    hangul = {w for w in analysis.proper_nouns(plain) if _HANGUL_NAME.fullmatch(w)}
    return numbers(plain, spelled) | latin | hangul


@dataclass(frozen=True)
class Unit:
    """A sentence of a quoted passage and the context it is read with."""

    passage: int  # 0-based among the quoted passages
    sentence: str
    context: str  # document title, section and the sentence before
    language: str

    @property
    def text(self) -> str:
        return f"{self.context} {self.sentence}"

    @cached_property
    def words(self) -> frozenset[str]:
        """Its content words as claims' words are compared (``word``), read once."""
        return frozenset(folded(self.text))

    @cached_property
    def dates(self) -> frozenset[tuple[str, str]]:
        """Its numbers with the date unit after each (``dated``), read once."""
        return frozenset(dated(self.text))


def units(passages: list[Passage]) -> list[Unit]:
    out = []
    for n, p in enumerate(passages):
        c = p.chunk
        title = f"{PurePosixPath(c.doc_id).stem.replace('_', ' ')} {c.section}"
        language = detect_language(c.text)
        sentences = [c.text[s:e] for s, e in analysis.sentences(c.text)]
        for j, sentence in enumerate(sentences):
            out.append(Unit(n, sentence, f"{title} {sentences[j - 1] if j else ''}", language))
    return out


@dataclass(frozen=True)
class Claim:
    """One sentence of an answer: what it adds to the question, and the passages it cites."""

    text: str
    language: str
    names: frozenset[str]
    words: frozenset[str]
    cited: tuple[int, ...]  # 0-based
    dates: frozenset[tuple[str, str]] = frozenset()  # its new numbers followed by a date unit (``dated``)
    # Numbers it states that a supporting sentence need not: English number words, which
    # English spells in ordinary phrasing ("one of the", "the two cities") that a passage,
    # above all a Korean one, need not count, and a conversion's figures.
    loose: frozenset[str] = frozenset()


def without_conversions(text: str) -> str:
    """``text`` without the conversions in brackets after a measure ("2.4 metres (7 feet
    10 inches)" is "2.4 metres"): a conversion restates the figure before it, in units no
    passage need use; the figure itself is still checked. A bracket after anything other
    than a unit of measure may state a fact of its own, and is kept."""
    def kept(m: re.Match) -> str:
        return m.group(1) if word(m.group(1).split()[-1].strip(".")) in _MEASURES else m.group()

    return _BRACKETED.sub(kept, text)


def claims(answer: str, asked: str, cited: list[int]) -> list[Claim]:
    """The sentences of ``answer`` with what each adds to ``asked`` (the question, and for
    a follow-up the question it depends on). A sentence without a marker cites what the
    answer cites as a whole (``cited``, 0-based)."""
    asked_terms = set(analysis.terms(asked))
    out = []
    for s, e in analysis.sentences(answer):
        sentence = answer[s:e]
        plain = citations.strip_markers(sentence)
        text = without_conversions(plain)
        if not text.strip(" .。"):
            continue
        new_names = {t for t in names(text, spelled=False) if not states(asked, t)}
        loose = {t for t in numbers(plain) - new_names if not states(asked, t)}
        words = {word(w) for w in analysis.terms(text) if re.search(r"[^\W\d_]", w)} - {word(w) for w in asked_terms}
        words = {w for w in words if len(w) > 1}  # a counter or a letter ("년", "s") says nothing
        words -= {word(w) for w in new_names} | _PROMPT_WORDS
        own = [n - 1 for n in citations.parse_markers(sentence)]
        dates = frozenset((n, unit) for n, unit in dated(text) if unit and n in new_names)
        out.append(Claim(text, detect_language(text), frozenset(new_names), frozenset(words), tuple(own or cited), dates, frozenset(loose)))
    return out


def word(term: str) -> str:
    """A content word as compared: lower case, without punctuation, an English "-ed",
    "-ing", "-es" or "-s" ending folded ("finished", "finishing", "finishes" and "finish"
    are one word), a unit of measure spelled out ("km" is "kilometer") and spelled as in
    American English ("kilometre" is "kilometer")."""
    w = re.sub(r"[^\w-]", "", term.lower())
    w = UNIT_WORDS.get(w, w)
    w = re.sub(r"(?<=[a-z]{2}[b-df-hj-np-tv-z])re(s?)$", r"er\1", w)
    if re.fullmatch(r"[a-z-]{4,}", w):
        w = re.sub(r"(?:ing|ed|es|s)$", "", w) if len(w) > 4 else w
        # Search terms fold only "-s": "reaches" comes as "reache", "boxes" as "boxe".
        w = re.sub(r"(?<=ch|sh|ss|[a-z][xz])e$", "", w)
        w = re.sub(r"([b-df-hj-np-tv-z])\1$", r"\1", w)  # "dropped" -> "dropp" -> "drop"
    return w


def folded(text: str) -> set[str]:
    """The content words of ``text``, each as ``word`` folds it."""
    return {word(t) for t in analysis.terms(text)}


def checkable(claim: Claim, unit: Unit, loose: bool = False) -> set[str]:
    """The names of ``claim`` (with ``loose``, its loose numbers too) that ``unit`` could
    spell: across languages only numbers and, over an English passage, Latin names (a
    Korean answer keeps them or writes them in Hangul; an English answer romanizes a
    Korean name)."""
    names = claim.names | claim.loose if loose else claim.names
    if claim.language == unit.language:
        return set(names)
    return {t for t in names if _FIGURE.fullmatch(t) or (unit.language == "en" and not _HANGUL_NAME.fullmatch(t))}


def missing_words(claim: Claim, unit: Unit, exact: bool = False) -> set[str]:
    """The claim's content words the unit does not have (none across languages, where
    words cannot be compared). Unless ``exact``, a Hangul word the unit writes inside a
    longer one counts: Kiwi may split a compound noun in one sentence and keep it whole in
    another."""
    if claim.language != unit.language or not claim.words:
        return set()
    missing = claim.words - unit.words
    return missing if exact else {w for w in missing if not (_HANGUL_NAME.fullmatch(w) and w in unit.text)}


def misdated(claim: Claim, unit: Unit) -> set[str]:
    """The claim's numbers with a date unit that the unit writes only with other ones:
    "10년" read from "10월"."""
    if not claim.dates:  # most claims: the unit need not be read
        return set()
    return {f"{n}{u}" for n, u in claim.dates if (after := {w for m, w in unit.dates if m == n}) and not after & {u, ""}}


def supports(claim: Claim, unit: Unit, min_coverage: float, strict: bool = False) -> bool:
    """Every checkable name of the claim is in the unit (a number with a date unit not
    only with another one), and at least ``min_coverage`` of its content words, one word
    of rewording always allowed. ``strict``: its loose numbers too, and its words as
    written (``missing_words`` exact)."""
    if not all(states(unit.text, t) for t in checkable(claim, unit, loose=strict)) or misdated(claim, unit):
        return False
    return len(missing_words(claim, unit, exact=strict)) <= max(1, int((1 - min_coverage) * len(claim.words)))


def lacking(claim: Claim, all_units: list[Unit]) -> set[str]:
    """What the closest quoted sentence lacks of ``claim``: the names it does not state and
    the content words it does not have (a cited passage's sentences first)."""
    def gap(u: Unit) -> set[str]:
        return {t for t in checkable(claim, u) if not states(u.text, t)} | misdated(claim, u) | missing_words(claim, u)

    cited = [u for u in all_units if u.passage in claim.cited] or all_units
    return min((gap(u) for u in cited), key=len, default=set(claim.names | claim.words))


def supporting_unit(claim: Claim, all_units: list[Unit], min_coverage: float) -> Unit | None:
    """The quoted sentence that supports ``claim``: one that holds all it says (``supports``
    strict) before one that holds only what must be checked, so the evidence the confirm
    check reads is the fullest; in a cited passage first, else in another quoted passage
    (the answer then cites it too); None when none does."""
    cited = [u for u in all_units if u.passage in claim.cited]
    others = [u for u in all_units if u.passage not in claim.cited]
    return next((u for strict in (True, False) for u in cited + others if supports(claim, u, min_coverage, strict)), None)


def support(claim: Claim, all_units: list[Unit], min_coverage: float) -> int | None:
    """0-based quoted passage of the ``supporting_unit``, or None."""
    unit = supporting_unit(claim, all_units, min_coverage)
    return None if unit is None else unit.passage
