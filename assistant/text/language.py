"""Which language a text is in, for answering in the language asked."""

from __future__ import annotations

import re

_WORD = re.compile(r"[A-Za-z]+")
_HANGUL = re.compile(r"[\uac00-\ud7a3\u3131-\u318e]")


def detect_language(text: str) -> str:
    """'ko' when Hangul makes up a real share of the letters, else 'en'."""
    hangul = len(_HANGUL.findall(text))
    latin = sum(len(w) for w in _WORD.findall(text))
    return "ko" if hangul and hangul * 3 >= latin * 0.5 else "en"
