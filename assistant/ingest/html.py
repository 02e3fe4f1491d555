"""HTML: the main text only. Parsed, never rendered; scripts, navigation and page chrome dropped."""

from __future__ import annotations

import re

from .base import Unreadable
from .plain import BOMS, decode_text

# Elements whose content is never document text.
_HTML_DROP = {
    "script", "style", "noscript", "template", "iframe", "frame", "frameset", "object", "embed",
    "applet", "svg", "math", "canvas", "video", "audio", "map", "form", "input", "button",
    "select", "option", "textarea", "label", "nav", "aside", "menu", "dialog", "head",
}
# Page chrome, dropped unless it sits inside the article itself.
_HTML_CHROME = {"header", "footer"}
_HTML_DROP_ROLES = {"navigation", "banner", "complementary", "contentinfo", "search", "menu", "menubar", "dialog", "alert"}
# class/id words that mark advertising, navigation and other page furniture
_HTML_DROP_WORDS = {
    "ad", "ads", "adv", "advert", "adverts", "advertisement", "advertising", "adsense", "adslot", "adbox",
    "banner", "sponsor", "sponsored", "promo", "promotion", "popup", "modal", "cookie", "cookies",
    "consent", "newsletter", "subscribe", "subscription", "share", "sharing", "social", "sns",
    "related", "recommend", "recommended", "comment", "comments", "breadcrumb", "breadcrumbs",
    "sidebar", "menu", "nav", "navbar", "navigation", "footer", "masthead", "toolbar", "pagination",
    "pager", "skip", "widget", "gnb", "lnb", "snb",
}
_HTML_BLOCKS = {
    "p", "div", "section", "article", "main", "blockquote", "pre", "li", "dd", "dt", "figcaption",
    "caption", "address", "center", "details", "summary", "table", "ul", "ol", "dl", "figure",
    "h1", "h2", "h3", "h4", "h5", "h6", "hr", "body", "html", "header", "footer", "tr", "fieldset",
}
WHITESPACE = re.compile(r"[ \t\r\n\f\v\u00a0\u200b]+")
# In a pasted question an inline element's tags join the words around them ("<b>X</b>?"
# is "X?"); any other tag separates them.
_HTML_INLINE = {
    "a", "abbr", "b", "bdi", "bdo", "cite", "code", "data", "del", "dfn", "em", "font", "i", "ins",
    "kbd", "mark", "q", "s", "samp", "small", "span", "strong", "sub", "sup", "time", "u", "var",
}
_HTML_OTHER = {"br", "img", "wbr", "link", "meta", "title", "base", "source", "track", "picture", "th", "td", "thead", "tbody", "tfoot"}
# Only the names of HTML elements count as tags, so "x<y and y>z" stays as written.
_TAG_NAMES = "|".join(sorted(_HTML_DROP | _HTML_CHROME | _HTML_BLOCKS | _HTML_INLINE | _HTML_OTHER, key=len, reverse=True))
_MARKUP = re.compile(
    rf"<(script|style|template)\b[^>]*>.*?(?:</\1\s*>|$)|<!--.*?(?:-->|$)|</?({_TAG_NAMES})(?:[\s/][^<>]*)?>",
    re.IGNORECASE | re.DOTALL,
)
_WORDS = re.compile(r"[a-z0-9]+")


def _gap(m: re.Match) -> str:
    return "" if (m.group(2) or "").lower() in _HTML_INLINE else " "


def without_markup(text: str) -> str:
    """``text`` without HTML tags, comments, or scripts and styles with their content; as
    pasted from a web page into a question."""
    return WHITESPACE.sub(" ", _MARKUP.sub(_gap, text)).strip()


def _html_decode(raw: bytes) -> str:
    """The declared charset (``<meta charset>``) when there is one and it decodes, else
    the same detection as for text files."""
    if not any(raw.startswith(bom) for bom, _ in BOMS):
        m = re.search(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_\-:.]+)""", raw[:4096], re.IGNORECASE)
        if m:
            encoding = m.group(1).decode("ascii").lower()
            if encoding in {"euc-kr", "ks_c_5601-1987", "ksc5601", "x-windows-949", "windows-949", "uhc"}:
                encoding = "cp949"  # browsers treat every Korean label as CP949
            try:
                return raw.decode(encoding).replace("\r\n", "\n").replace("\r", "\n")
            except (LookupError, UnicodeDecodeError):
                pass
    return decode_text(raw)


def extract(raw: bytes) -> tuple[str, tuple[int, ...]]:
    import lxml.html
    from lxml import etree

    if not raw.strip():
        raise Unreadable("file is empty")
    source = _html_decode(raw)
    if not source.strip():
        raise Unreadable("file is empty")
    try:
        parser = lxml.html.HTMLParser(remove_comments=True, remove_pis=True, no_network=True, recover=True)
        root = lxml.html.document_fromstring(source, parser=parser)
    except (etree.ParserError, etree.XMLSyntaxError, ValueError) as exc:
        raise Unreadable(f"cannot parse the HTML ({exc})") from exc
    title_el = root.find(".//title")
    title = WHITESPACE.sub(" ", title_el.text_content()).strip() if title_el is not None else ""
    main = _main_content(root)
    blocks: list[str] = []
    _html_blocks(main, blocks, inside_article=main.tag in {"article", "main"})
    blocks = [b for b in blocks if b]
    if title and not any(b.startswith("# ") for b in blocks):
        blocks.insert(0, "# " + title)
    return "\n\n".join(blocks) + "\n", ()


def _dropped(el) -> bool:
    if el.tag in _HTML_DROP:
        return True
    attrib = el.attrib
    if "hidden" in attrib or attrib.get("aria-hidden", "").lower() == "true":
        return True
    if attrib.get("role", "").lower() in _HTML_DROP_ROLES:
        return True
    if re.search(r"display\s*:\s*none|visibility\s*:\s*hidden", attrib.get("style", ""), re.IGNORECASE):
        return True
    words = _WORDS.findall(f"{attrib.get('class', '')} {attrib.get('id', '')}".lower())
    if not any(w in _HTML_DROP_WORDS for w in words):
        return False
    # layout wrappers such as <div class="content has-sidebar"> hold the article itself
    return el.find(".//h1") is None and el.find(".//main") is None and el.find(".//article") is None


def _main_content(root):
    """The page's article: the <main> or <article> (the longest, if several), else the body."""
    elements = [el for el in root.iter() if isinstance(el.tag, str)]
    for wanted in (lambda el: el.tag == "main" or el.get("role", "").lower() == "main", lambda el: el.tag == "article"):
        candidates = [el for el in elements if wanted(el) and not any(_dropped(a) for a in (el, *el.iterancestors()))]
        if candidates:
            return max(candidates, key=lambda el: len(el.text_content()))
    body = root.find("body")
    return body if body is not None else root


def _html_blocks(el, out: list[str], inside_article: bool) -> None:
    """Append the blocks of ``el``: headings as ``# text``, list items as ``- text``,
    table rows as cells joined by `` | ``, other block elements as paragraphs."""
    tag = el.tag
    if tag in {"h1", "h2", "h3", "h4", "h5", "h6"}:
        text = _inline_text(el)
        if text:
            out.append("#" * int(tag[1]) + " " + text)
        return
    if tag == "table":
        rows = []
        for tr in el.xpath("./tr|./thead/tr|./tbody/tr|./tfoot/tr"):
            cells = [_inline_text(td) for td in tr if isinstance(td.tag, str) and td.tag in {"td", "th"} and not _dropped(td)]
            cells = [c for c in cells if c]
            if cells:
                rows.append(" | ".join(cells))
        if rows:
            out.append("\n".join(rows))
        return
    if tag == "pre":
        text = "\n".join(line.rstrip() for line in el.text_content().strip("\n").splitlines() if line.strip())
        if text.strip():
            out.append(text)
        return
    # A block element: collect runs of inline content between its child blocks.
    buffer: list[str] = []

    def flush() -> None:
        text = WHITESPACE.sub(" ", "".join(buffer)).strip()
        buffer.clear()
        if text:
            out.append(("- " + text) if tag == "li" else text)

    if el.text:
        buffer.append(el.text)
    for child in el:
        if not isinstance(child.tag, str):  # comments, processing instructions
            if child.tail:
                buffer.append(child.tail)
            continue
        if _dropped(child) or (child.tag in _HTML_CHROME and not inside_article):
            pass
        elif child.tag in _HTML_BLOCKS:
            flush()
            _html_blocks(child, out, inside_article or child.tag in {"article", "main"})
        elif child.tag == "br":
            buffer.append(" ")
        else:
            buffer.append(_inline_text(child, strip=False))
        if child.tail:
            buffer.append(child.tail)
    flush()


def _inline_text(el, strip: bool = True) -> str:
    """Text of an inline element, without the content of dropped descendants."""
    parts: list[str] = []
    if el.text:
        parts.append(el.text)
    for child in el:
        if isinstance(child.tag, str) and not _dropped(child):
            parts.append(" " if child.tag == "br" else _inline_text(child, strip=False))
            if child.tag in _HTML_BLOCKS:
                parts.append(" ")
        if child.tail:
            parts.append(child.tail)
    text = WHITESPACE.sub(" ", "".join(parts))
    return text.strip() if strip else text
