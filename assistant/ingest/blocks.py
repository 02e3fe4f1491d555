"""A document's text split into blank-line separated blocks with exact character offsets,
each classified as body text, a heading, the title, or page boilerplate (advertising and
call-to-action lines, bylines, disclaimers, footers) that must never be retrieved."""

from __future__ import annotations

import re

from ..types import Block

_BLOCK = re.compile(r"\S(?:.*\S)?(?:\n[ \t]*\S.*)*", re.MULTILINE)
_GAP = re.compile(r"\n[ \t]*\n")
_SENTENCE_END = re.compile(r"[.!?。…」』\"'”’)\]]\s*$|[다요죠까니]\s*$")
_MD_HEADING = re.compile(r"^#{1,6}\s+")

# Phrases that mark advertising, calls to action, bylines and disclaimers. Matched only in
# short blocks, so an essay that merely mentions a blog or a subscription is unaffected.
_BOILERPLATE = re.compile(
    "|".join(
        [
            r"문의\s*하기", r"알아보기", r"자세히\s*보기", r"바로\s*가기", r"구독\s*하기", r"신청\s*하기",
            r"다운로드\s*하기", r"무료\s*체험", r"상담\s*신청", r"광고", r"협찬", r"제휴",
            r"무단\s*(전재|복제|배포)", r"재배포\s*금지", r"저작권", r"기고", r"외부\s*전문가",
            r"운영\s*가이드라인", r"블로그에서는", r"뉴스레터",
            r"\blearn more\b", r"\bcontact (us|sales)\b", r"\bsign up\b", r"\bsubscribe\b",
            r"\bbook a demo\b", r"\brequest a demo\b", r"\bclick here\b", r"\bsponsored\b",
            r"\badvertisement\b", r"\ball rights reserved\b", r"\bcopyright\b", r"©",
            r"\bnewsletter\b", r"\bguest post\b", r"\bthe views expressed\b", r"\bdisclaimer\b",
        ]
    ),
    re.IGNORECASE,
)
_SHORT = 80  # a "line-like" block: no longer than this and a single line
_BOILERPLATE_MAX = 300


def split_blocks(text: str) -> list[tuple[int, int, int]]:
    """(start, end, blank lines before) of each blank-line separated block."""
    out = []
    prev_end = 0
    for m in _BLOCK.finditer(text):
        # A block must not span a blank line; _BLOCK allows single newlines only.
        blank = text.count("\n", prev_end, m.start()) - 1 if out else 0
        out.append((m.start(), m.end(), max(blank, 0)))
        prev_end = m.end()
    return out


def clean_heading(text: str) -> str:
    return _MD_HEADING.sub("", text).strip()


def _line_like(text: str) -> bool:
    return "\n" not in text and len(text) <= _SHORT


def classify(text: str, spans: list[tuple[int, int, int]]) -> list[Block]:
    """Label each block body, heading, title or boilerplate (see the module docstring)."""
    texts = [text[s:e] for s, e, _ in spans]
    kinds = ["body"] * len(texts)
    _mark_footer(texts, [gap for _, _, gap in spans], kinds)
    for i, t in enumerate(texts):
        if kinds[i] == "body" and _is_boilerplate(t):
            kinds[i] = "boilerplate"
        elif kinds[i] == "body" and _is_heading(t):
            kinds[i] = "heading"
    _demote_stray_headings(kinds)
    _mark_title(texts, kinds)
    return [Block(i + 1, s, e, kinds[i], texts[i]) for i, (s, e, _) in enumerate(spans)]


def _is_boilerplate(t: str) -> bool:
    footnote = t.lstrip().startswith(("*", "※", "†"))
    return len(t) <= _BOILERPLATE_MAX and bool(_BOILERPLATE.search(t)) and (_line_like(t) or footnote)


def _is_heading(t: str) -> bool:
    if "\n" in t:
        return False
    if _MD_HEADING.match(t):
        return True
    if len(t) > _SHORT:
        return False
    stripped = t.rstrip()
    if stripped.endswith("?"):
        return len(stripped) <= 40  # a question used as a section title
    return not _SENTENCE_END.search(stripped)


def _mark_footer(texts: list[str], gaps: list[int], kinds: list[str]) -> None:
    """Short trailing blocks set apart by a wider gap than the document uses elsewhere."""
    if len(texts) < 3:
        return
    usual = sorted(gaps[1:])[len(gaps[1:]) // 2]
    total = sum(map(len, texts))
    start = None
    for i in range(len(texts) - 1, 0, -1):
        if len(texts[i]) > _BOILERPLATE_MAX or sum(map(len, texts[i:])) >= 0.2 * total:
            break
        if gaps[i] > max(usual, 1):
            start = i
    if start is not None:
        kinds[start:] = ["boilerplate"] * (len(texts) - start)


def _demote_stray_headings(kinds: list[str]) -> None:
    """A heading introduces body text. Line-like blocks that do not (menus, ad slogans,
    captions left over from a web page) are not content."""
    n = len(kinds)
    for i in range(n):
        if kinds[i] != "heading":
            continue
        j = i + 1
        while j < n and kinds[j] == "heading":
            j += 1
        if j >= n or kinds[j] != "body":
            kinds[i] = "boilerplate"


def _mark_title(texts: list[str], kinds: list[str]) -> None:
    """The first block, when it is a heading, is the title; headings repeating it are
    duplicates and are not content either."""
    if not kinds or kinds[0] != "heading":
        return
    title = clean_heading(texts[0])
    for i, t in enumerate(texts):
        if kinds[i] == "heading" and clean_heading(t) == title:
            kinds[i] = "title"
