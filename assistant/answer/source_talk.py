"""What a reply says about the passages instead of about the question ("This is stated in
passage [2].", "According to passage [1], …", "… (from passage [3])", "It is mentioned in
[1].", "The passage states that …"), taken out with its citation markers kept. The model
was shown numbered passages and sometimes talks about them; a reader wants the answer and
its sources, and the support test would read such a sentence as a claim that no passage
makes."""

from __future__ import annotations

import re

from ..text import analysis
from ..text.lexicon import MARKER_AS_SOURCE, SOURCE_LEAD, SOURCE_WORDS
from . import citations
from .support import names

_MARKER = citations.MARKER
# A passage word next to a marker ("passage [2]", "[1] 번째 지문", "passages [1]에서"), or
# a marker read as the source ("mentioned in [1]").
_NAMED = re.compile(rf"(?:{SOURCE_WORDS})\W{{0,3}}{_MARKER}|{_MARKER}\s*\S{{0,3}}\s*(?:{SOURCE_WORDS})"
                    rf"|{MARKER_AS_SOURCE.replace('{m}', _MARKER)}", re.IGNORECASE)
_SOURCE = re.compile(SOURCE_WORDS, re.IGNORECASE)
_LEAD = re.compile(SOURCE_LEAD.replace("{m}", _MARKER), re.IGNORECASE)
# A sentence ends at its final punctuation and the markers after it (a point inside "1.6"
# or "U.S." does not end one).
_SENTENCE = re.compile(rf"(?:[^.!?。]|[.!?。](?![\s.!?。]|$|{_MARKER}))+(?:[.!?。]+(?:\s*{_MARKER})*|$)")
_END = re.compile(rf"[.!?。]+(?:\s*{_MARKER})*\s*$")
# A parenthesis, or a run up to a comma (not one inside a number or a marker).
_PART = re.compile(r"\s*\([^()]*\)|(?:\[[^\]]*\]|,(?=\d)|[^,()\[])+,?")
MOST_WORDS = 5  # a longer fragment that names a passage says more than where it stands


def talks(fragment: str) -> bool:
    """The fragment names a passage by its number and says nothing else: no name or
    figure, and at most ``MOST_WORDS`` other words."""
    if not _NAMED.search(fragment):
        return False
    rest = _SOURCE.sub(" ", citations.strip_markers(fragment))
    return not names(rest) and len(analysis.terms(rest)) <= MOST_WORDS


def _sentence(sentence: str) -> tuple[str, list[int]]:
    """The sentence without the fragments that only talk about the passages ("" when
    nothing else is left), and the markers those fragments held."""
    end = _END.search(sentence)
    body, tail = (sentence[: end.start()], sentence[end.start():]) if end else (sentence, "")
    lead = _LEAD.match(body)
    if lead:
        body = body[lead.end():]
    parts = [m.group(0) for m in _PART.finditer(body)]
    if "".join(parts) != body:  # an unmatched bracket: left as written
        return sentence, []
    talking = [talks(p) for p in parts]
    kept, moved = [], citations.parse_markers(lead.group(0)) if lead else []
    for part, talk in zip(parts, talking):
        if talk:
            moved += citations.parse_markers(part)
            if kept:  # "A, as stated in passage [1], B" -> "A B"
                kept[-1] = kept[-1].rstrip().rstrip(",")
        else:
            kept.append(part)
    if not moved and not lead:
        return sentence, []
    text = re.sub(r"\s{2,}", " ", "".join(kept)).strip().rstrip(",")
    if text and (lead or talking[0]):
        text = text[0].upper() + text[1:]
    return (text + tail if text else ""), moved


def _cite(text: str, markers: list[int]) -> str:
    for n in markers:
        if n not in citations.parse_markers(text):
            text = citations.append_marker(text, n)
    return text


def without_source_talk(reply: str) -> str:
    """``reply`` without its sentences and phrases that only say which passage states
    something; their markers go to the sentence they were in, else the one before (the
    one after, for the first). A reply that is nothing but such talk is left as it is."""
    # Most replies: nothing to read sentence by sentence.
    if not _NAMED.search(reply) and not _LEAD.search(reply):
        return reply
    sentences = [m.group(0).strip() for m in _SENTENCE.finditer(reply) if m.group(0).strip()]
    out: list[str] = []
    pending: list[int] = []
    for sentence in sentences:
        text, moved = _sentence(sentence)
        if text:
            out.append(_cite(text, pending + moved))
            pending = []
        elif out:
            out[-1] = _cite(out[-1], moved)
        else:
            pending += moved
    text = " ".join(out)
    return text if out and text != " ".join(sentences) else reply
