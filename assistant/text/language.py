"""Which language a text is in, for answering in the language asked."""

from __future__ import annotations

import re

_WORD = re.compile(r"[A-Za-z]+")
_HANGUL_LETTERS = r"\uac00-\ud7a3\u3131-\u318e"  # syllables and compatibility jamo
HANGUL = re.compile(rf"[{_HANGUL_LETTERS}]")  # one Hangul letter
_LETTER = re.compile(r"[^\W\d_]")
# Latin with its accented letters, and Hangul with its jamo: the scripts answered in.
_OURS = re.compile(rf"[A-Za-z\u00c0-\u024f\u1e00-\u1eff{_HANGUL_LETTERS}\u1100-\u11ff]")


def detect_language(text: str) -> str:
    """'ko' when Hangul makes up a real share of the letters, else 'en'."""
    hangul = len(HANGUL.findall(text))
    latin = sum(len(w) for w in _WORD.findall(text))
    return "ko" if hangul and hangul * 3 >= latin * 0.5 else "en"


def other_script(text: str) -> bool:
    """Whether most of ``text``'s letters are neither Latin nor Hangul (kana, Han, Cyrillic...):
    a question answered in English, since only Korean and English are, and a reply the
    checks cannot read. Han characters quoted in a Korean text stay a minority."""
    letters = _LETTER.findall(text)
    return len(letters) > 2 * len(_OURS.findall(text))


def written_in(text: str) -> str:
    """'ko' or 'en' (``detect_language``), or 'other' for a text mostly in another script."""
    return "other" if other_script(text) else detect_language(text)
