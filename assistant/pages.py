"""The pages the chat links to: a cited source (a PDF opened at its page; any other
document's text with the cited span highlighted and scrolled into view) and a saved
conversation as Markdown. Only documents the corpus scan lists are served (no paths, no
``..``, no symbolic links out of the corpus: anything else is 404), and only to the
signed-in user when the app has a login (401 otherwise)."""

from __future__ import annotations

import functools
import hashlib
import html
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, PlainTextResponse

from .conversations import ConversationError, Conversations, to_markdown
from .engine import Engine
from .ingest import IngestError, extract
from .ingest.ocr import OcrConfig
from .types import Passage
from .ui_text import TEXT

# Nothing on a source page runs or loads: a document's text is a stranger's.
HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
STYLE = (
    "body{font:16px/1.65 system-ui,sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem;color:#222}"
    "main{white-space:pre-wrap}mark{background:#ffe066;padding:0 .1em;scroll-margin-top:25vh}.note{background:#fff4e5;padding:.6em .8em}"
)


def span_key(text: str) -> str:
    """A short fingerprint of a cited span: tells the page whether the document changed."""
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def highlighted(text: str, start: int, end: int, mark: str = "<mark>") -> str:
    """``text`` escaped, with ``start:end`` inside ``mark`` (an opening ``<mark …>`` tag)."""
    return f"{html.escape(text[:start])}{mark}{html.escape(text[start:end])}</mark>{html.escape(text[end:])}"


def source_href(passage: Passage, lang: str = "ko") -> str:
    """Where a citation of ``passage`` leads: a PDF at its page, any other document's
    text at the passage (``lang``: the language of what the page may have to say)."""
    c = passage.chunk
    name = quote(c.doc_id)
    if c.page and c.doc_id.lower().endswith(".pdf"):
        return f"/source/file/{name}?lang={lang}#page={c.page}"
    return f"/source/text/{name}?start={c.start}&end={c.end}&key={span_key(c.text)}&lang={lang}#cited"


@functools.lru_cache(maxsize=8)
def _document_text(path: str, stamp: tuple[int, int], ocr: OcrConfig) -> str:
    """The text chunk offsets refer to (``Document.text`` is the extracted text)."""
    return extract(Path(path), ocr).text


def router(engine: Engine, conversations: Conversations, user_of: Callable[[Request], str | None]) -> APIRouter:
    """The routes; ``user_of`` names the request's signed-in user (None: not signed in)."""
    routes = APIRouter()

    def page(lang: str, title: str, body: str, status: int = 200) -> HTMLResponse:
        doc = f'<!doctype html><html lang="{lang}"><meta charset="utf-8"><title>{html.escape(title)}</title><style>{STYLE}</style>{body}</html>'
        return HTMLResponse(doc, status_code=status, headers=HEADERS)

    def signed_in(request: Request) -> str:
        user = user_of(request)
        if user is None:
            raise HTTPException(401, TEXT["en"]["login_needed"])
        return user

    def corpus_file(name: str) -> Path | None:
        return engine.library.files().get(name)

    def removed(name: str, lang: str) -> HTMLResponse:
        t = TEXT.get(lang, TEXT["ko"])
        return page(lang, name, f'<p class="note">{html.escape(t["source_removed"].format(name=name))}</p>', 404)

    @routes.get("/source/file/{name:path}")
    def original(name: str, request: Request, lang: str = "ko"):
        """A PDF of the corpus as it is, for the browser's viewer (``#page=N``)."""
        signed_in(request)
        path = corpus_file(name)
        if path is None or path.suffix.lower() != ".pdf":
            return removed(name, lang)
        return FileResponse(path, media_type="application/pdf", content_disposition_type="inline", headers=HEADERS | {"Content-Security-Policy": "default-src 'none'"})

    @routes.get("/source/text/{name:path}")
    def text(name: str, request: Request, start: int = 0, end: int = 0, key: str = "", lang: str = "ko"):
        """A document's text, the span ``start:end`` highlighted (``#cited``)."""
        signed_in(request)
        t = TEXT.get(lang, TEXT["ko"])
        path = corpus_file(name)
        if path is None:
            return removed(name, lang)
        try:
            stat = path.stat()
            body = _document_text(str(path), (stat.st_mtime_ns, stat.st_size), engine.library.ocr)
        except IngestError as exc:
            return page(lang, name, f'<p class="note">{html.escape(t["source_unreadable"].format(name=name, reason=exc))}</p>', 422)
        start, end = max(0, min(start, len(body))), max(0, min(end, len(body)))
        head = f"<h1>{html.escape(name)}</h1>"
        if key and span_key(body[start:end]) != key:
            return page(lang, name, f'{head}<p class="note">{html.escape(t["source_changed"])}</p><main>{html.escape(body)}</main>')
        cited = highlighted(body, start, end, '<mark id="cited">')
        return page(lang, name, f"{head}<main>{cited}</main>")

    @routes.get("/conversations/{cid}.md")
    def export(cid: str, request: Request, lang: str = "ko"):
        """A saved conversation of the signed-in user as Markdown (404 for anyone else's)."""
        user = signed_in(request)
        t = TEXT.get(lang, TEXT["ko"])
        try:
            conv = conversations.get(user, cid)
        except ConversationError:
            raise HTTPException(404, "no such conversation") from None
        return PlainTextResponse(
            to_markdown(conv, t["sources"], t["paragraph"], t["page"]),
            media_type="text/markdown; charset=utf-8",
            headers={"Content-Disposition": f"attachment; filename=conversation-{cid[:8]}.md", **HEADERS},
        )

    return routes
