"""Numbers written with units ("2만 3천", "1.6 million"): their values, and the same values
written for a reader of the other language (a small model turns "160만" into 160,000 when
it answers in English); dates written with hanja units, in the answer's language."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from .lexicon import ABOUT, COUNTERS, DATE_UNITS, HANGUL_DIGITS, HANJA_DATE_UNITS, LANGUAGES, MONTHS, NATIVE_COUNTERS, NATIVE_ONES, NATIVE_TENS, ORDINAL

# unit -> (value, language); a unit below 10,000 ("천", "thousand") scales the digits before
# it, a larger one everything since the last larger one: "1억 2천만" is 1 x 억 + 2 x 천 x 만.
UNITS = {unit.lower(): (value, code) for code, module in LANGUAGES.items() for unit, value in module.NUMBER_UNITS.items()}
_UNIT = "|".join(sorted(UNITS, key=len, reverse=True))
_DIGITS = r"\d+(?:[.,]\d+)*"
SMALL = 10_000
# Each language's units from SMALL up, largest first: what ``written`` may use.
_LARGE = {code: sorted(((v, u) for u, (v, c) in UNITS.items() if c == code and v >= SMALL), reverse=True) for code in LANGUAGES}
_KO_UNITS = "".join(unit for unit, (_, code) in UNITS.items() if code == "ko")
_KO_LARGE = "".join(unit for _, unit in _LARGE["ko"])
# After a large Korean unit, digits without one are the rest of the amount ("3만 8,000" is
# 38,000), unless they are a date's ("3만 1997년").
_REST = rf"(?:(?<=[{_KO_LARGE}])\s*{_DIGITS}(?![\d.,])(?!\s*[{DATE_UNITS}]))?"
# "-odd" before a unit scales as the unit does: "300여만" is over 3 million, "1억 2천여만" 120 million.
_ODD = rf"(?:{ABOUT}\s*)?"
_RUN = re.compile(rf"(?<![\d.,])(?<!{ORDINAL}){_DIGITS}\s*{_ODD}(?:{_UNIT})(?![a-z])(?:\s*(?:{_DIGITS}\s*)?{_ODD}(?:{_UNIT})(?![a-z]))*{_REST}", re.IGNORECASE)
_TOKEN = re.compile(rf"{_DIGITS}|{_UNIT}", re.IGNORECASE)
# A number in Hangul: digits each before a unit ("삼천", "이십오만", a unit alone: "만여 명"),
# read only as a word of its own before a counter.
_HANGUL_RUN = re.compile(rf"(?<!\w)(?:[{HANGUL_DIGITS}]?[{_KO_UNITS}])+[{HANGUL_DIGITS}]?(?=\s*(?:{ABOUT}\s*)?(?:{COUNTERS}))")
_AS_DIGITS = str.maketrans(HANGUL_DIGITS, "123456789")
# A date with hanja units: a year with its month and day, or a month with its day; not a
# decade ("1950年代") or another word the units begin.
_Y, _M, _D = HANJA_DATE_UNITS
_HANJA_DATE = re.compile(
    rf"(?<![\d.,])(?:(\d{{1,4}})\s*{_Y}(?:\s*(\d{{1,2}})\s*{_M}(?:\s*(\d{{1,2}})\s*{_D})?)?|(\d{{1,2}})\s*{_M}(?:\s*(\d{{1,2}})\s*{_D})?)(?![\u4e00-\u9fff])"
)
_MONTH_NAME = {int(n): name for name, n in sorted(MONTHS.items(), key=lambda kv: len(kv[0]))}  # the full name last
# A one-syllable number is read only when a space parts it from its counter: "세대" is a
# generation, "세 대" three cars.
_NATIVE = re.compile(rf"(?<!\w)(?=\S)({'|'.join(NATIVE_TENS)})?({'|'.join(NATIVE_ONES)})?(\s*)(?=(?:{COUNTERS}|{NATIVE_COUNTERS}))")


@dataclass(frozen=True)
class Scaled:
    start: int
    end: int
    value: float
    language: str  # whose units it is written in


def _read(run: str) -> tuple[float, str]:
    """A run's value and the language of its (last) unit."""
    total = group = 0.0
    term: float | None = None
    language = ""
    for token in _TOKEN.findall(run):
        if token[0].isdigit():
            group += term or 0.0
            term = float(token.replace(",", ""))
            continue
        unit, language = UNITS[token.lower()]
        if unit < SMALL:
            group += (1.0 if term is None else term) * unit
        else:
            total += ((group + (term or 0.0)) or 1.0) * unit  # a unit alone is one of it: "만"
            group = 0.0
        term = None
    return total + group + (term or 0.0), language


def scaled(text: str, hangul: bool = True) -> list[Scaled]:
    """Each run of numbers with units in ``text``, with its value; ``hangul``: numbers
    written in Hangul too."""
    runs = [Scaled(m.start(), m.end(), *_read(m.group())) for m in _RUN.finditer(text)]
    if not hangul:
        return runs
    spoken = [Scaled(m.start(), m.end(), *_read(m.group().translate(_AS_DIGITS))) for m in _HANGUL_RUN.finditer(text)]
    return sorted(runs + [w for w in spoken if not any(r.start < w.end and w.start < r.end for r in runs)], key=lambda s: s.start)


def native(text: str) -> list[int]:
    """The numbers ``text`` writes as native Korean words before a counter: "두 가지" is 2,
    "열두 명" 12 (a small model writes "two" for "두")."""
    found = []
    for m in _NATIVE.finditer(text):
        tens, ones, gap = m.groups()
        if (tens or ones) and (gap or len((tens or "") + (ones or "")) > 1):
            found.append(NATIVE_TENS.get(tens or "", 0) + NATIVE_ONES.get(ones or "", 0))
    return found


def plain(value: float) -> str:
    """``value`` in digits, without separators: "1600000"."""
    return str(int(value)) if value == int(value) else str(value)


def written(value: float, language: str) -> str:
    """``value`` as a reader of ``language`` writes it: with the largest of its units from
    10,000 up that fits ("1.6 million", "160만"), or in digits with separators ("23,000")."""
    for size, unit in _LARGE[language]:
        if value >= size and abs(value / size * 1000 - round(value / size * 1000)) < 1e-6:
            amount = f"{value / size:.3f}".rstrip("0").rstrip(".")
            return f"{amount} {unit}" if unit.isascii() else f"{amount}{unit}"
    return f"{int(value):,}" if value == int(value) else str(value)


def rewrite(text: str, runs: list[Scaled], each: Callable[[Scaled, str], str]) -> str:
    """``text`` with each of its ``runs`` (``scaled(text)``) replaced by ``each(run, as written)``."""
    out, at = [], 0
    for s in runs:
        out += [text[at : s.start], each(s, text[s.start : s.end])]
        at = s.end
    return "".join(out) + text[at:]


def with_values(text: str, language: str) -> str:
    """``text`` with each number written in another language's units followed by its value
    as a reader of ``language`` writes it: "160만(1.6 million)", "백만(1 million)개" for an
    English reader. A unit alone ("천여 명", "만여 명") is left as written: annotated
    ("천(1,000)여"), its value was copied into answers about the numbers beside it."""
    runs = [s for s in scaled(text) if s.end - s.start > 1]  # a unit alone is one syllable
    return rewrite(text, runs, lambda s, run: run if s.language == language else f"{run}({written(s.value, language)})")


def hanja_dates(text: str, language: str) -> str:
    """``text`` with each date written with hanja units ("1753年4月", which a model trained
    on much Chinese text writes for a Korean passage's "1753년 4월") as ``language`` writes
    it: "1753년 4월" in Korean, "April 1753" in English."""
    def written(m: re.Match) -> str:
        year, month, day = (m.group(1), m.group(2), m.group(3)) if m.group(1) else (None, m.group(4), m.group(5))
        if month and not 1 <= int(month) <= 12:
            return m.group()
        if language == "ko":
            return " ".join(f"{n}{unit}" for n, unit in zip((year, month, day), DATE_UNITS) if n)
        name = _MONTH_NAME[int(month)] if month else ""
        if day:
            return f"{name} {int(day)}, {year}" if year else f"{name} {int(day)}"
        return " ".join(x for x in (name, year) if x)

    return _HANJA_DATE.sub(written, text) if _Y in text or _M in text else text
