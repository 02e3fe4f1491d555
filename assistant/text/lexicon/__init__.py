"""Per-language words, joined into what the pipeline matches: each language's module
(``en``, ``ko``) holds its own words; nothing else in the pipeline names a word of a
language."""

from __future__ import annotations

import re

from . import en, ko

LANGUAGES = {"en": en, "ko": ko}
REFUSAL = {code: module.REFUSAL for code, module in LANGUAGES.items()}
LANGUAGE_NAME = {code: module.NAME for code, module in LANGUAGES.items()}
SENTINEL = "NOT_FOUND"


def _either(attribute: str) -> str:
    return "|".join(f"(?:{getattr(module, attribute)})" for module in LANGUAGES.values())


DECLINED = re.compile(rf"NOT[_ ]?FOUND|{_either('DECLINED')}", re.IGNORECASE)
QUESTION_WORDS = re.compile(_either("QUESTION_WORDS"), re.IGNORECASE)
SOURCE_WORDS = _either("SOURCE_WORDS")
MARKER_AS_SOURCE = _either("MARKER_AS_SOURCE")
SOURCE_LEAD = _either("SOURCE_LEAD")
INSTRUCTIONS = re.compile(_either("INSTRUCTIONS"), re.IGNORECASE | re.MULTILINE)
NUMBER_WORDS = en.NUMBER_WORDS
MONTHS = en.MONTHS
ORDINAL = ko.ORDINAL
HANGUL_DIGITS, COUNTERS, ABOUT, DATE_UNITS = ko.HANGUL_DIGITS, ko.COUNTERS, ko.ABOUT, ko.DATE_UNITS
HANJA_DATE_UNITS = ko.HANJA_DATE_UNITS
NATIVE_TENS, NATIVE_ONES, NATIVE_COUNTERS = ko.NATIVE_TENS, ko.NATIVE_ONES, ko.NATIVE_COUNTERS
UNIT_WORDS = en.UNIT_WORDS
