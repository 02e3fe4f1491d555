"""Korean-aware text analysis with Kiwi: sentence boundaries and search terms."""

from __future__ import annotations

import re
import threading
from functools import lru_cache

from .language import detect_language
from .lexicon.en import STOPWORDS

# Content-bearing morphemes: nouns, verb and adjective stems, roots, foreign words,
# numbers and hanja. Particles, endings and punctuation carry no topic.
_CONTENT_TAGS = ("NNG", "NNP", "NNB", "NR", "VV", "VA", "XR", "SL", "SN", "SH", "MAG", "W_HASHTAG")
_lock = threading.Lock()
_WORD = re.compile(r"[A-Za-z]+")


@lru_cache(maxsize=1)
def kiwi():
    from kiwipiepy import Kiwi

    return Kiwi()


# Kiwi splits Korean prose into sentences but leaves English prose whole. In an English
# span, a candidate break is end punctuation, space, then a capital (or a quote and a capital).
_EN_BREAK = re.compile(r"[.!?][\"'\u201d\u2019)\]]?\s+(?=[\"'\u201c\u2018(\[]?[A-Z])")
# ...unless the period ends an initial ("A. Smith"), a dotted acronym ("U.S.") or one of these.
_ABBREVIATION = re.compile(
    r"(?:\b[A-Za-z]|(?:[A-Za-z]\.)+[A-Za-z]|\b(?:Mr|Mrs|Ms|Dr|Prof|Sr|Jr|St|Mt|vs|etc|al|cf|No|Vol|Fig|Inc|Ltd|Co|Corp|Gen|Col|Lt|Rev|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec))$"
)


def sentences(text: str) -> list[tuple[int, int]]:
    """(start, end) offsets of the sentences of ``text``, Korean and English; they never
    cut a sentence."""
    with _lock:
        sents = kiwi().split_into_sents(text)
    spans = []
    for sent in sents:
        start = sent.start
        breaks = list(_EN_BREAK.finditer(text, sent.start, sent.end))
        # Korean spans are Kiwi's: "EPISODE Ⅱ. THE RED BULLET" in one is an album title.
        for m in breaks if breaks and detect_language(text[sent.start : sent.end]) == "en" else ():
            if m.group()[0] == "." and _ABBREVIATION.search(text, start, m.start()):
                continue
            end = m.start() + len(m.group().rstrip())
            spans.append((start, end))
            start = m.end()
        spans.append((start, sent.end))
    return spans


def _terms(tokens) -> list[str]:
    out = []
    for tok in tokens:
        if not tok.tag.startswith(_CONTENT_TAGS):
            continue
        form = tok.form.lower()
        if tok.tag == "SL":
            if form in STOPWORDS or len(form) < 2:
                continue
            form = _stem(form)
        out.append(form)
    return out


def is_stopword(word: str) -> bool:
    """An English function word, in any case."""
    return word.lower() in STOPWORDS


def _stem(word: str) -> str:
    """A light English plural/possessive folding, enough to match 'transformers' to 'transformer'."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


# Kiwi reads a Latin word followed by a period as one odd token, and sometimes splits it:
# "by Google." gives "G" + "oogle.", "met Armstrong." gives "Arms" + "trong.", so the last
# word of every English sentence was lost to search. A space before that period avoids it;
# "U.S." and "e.g." (one letter before each period) are left alone.
_WORD_PERIOD = re.compile(r"(?<=[A-Za-z]{2})\.")


def terms(text: str) -> list[str]:
    """Search terms of one text: lower-cased content morphemes."""
    with _lock:
        return _terms(kiwi().tokenize(_WORD_PERIOD.sub(" .", text)))


def terms_batch(texts: list[str]) -> list[list[str]]:
    with _lock:
        return [_terms(toks) for toks in kiwi().tokenize([_WORD_PERIOD.sub(" .", t) for t in texts])]


def proper_nouns(text: str) -> list[str]:
    """The proper nouns Kiwi finds in ``text`` ("알파고", "이순신")."""
    return nouns(text, ("NNP",))


def nouns(text: str, tags: tuple[str, ...] = ("NNP", "NNG")) -> list[str]:
    """The nouns Kiwi finds in ``text``, proper and common by default."""
    with _lock:
        return [t.form for t in kiwi().tokenize(text) if t.tag in tags]


_KEY_TERM = re.compile(r"(?<![A-Za-z0-9])(?:[A-Z][A-Za-z0-9-]*[A-Za-z0-9]|\d+)")


def key_terms(text: str) -> set[str]:
    """Latin-script names and numbers: what most plainly shows where an answer came from.
    A capitalized function word ("The", "In") opens a sentence; it names nothing."""
    return {t for t in _KEY_TERM.findall(text) if not is_stopword(t)}


def mentions(text: str, word: str) -> bool:
    """``word`` as a whole word of ``text``, ignoring case: "Ng" is not in "learning",
    "Google" is in "Google에서" (Hangul particles follow Latin names)."""
    return re.search(rf"(?<![a-z0-9]){re.escape(word.lower())}(?![a-z0-9])", text.lower()) is not None
