"""The Gradio web app: a streaming chat over the engine, with collapsible sources under
each answer, Korean or English interface text, and an ``/ask`` API endpoint."""

from __future__ import annotations

import html
import logging
import re
import threading
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import gradio as gr

from .answer.remote import GenerationError
from .conversations import LOCAL_USER, Conversation, ConversationError, Conversations
from .engine import Engine
from .ingest import SUPPORTED_SUFFIXES, IngestError
from .ingest.library import AddResult, LibraryError
from .pages import highlighted, source_href
from .types import BuildReport, Passage
from .ui_text import STAGES, TEXT, in_language
from .warmup import Startup

log = logging.getLogger(__name__)

LANG_CHOICES = [("한국어", "ko"), ("English", "en")]
EXAMPLES = [
    "Transformer 구조는 어떤 논문에서 소개되었나요?",
    "GPT-3는 GPT-2보다 얼마나 커졌나요?",
    "Which paper introduced the Transformer architecture?",
    "What is RLHF used for?",
]


# On a phone the chat shrinks so that the question box stays in view.
PHONE_CSS = "@media (max-width: 640px) { #chat { height: 42vh !important; max-height: 42vh !important; } }"


def startup_status(startup: Startup, lang: str) -> str:
    """One line on what start-up is doing, in the interface language."""
    t = TEXT[lang]
    if startup.error:
        return f"**{t['failed']}**: {html.escape(startup.error)}"
    if startup.ready.is_set():
        done, total = startup.prepared
        return f"✅ {t['ready']}" + (f" · {t['warming']} {done}/{total}" if done < total else "")
    stages = STAGES[lang]
    stage = min(startup.stage, len(stages) - 1)
    return f"⏳ {t['preparing']} ({stage + 1}/{len(stages)}): {stages[stage][0 if startup.first_time[stage] else 1]}…"



def sources_markdown(passages: list[Passage], cited: set[int], lang: str) -> str:
    """The passages the answer may cite, numbered as its markers are, escaped, each with its
    best-matching sentence highlighted and a link to it in its document; the ones the
    answer cites are marked."""
    t = TEXT[lang]
    parts = []
    for n, passage in enumerate(passages, 1):
        ch = passage.chunk
        body = highlighted(ch.text, passage.highlight[0] - ch.start, passage.highlight[1] - ch.start) if passage.highlight else html.escape(ch.text)
        head = html.escape(f"[{n}] {ch.location(t['paragraph'], t['page'])} · {ch.section}")
        mark = f" · {t['cited']}" if n in cited else ""
        href = html.escape(source_href(passage, lang))
        parts.append(f'<p><a href="{href}" target="_blank" rel="noopener noreferrer"><b>{head}</b></a>{mark}<br>{body}</p>')
    return "\n".join(parts)


def sources_message(passages: list[Passage], cited: set[int], lang: str) -> dict:
    """The collapsed Sources panel under an answer: shown once the passages are found,
    before the answer, and kept after a refusal."""
    return {
        "role": "assistant",
        "content": sources_markdown(passages, cited, lang),
        "metadata": {"title": f"📚 {TEXT[lang]['sources']} ({len(passages)})", "status": "done"},
    }


_MARKER = re.compile(r"\[(\d+)\]")
_LINKED = re.compile(r"\[\[(\d+)\]\]\([^)\s]*\)")


def linked(text: str, passages: list[Passage], lang: str) -> str:
    """An answer's ``[n]`` markers as links to the passages they name."""
    def link(m: re.Match) -> str:
        n = int(m.group(1))
        return f"[[{n}]]({source_href(passages[n - 1], lang)})" if 1 <= n <= len(passages) else m.group(0)

    return _MARKER.sub(link, text)


def unlinked(text: str) -> str:
    """``linked`` undone: the answer as the engine wrote it."""
    return _LINKED.sub(r"[\1]", text)


def message_text(content) -> str:
    """A chat message's text: Gradio 6 sends content as a list of typed parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, dict):
        content = [content]
    if isinstance(content, list):
        return "".join(p.get("text", "") if isinstance(p, dict) else str(p) for p in content)
    return ""


def history_for_engine(messages: list[dict]) -> list[dict]:
    """Plain user/assistant turns (source panels left out)."""
    return [
        {"role": m["role"], "content": unlinked(message_text(m.get("content")))}
        for m in messages
        if not m.get("metadata") and m.get("role") in ("user", "assistant") and message_text(m.get("content"))
    ]


def human_size(size: int) -> str:
    """1,234,567 -> "1.2 MB"."""
    for unit in ("B", "KB", "MB"):
        if size < 1024 or unit == "MB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return ""


def local_time(stamp: str | None) -> str:
    """An ISO UTC stamp as this machine's local time, to the minute."""
    if not stamp:
        return ""
    try:
        return datetime.fromisoformat(stamp).astimezone().strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return stamp


def status_text(status: str, lang: str) -> str:
    """A document's index status (and its reason) in the interface language."""
    word, sep, rest = status.partition(":") if status.startswith("skipped") else status.partition(" ")
    return TEXT[lang]["status"].get(word, word) + (sep if sep == ":" else " " if rest else "") + in_language(rest, lang)


def report_text(results: list[AddResult], report: BuildReport | None) -> str:
    """One line per file offered, then what the index build did, as plain text."""
    return "\n".join([r.describe() for r in results] + (report.lines() if report else []))


class Turns:
    """Per browser session: whether an answer is being written, and the questions sent
    meanwhile, answered in turn after it. Nothing is kept for an idle session."""

    def __init__(self):
        self._lock = threading.Lock()
        self._sessions: dict[str, dict] = {}

    def offer(self, session: str, question: str) -> bool:
        """True: answer ``question`` now; False: it waits its turn."""
        with self._lock:
            if session in self._sessions:
                self._sessions[session]["waiting"].append(question)
                return False
            self._sessions[session] = {"question": question, "waiting": [], "claimed": False, "stop": threading.Event()}
            return True

    def claim(self, session: str, question: str | None) -> threading.Event | None:
        """The turn ``offer`` let ``question`` through for, once: its stop event, which the
        answer that takes it names in ``next`` and ``end``. None for an answer event of an
        earlier send (blank, too long, queued) that runs only after this one was offered:
        its chat ends with another question, or none."""
        with self._lock:
            state = self._sessions.get(session)
            if state is None or state["claimed"] or state["question"] != question:
                return None
            state["claimed"] = True
            return state["stop"]

    def next(self, session: str, turn: threading.Event) -> str | None:
        """The next question waiting in ``turn``, or None (and the session is idle again).
        None too once ``turn`` was dropped (New chat, a conversation opened): a newer turn
        of the session is left alone."""
        with self._lock:
            if not self._holds(session, turn):
                return None
            state = self._sessions[session]
            if state["waiting"]:
                return state["waiting"].pop(0)
            del self._sessions[session]
            return None

    def busy(self, session: str) -> bool:
        with self._lock:
            return session in self._sessions

    def waiting(self, session: str) -> list[str]:
        with self._lock:
            return list(self._sessions.get(session, {}).get("waiting", []))

    def holds(self, session: str, turn: threading.Event) -> bool:
        """Whether ``turn`` is still the session's: not ended, nor dropped by a newer chat."""
        with self._lock:
            return self._holds(session, turn)

    def _holds(self, session: str, turn: threading.Event) -> bool:  # the lock held
        return self._sessions.get(session, {}).get("stop") is turn

    def end(self, session: str, turn: threading.Event | None = None) -> None:
        """Forget the session's turn; given ``turn``, only while it is still that one. An
        answer still writing it is told to stop."""
        with self._lock:
            if turn is None or self._holds(session, turn):
                state = self._sessions.pop(session, None)
                if state:
                    state["stop"].set()

    def stop(self, session: str) -> None:
        """End the answer being written; the questions waiting are dropped."""
        with self._lock:
            state = self._sessions.get(session)
            if state:
                state["waiting"].clear()
                state["stop"].set()


def queue_markdown(waiting: list[str], lang: str) -> str:
    """The questions waiting for the answer being written, escaped."""
    if not waiting:
        return ""
    return f"**{TEXT[lang]['queued']} ({len(waiting)})**: " + " · ".join(html.escape(q[:80]) for q in waiting)


class DocumentsPanel:
    """The Documents tab's actions: list, upload, delete and re-index, with progress.
    Searches keep using the previous index until a build is swapped in."""

    def __init__(self, engine: Engine, startup: Startup):
        self.engine = engine
        self.startup = startup

    def table(self, lang: str = "ko", rows: list | None = None):
        rows = self.engine.documents() if rows is None else rows
        value = [[r.name, r.type, human_size(r.size), r.chunks, local_time(r.indexed_at), status_text(r.status, lang)] for r in rows]
        return gr.update(value=value, headers=TEXT[lang]["doc_headers"])

    def refresh(self, lang: str):
        """The document table and the delete choices, from one look at the corpus."""
        rows = self.engine.documents()
        return self.table(lang, rows), gr.update(choices=[r.name for r in rows], value=[])

    def _progress(self, progress: gr.Progress, lang: str):
        return lambda done, total, what=None: progress((done, total), desc=what or TEXT[lang]["indexing"], unit="pages" if what else "sentences")

    def _run(self, lang: str, action) -> tuple:
        t = TEXT[lang]
        if not self.startup.wait():  # first start: models and index
            message = self.startup.error or t["not_ready"]
        else:
            try:
                message = action()
                self.startup.prepare_later()  # openings of new or changed passages
            except (LibraryError, IngestError) as exc:
                message = f"{t['error']}: {exc}"
        return (*self.refresh(lang), in_language(message, lang))

    def add(self, files: list | None, lang: str, progress=gr.Progress()):
        """Add uploaded files to the corpus and index them."""
        paths = [f if isinstance(f, str) else f.name for f in files or []]

        def action() -> str:
            if not paths:
                return TEXT[lang]["no_files"]
            results, report = self.engine.add_documents([Path(x) for x in paths], [Path(x).name for x in paths], progress=self._progress(progress, lang))
            return report_text(results, report)

        return (*self._run(lang, action), None)

    def remove(self, names: list[str] | None, lang: str, confirmed: bool = True, progress=gr.Progress()):
        """Delete documents and drop their chunks from the index (in the browser, once the
        user confirmed it)."""

        def action() -> str:
            if not names:
                return TEXT[lang]["nothing_selected"]
            if not confirmed:
                return TEXT[lang]["cancelled"]
            return report_text([], self.engine.remove_documents(list(names), progress=self._progress(progress, lang)))

        return self._run(lang, action)

    def reindex(self, lang: str, progress=gr.Progress()):
        """Bring the index in line with the corpus folder."""
        return self._run(lang, lambda: report_text([], self.engine.build_index(progress=self._progress(progress, lang))))

    def undo(self, lang: str, progress=gr.Progress()):
        """Put the documents of the latest deletion back and index them."""
        return self._run(lang, lambda: report_text([], self.engine.undo_remove(progress=self._progress(progress, lang))))

    def in_chat(self, lang: str) -> str:
        """Under the title, once more than one document is indexed: which ones answers use."""
        names = [r.name for r in self.engine.documents() if r.status.startswith("indexed")]
        if len(names) < 2:
            return ""
        shown = ", ".join(html.escape(n) for n in names[:6]) + (f" … (+{len(names) - 6})" if len(names) > 6 else "")
        return f"📄 {TEXT[lang]['in_chat']} ({len(names)}): {shown}"


def conversation_messages(conv: Conversation, lang: str) -> list[dict]:
    """A saved conversation as the chat showed it: questions, answers with their linked
    markers, and each answer's Sources panel."""
    out = []
    for turn in conv.turns:
        quoted = [Passage.from_dict(d) for d in turn.record.get("quoted", [])]
        out += [{"role": "user", "content": turn.question}, {"role": "assistant", "content": linked(turn.answer, quoted, lang) or "…"}]
        if quoted:
            out.append(sources_message(quoted, {c["n"] for c in turn.record.get("citations", [])}, lang))
    return out


def user_of(request: gr.Request) -> str:
    """Whose conversations a request may touch: the signed-in user, or the one local user."""
    return request.username or LOCAL_USER


def build_app(engine: Engine, startup: Startup | None = None, conversations: Conversations | None = None) -> gr.Blocks:
    startup = startup or Startup(engine).start()
    conversations = conversations or Conversations(engine.settings.conversations_path)
    panel = DocumentsPanel(engine, startup)
    turns = Turns()

    def respond(messages: list[dict], lang: str, current: str | None, request: gr.Request):
        """Answer the question just put into the chat, then each question sent meanwhile, in
        turn, saving each turn to the conversation (started by the first). A send that was
        queued, blank or refused leaves the chat as it is."""
        session, user = request.session_hash, user_of(request)
        asked = message_text(messages[-1]["content"]) if messages and messages[-1]["role"] == "user" else None
        stop = turns.claim(session, asked)
        if stop is None:
            yield gr.skip(), gr.skip(), gr.skip(), gr.skip()
            return
        t = TEXT[lang]
        if not startup.ready.is_set():  # asked during start-up: answered once ready
            yield messages + [{"role": "assistant", "content": t["waiting_ready"]}], gr.skip(), gr.skip(), gr.skip()
            if not startup.wait():
                turns.end(session, stop)
                yield messages + [{"role": "assistant", "content": startup.error or t["not_ready"]}], "", gr.skip(), gr.skip()
                return
        try:
            while True:
                question = message_text(messages[-1]["content"])
                saved = None
                for messages, saved in answer(messages, question, lang, stop):
                    # Dropped (New chat, another conversation): what it wrote stays out of
                    # the chat shown now, even where Gradio's cancel missed this event. Gradio
                    # sends a generator's last output again as its final one: make it a skip.
                    if not turns.holds(session, stop):
                        yield gr.skip(), gr.skip(), gr.skip(), gr.skip()
                        return
                    yield messages, gr.skip(), gr.skip(), gr.skip()
                if saved is not None:
                    current = save(user, current, question, saved)
                    yield gr.skip(), gr.skip(), current, listing(user, current, lang)
                following = turns.next(session, stop)
                if following is None:
                    yield gr.skip(), queue_markdown([], lang), gr.skip(), gr.skip()
                    return
                messages = messages + [{"role": "user", "content": following}]
                yield messages, queue_markdown(turns.waiting(session), lang), gr.skip(), gr.skip()
        finally:  # timed out or failed: the session may ask again
            turns.end(session, stop)

    def save(user: str, cid: str | None, question: str, turn: tuple) -> str:
        """Append a turn to conversation ``cid`` (to a new one when there is none yet, or it
        was deleted meanwhile); the conversation's id."""
        if cid:
            try:
                conversations.add_turn(user, cid, question, *turn)
                return cid
            except ConversationError:
                pass
        cid = conversations.start(user, question)
        conversations.add_turn(user, cid, question, *turn)
        return cid

    def answer(messages: list[dict], question: str, lang: str, stop: threading.Event | None = None):
        """``(messages with the answer to question, None)`` as the answer grows (the
        question is their last message, if the user's), then ``(messages, turn)`` with what
        to save: the answer as shown, its record, and whether it was stopped. An error bubble
        for a blank or over-long question (nothing to save). Once ``stop`` is set, the text
        written so far is the answer, marked as stopped."""
        t = TEXT[lang]
        asked = bool(messages) and messages[-1]["role"] == "user"
        history = history_for_engine(messages[:-1] if asked else messages)
        found: list[Passage] = []
        shown, done = "", None

        def bubbles(text: str) -> list[dict]:
            reply = [{"role": "assistant", "content": linked(text, found, lang) or "…"}]
            if done is not None and done.notice:
                reply.insert(0, {"role": "assistant", "content": done.notice, "metadata": {"title": "ℹ️"}})
            if found:
                reply.append(sources_message(found, {c.n for c in done.citations} if done else set(), lang))
            return reply

        try:
            for text, done in engine.answer_stream(question, history, stop=stop, on_sources=found.extend):
                if stop is not None and stop.is_set():
                    done = None
                    break
                shown = text
                yield messages + bubbles(shown), None
        except (ValueError, GenerationError) as exc:  # blank or over-long question; generation server down
            yield messages + [{"role": "assistant", "content": f"{t['error']}: {exc}"}], None
            return
        stopped = done is None and stop is not None and stop.is_set()
        if stopped:
            shown = f"{shown}\n\n*{t['stopped']}*"
        if done is not None or stopped:
            record = {**(done.to_dict() if done else {}), "quoted": [p.to_dict() for p in found]}
            yield messages + bubbles(shown), (shown, record, stopped)

    def chat(messages: list[dict], lang: str) -> Iterator[list[dict]]:
        """One chat turn over the API: Gradio messages in (the question last), the same
        messages with the answer and its Sources panel out, streamed."""
        if not startup.wait():
            raise gr.Error(startup.error or TEXT["en"]["not_ready"])
        question = message_text(messages[-1]["content"]) if messages and messages[-1]["role"] == "user" else ""
        for shown, _ in answer(messages, question, lang):
            yield shown

    def listing(user: str, current: str | None, lang: str):
        """The sidebar's list of the user's conversations, newest first."""
        saved = conversations.list(user)
        return gr.update(choices=[(c.title, c.id) for c in saved], value=current, info="" if saved else TEXT[lang]["no_conversations"])

    def add_user(text: str, messages: list[dict], lang: str, request: gr.Request):
        """Put a sent question into the chat, or, while an answer is being written, into the
        queue shown under the chat. A blank send (or one of HTML tags alone) does nothing; a
        too-long one stays in the box, with a message under the chat. Both are judged as the
        engine will, without pasted HTML."""
        text = (text or "").strip()
        asked = engine.asked(text)
        if not asked:
            return gr.skip(), gr.skip(), gr.skip(), gr.skip()
        limit = engine.settings.max_query_chars
        if len(asked) > limit:
            return gr.skip(), gr.skip(), "⚠️ " + TEXT[lang]["too_long"].format(n=len(asked), limit=limit), gr.skip()
        session = request.session_hash
        if not turns.offer(session, text):
            return "", gr.skip(), queue_markdown(turns.waiting(session), lang), gr.skip()
        return "", messages + [{"role": "user", "content": text}], "", gr.update(interactive=True, variant="stop")

    def settle(request: gr.Request):
        """Stop is enabled only while this session's answers are being written."""
        busy = turns.busy(request.session_hash)
        return gr.update(interactive=busy, variant="stop" if busy else "secondary")

    def halt(request: gr.Request):
        """Stop: the answer being written ends where it is (marked so), waiting questions
        are dropped."""
        turns.stop(request.session_hash)
        return "", gr.update(interactive=False, variant="secondary")

    def clear(request: gr.Request):
        """New chat: whatever was being answered is dropped; the next question starts a new
        saved conversation."""
        turns.end(request.session_hash)
        return [], "", gr.update(interactive=False, variant="secondary"), None, gr.update(value=None), "", ""

    def owned(request: gr.Request, lang: str, action):
        """``action(user)`` on one of the request's user's conversations; its failures
        (someone else's or no conversation, a blank title) as messages."""
        try:
            return action(user_of(request))
        except ConversationError:
            raise gr.Error(TEXT[lang]["no_conversation"]) from None
        except ValueError as exc:
            raise gr.Error(str(exc)) from None

    def export_link(cid: str | None, lang: str) -> str:
        return f"[⬇️ {TEXT[lang]['export']}](/conversations/{cid}.md?lang={lang})" if cid else ""

    def reopen(cid: str | None, lang: str, request: gr.Request):
        """Show a saved conversation; the next question continues it."""
        turns.end(request.session_hash)
        if not cid:
            return [], "", gr.update(interactive=False, variant="secondary"), None, "", ""
        conv = owned(request, lang, lambda user: conversations.get(user, cid))
        return conversation_messages(conv, lang), "", gr.update(interactive=False, variant="secondary"), cid, conv.title, export_link(cid, lang)

    def rename(cid: str | None, name: str, lang: str, request: gr.Request):
        if not cid:
            return gr.skip()
        owned(request, lang, lambda user: conversations.rename(user, cid, name))
        return listing(user_of(request), cid, lang)

    def forget(cid: str | None, lang: str, confirmed: bool, request: gr.Request):
        """Delete the conversation shown (once the user confirmed it)."""
        if not cid or not confirmed:
            return gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip()
        turns.end(request.session_hash)
        owned(request, lang, lambda user: conversations.delete(user, cid))
        return [], None, listing(user_of(request), None, lang), "", ""

    def turn_of(messages: list[dict], index) -> tuple[int, str]:
        """The turn a chat message (``index``, as a like or retry event gives it) belongs
        to: its number and question."""
        index = index if isinstance(index, int) else index[0]
        asked = [message_text(m["content"]) for m in messages[: index + 1] if m["role"] == "user"]
        return len(asked), asked[-1] if asked else ""

    def saved_turns(request: gr.Request, cid: str | None) -> tuple:
        return owned(request, "en", lambda user: conversations.get(user, cid)).turns if cid else ()

    def rate(data: gr.LikeData, messages: list[dict], cid: str | None, request: gr.Request):
        """Thumbs up or down on an answer, kept with its saved turn."""
        n, question = turn_of(messages, data.index)
        saved = saved_turns(request, cid)
        if 0 < n <= len(saved) and saved[n - 1].question == question:
            conversations.rate(user_of(request), cid, n, {True: 1, False: -1}.get(data.liked))

    def regenerate(data: gr.RetryData, messages: list[dict], cid: str | None, request: gr.Request):
        """Write the last answer again: the chat goes back to its question, the saved turn
        is dropped, and the question is answered as if just sent."""
        n, question = turn_of(messages, data.index)
        last = max((i for i, m in enumerate(messages) if m["role"] == "user"), default=-1)
        if not n or n != turn_of(messages, len(messages) - 1)[0] or not turns.offer(request.session_hash, question):
            return gr.skip(), gr.skip()
        saved = saved_turns(request, cid)
        if len(saved) == n and saved[-1].question == question:
            conversations.drop_last_turn(user_of(request), cid)
        return messages[: last + 1], gr.update(interactive=True, variant="stop")

    # The same operations for API clients, on conversation ids.
    def saved_conversations(request: gr.Request) -> list[dict]:
        """The signed-in user's saved conversations, newest first: `id`, `title`,
        `created`, `updated` (Unix seconds)."""
        return [{"id": c.id, "title": c.title, "created": c.created, "updated": c.updated} for c in conversations.list(user_of(request))]

    def saved_conversation(cid: str, request: gr.Request) -> dict:
        """One saved conversation with its turns (question, answer, record: the answer's
        citations, retrieved passages, timings and refusal)."""
        conv = owned(request, "en", lambda user: conversations.get(user, cid))
        return {"id": conv.id, "title": conv.title, "turns": [{"n": t.n, "question": t.question, "answer": t.answer, "stopped": t.stopped,
                                                              "feedback": t.feedback, "record": t.record} for t in conv.turns]}

    def rename_conversation(cid: str, title: str, request: gr.Request) -> str:
        """Rename a saved conversation; its new title."""
        owned(request, "en", lambda user: conversations.rename(user, cid, title))
        return conversations.get(user_of(request), cid).title

    def delete_conversation(cid: str, request: gr.Request) -> str:
        """Delete a saved conversation; its id."""
        owned(request, "en", lambda user: conversations.delete(user, cid))
        return cid

    def ask(question: str, history: list[dict] | None = None, generator: str | None = None) -> dict:
        """Answer a question from the documents. `history`: earlier turns as
        [{"role": "user"|"assistant", "content": "..."}]. Returns the answer with
        `answer`, `language`, `abstained`, `citations`, `retrieved`, `timings` and `model`."""
        if not startup.wait():
            raise gr.Error(startup.error or TEXT["en"]["not_ready"])
        try:
            return engine.ask(question, history or [], generator=generator or None).to_dict()
        except ValueError as exc:
            raise gr.Error(str(exc)) from None

    t = TEXT["ko"]
    with gr.Blocks(title="Document Q&A") as app:
        lang = gr.Radio(LANG_CHOICES, value="ko", label=t["language"])
        title = gr.Markdown(t["title"])
        status = gr.Markdown(startup_status(startup, "ko"))
        in_chat = gr.Markdown("")
        current = gr.State(None)  # the saved conversation shown, once it has a turn
        with gr.Sidebar(label=t["conversations"], open=False) as sidebar:
            new = gr.Button(t["new"], size="sm")
            saved = gr.Radio(choices=[], value=None, label=t["conversations"], info=t["no_conversations"])
            with gr.Row():
                chat_name = gr.Textbox(label=t["rename_to"], max_lines=1, scale=3)
                rename_btn = gr.Button(t["rename"], size="sm", scale=1)
            export = gr.Markdown("")
            forget_btn = gr.Button(t["delete_chat"], size="sm", variant="stop")
        with gr.Tab(t["chat"]) as chat_tab:
            chatbot = gr.Chatbot(label=t["chat"], height=520, sanitize_html=True, group_consecutive_messages=False, elem_id="chat")
            with gr.Row():
                box = gr.Textbox(label=t["question"], placeholder=t["placeholder"], show_label=False, scale=8, max_lines=6)
                send = gr.Button(t["send"], variant="primary", scale=1)
                stop = gr.Button(t["stop"], variant="secondary", interactive=False, scale=1)
            note = gr.Markdown("")  # questions waiting their turn, or why one was not sent
            examples = gr.Examples(EXAMPLES, inputs=box, label="예시 질문 · Example questions")
        with gr.Tab(t["documents"]) as docs_tab:
            table = gr.Dataframe(headers=t["doc_headers"], label=t["doc_table"], interactive=False, datatype="str", wrap=True)
            upload = gr.File(file_count="multiple", file_types=sorted(SUPPORTED_SUFFIXES), label=t["upload"])
            add = gr.Button(t["add"], variant="primary")
            with gr.Row():
                chosen = gr.Dropdown(choices=[], multiselect=True, label=t["select"], scale=4)
                delete = gr.Button(t["delete"], variant="stop", scale=1)
                reindex = gr.Button(t["reindex"], scale=1)
                undo = gr.Button(t["undo_delete"], scale=1)
            result = gr.Textbox(label=t["result"], lines=4, interactive=False)

        labelled = [
            (title, "value", "title"), (lang, "label", "language"), (chat_tab, "label", "chat"), (chatbot, "label", "chat"),
            (box, "placeholder", "placeholder"), (box, "label", "question"), (send, "value", "send"), (stop, "value", "stop"), (new, "value", "new"),
            (saved, "label", "conversations"), (chat_name, "label", "rename_to"), (rename_btn, "value", "rename"), (forget_btn, "value", "delete_chat"),
            (docs_tab, "label", "documents"), (table, "label", "doc_table"), (upload, "label", "upload"), (add, "value", "add"),
            (chosen, "label", "select"), (delete, "value", "delete"), (reindex, "value", "reindex"), (undo, "value", "undo_delete"), (result, "label", "result"),
        ]

        def relabel(lg: str):
            tl = TEXT[lg]
            return [gr.update(**{attr: tl[key]}) for _, attr, key in labelled] + [startup_status(startup, lg), panel.table(lg), panel.in_chat(lg)]

        timer = gr.Timer(1.0)

        def tick(lg: str):
            """The start-up line; the page stops asking once nothing is left to report."""
            return startup_status(startup, lg), gr.Timer(active=not startup.settled)

        timer.tick(tick, inputs=lang, outputs=[status, timer], show_progress="hidden", api_visibility="private")
        lang.change(relabel, inputs=lang, outputs=[c for c, _, _ in labelled] + [status, table, in_chat], api_visibility="private")

        def pick(evt: gr.SelectData):
            return EXAMPLES[evt.index if isinstance(evt.index, int) else evt.index[0]]

        # An example question is sent as it is picked.
        picked = examples.dataset.select(pick, None, box, queue=False, api_visibility="private")
        events = []
        sending = (add_user, [box, chatbot, lang], [box, chatbot, note, stop])
        for start, (first, inputs, outputs) in ((box.submit, sending), (send.click, sending), (picked.then, sending),
                                                (chatbot.retry, (regenerate, [chatbot, current], [chatbot, stop]))):
            ev = start(first, inputs, outputs, queue=False, api_visibility="private").then(
                respond, [chatbot, lang, current], [chatbot, note, current, saved], time_limit=engine.settings.request_timeout,
                concurrency_id="answer", concurrency_limit=engine.settings.answer_slots, api_visibility="private",
                trigger_mode="multiple",
            )
            ev.then(settle, None, stop, queue=False, api_visibility="private")
            events.append(ev)
        chatbot.like(rate, [chatbot, current], None, api_visibility="private")
        stop.click(halt, None, [note, stop], queue=False, api_visibility="private")
        for cleared in (new.click, chatbot.clear):
            cleared(clear, None, [chatbot, note, stop, current, saved, chat_name, export], cancels=events, api_visibility="private")
        # .input, not .change: the list also changes when a first turn saves a conversation.
        saved.input(reopen, [saved, lang], [chatbot, note, stop, current, chat_name, export], cancels=events, api_visibility="private")
        rename_btn.click(rename, [current, chat_name, lang], saved, api_visibility="private")
        chat_name.submit(rename, [current, chat_name, lang], saved, api_visibility="private")
        sure = gr.Checkbox(value=True, visible=False)
        ask_sure = f"(cid, lg, ok) => [cid, lg, !cid || confirm(lg === 'en' ? {TEXT['en']['confirm_delete_chat']!r} : {TEXT['ko']['confirm_delete_chat']!r})]"
        forget_btn.click(forget, [current, lang, sure], [chatbot, current, saved, chat_name, export], js=ask_sure,
                         cancels=events, api_visibility="private")
        def listed(lg: str, wide: bool, request: gr.Request):
            """The user's conversations; the list is open where there is room for it."""
            return listing(user_of(request), None, lg), gr.Sidebar(open=bool(wide))

        wide = gr.Checkbox(value=False, visible=False)
        app.load(listed, [lang, wide], [saved, sidebar], js="(lg) => [lg, window.innerWidth > 900]", api_visibility="private")
        current.change(export_link, [current, lang], export, api_visibility="private")
        for fn, name in ((saved_conversations, "conversations"), (saved_conversation, "conversation"),
                         (rename_conversation, "rename_conversation"), (delete_conversation, "delete_conversation")):
            gr.api(fn, api_name=name)
        gr.api(chat, api_name="chat", time_limit=engine.settings.request_timeout,
               concurrency_id="answer", concurrency_limit=engine.settings.answer_slots)

        docs_tab.select(panel.refresh, lang, [table, chosen], api_visibility="private")
        app.load(panel.refresh, lang, [table, chosen], api_visibility="private")
        confirmed = gr.Checkbox(value=True, visible=False)
        confirm = f"(names, lg, ok) => [names, lg, !(names && names.length) || confirm(lg === 'en' ? {TEXT['en']['confirm_delete']!r} : {TEXT['ko']['confirm_delete']!r})]"
        changes = [
            add.click(panel.add, [upload, lang], [table, chosen, result, upload], api_name="add_documents", concurrency_id="index"),
            delete.click(panel.remove, [chosen, lang, confirmed], [table, chosen, result], api_name="remove_documents",
                         concurrency_id="index", js=confirm),
            reindex.click(panel.reindex, lang, [table, chosen, result], api_name="reindex", concurrency_id="index"),
            undo.click(panel.undo, lang, [table, chosen, result], api_name="undo_delete", concurrency_id="index"),
        ]
        for change in changes:  # the prompt openings are prepared again: report it
            change.then(lambda: gr.Timer(active=True), None, timer, queue=False, api_visibility="private")
            change.then(panel.in_chat, lang, in_chat, queue=False, api_visibility="private")
        app.load(panel.in_chat, lang, in_chat, api_visibility="private")

        gr.api(ask, api_name="ask", time_limit=engine.settings.request_timeout,
               concurrency_id="answer", concurrency_limit=engine.settings.answer_slots)
    return app
