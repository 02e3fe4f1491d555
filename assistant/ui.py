"""The Gradio web app: a streaming chat over the engine, with collapsible sources under
each answer, Korean or English interface text, and an ``/ask`` API endpoint."""

from __future__ import annotations

import html
import logging
import threading
from datetime import datetime
from collections.abc import Iterator
from pathlib import Path

import gradio as gr

from .answer.remote import GenerationError
from .engine import Engine
from .ingest import SUPPORTED_SUFFIXES, IngestError
from .ingest.library import AddResult, LibraryError
from .types import Answer, BuildReport, Passage
from .warmup import Startup

log = logging.getLogger(__name__)

TEXT = {
    "ko": {
        "title": "## 문서 기반 질의응답\n문서에 근거해 답하고, 사용한 문단을 출처로 보여 줍니다. 한국어나 영어로 물어보세요.",
        "language": "화면 언어",
        "chat": "대화",
        "placeholder": "질문을 입력하세요 (예: BERT는 누가 발표했나요?)",
        "question": "질문",
        "send": "보내기",
        "stop": "중지",
        "new": "새 대화",
        "sources": "출처",
        "cited": "인용됨",
        "paragraph": "문단",
        "page": "쪽",
        "preparing": "준비 중",
        "ready": "준비 완료",
        "warming": "빠른 답변 준비 중",
        "failed": "준비 실패",
        "not_ready": "아직 준비 중입니다. 잠시 후 다시 시도해 주세요.",
        "waiting_ready": "준비가 끝나는 대로 답합니다…",
        "stopped": "⏹ 중지됨",
        "too_long": "질문이 너무 깁니다: {n}자 (최대 {limit}자). 줄여서 다시 보내 주세요.",
        "queued": "대기 중인 질문",
        "confirm_delete": "고른 문서를 삭제할까요? 색인에서도 빠집니다.",
        "cancelled": "삭제를 취소했습니다.",
        "error": "오류",
        "documents": "문서",
        "doc_table": "색인된 문서",
        "doc_headers": ["이름", "형식", "크기", "청크", "색인 시각", "상태"],
        "status": {"indexed": "색인됨", "pending": "색인 대기", "skipped": "건너뜀"},
        "upload": "파일 올리기 (여러 개 가능: .txt .md .html .pdf .docx .hwpx .hwp, 스캔·이미지는 OCR)",
        "add": "추가하고 색인",
        "select": "삭제할 문서",
        "delete": "삭제",
        "reindex": "다시 색인",
        "indexing": "색인 중",
        "no_files": "올릴 파일을 고르세요.",
        "nothing_selected": "삭제할 문서를 고르세요.",
        "result": "결과",
    },
    "en": {
        "title": "## Document Q&A\nAnswers grounded in the documents, with the paragraphs they used as sources. Ask in Korean or English.",
        "language": "Interface language",
        "chat": "Chat",
        "placeholder": "Ask a question (e.g. Who released BERT?)",
        "question": "Question",
        "send": "Send",
        "stop": "Stop",
        "new": "New chat",
        "sources": "Sources",
        "cited": "cited",
        "paragraph": "paragraph",
        "page": "page",
        "preparing": "Preparing",
        "ready": "Ready",
        "warming": "preparing faster answers",
        "failed": "Start-up failed",
        "not_ready": "Still getting ready. Please try again in a moment.",
        "waiting_ready": "Answering as soon as start-up is done…",
        "stopped": "⏹ stopped",
        "too_long": "The question is too long: {n} characters (at most {limit}). Please shorten it and send it again.",
        "queued": "Waiting questions",
        "confirm_delete": "Delete the chosen documents? They also leave the index.",
        "cancelled": "Deletion cancelled.",
        "error": "Error",
        "documents": "Documents",
        "doc_table": "Indexed documents",
        "doc_headers": ["Name", "Type", "Size", "Chunks", "Indexed at", "Status"],
        "status": {"indexed": "indexed", "pending": "waiting to be indexed", "skipped": "skipped"},
        "upload": "Upload files (several at once: .txt .md .html .pdf .docx .hwpx .hwp; scans and images via OCR)",
        "add": "Add and index",
        "select": "Documents to delete",
        "delete": "Delete",
        "reindex": "Re-index",
        "indexing": "Indexing",
        "no_files": "Choose files to upload.",
        "nothing_selected": "Choose documents to delete.",
        "result": "Result",
    },
}
LANG_CHOICES = [("한국어", "ko"), ("English", "en")]
EXAMPLES = [
    "Transformer 구조는 어떤 논문에서 소개되었나요?",
    "GPT-3는 GPT-2보다 얼마나 커졌나요?",
    "Which paper introduced the Transformer architecture?",
    "What is RLHF used for?",
]


# On a phone the chat shrinks so that the question box stays in view.
PHONE_CSS = "@media (max-width: 640px) { #chat { height: 42vh !important; max-height: 42vh !important; } }"

STAGES = {  # per start-up stage: (the first time, every other time)
    "ko": [("임베딩 모델 받는 중 (처음 한 번, 약 1.2 GB)", "임베딩 모델 불러오는 중"), ("색인 만드는 중", "색인 불러오는 중"),
           ("언어 모델 받는 중 (처음 한 번, 약 1.1 GB)", "언어 모델 불러오는 중")],
    "en": [("Fetching the embedding model (first run only, about 1.2 GB)", "Loading the embedding model"),
           ("Building the index", "Loading the index"),
           ("Fetching the language model (first run only, about 1.1 GB)", "Loading the language model")],
}


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
    best-matching sentence highlighted; the ones the answer cites are marked."""
    t = TEXT[lang]
    parts = []
    for n, passage in enumerate(passages, 1):
        ch = passage.chunk
        text = ch.text
        if passage.highlight:
            s, e = passage.highlight[0] - ch.start, passage.highlight[1] - ch.start
            body = f"{html.escape(text[:s])}<mark>{html.escape(text[s:e])}</mark>{html.escape(text[e:])}"
        else:
            body = html.escape(text)
        head = html.escape(f"[{n}] {ch.location(t['paragraph'], t['page'])} · {ch.section}")
        mark = f" · {t['cited']}" if n in cited else ""
        parts.append(f"<p><b>{head}</b>{mark}<br>{body}</p>")
    return "\n".join(parts)


def sources_message(passages: list[Passage], answer: Answer | None, lang: str) -> dict:
    """The collapsed Sources panel under an answer: shown once the passages are found,
    before the answer, and kept after a refusal."""
    cited = {c.n for c in answer.citations} if answer else set()
    return {
        "role": "assistant",
        "content": sources_markdown(passages, cited, lang),
        "metadata": {"title": f"📚 {TEXT[lang]['sources']} ({len(passages)})", "status": "done"},
    }


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
        {"role": m["role"], "content": message_text(m.get("content"))}
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
    """A document's index status in the interface language (the reason stays as given)."""
    word, sep, rest = status.partition(":") if status.startswith("skipped") else status.partition(" ")
    return TEXT[lang]["status"].get(word, word) + (sep if sep == ":" else " " if rest else "") + rest


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
            self._sessions[session] = {"waiting": [], "claimed": False, "stop": threading.Event()}
            return True

    def claim(self, session: str) -> bool:
        """True once for each question ``offer`` let through: the answer that takes it."""
        with self._lock:
            state = self._sessions.get(session)
            if state is None or state["claimed"]:
                return False
            state["claimed"] = True
            return True

    def next(self, session: str) -> str | None:
        """The next waiting question, or None (and the session is idle again)."""
        with self._lock:
            state = self._sessions.get(session)
            if state and state["waiting"]:
                return state["waiting"].pop(0)
            self._sessions.pop(session, None)
            return None

    def busy(self, session: str) -> bool:
        with self._lock:
            return session in self._sessions

    def claimed(self, session: str) -> bool:
        with self._lock:
            return self._sessions.get(session, {}).get("claimed", False)

    def waiting(self, session: str) -> list[str]:
        with self._lock:
            return list(self._sessions.get(session, {}).get("waiting", []))

    def end(self, session: str) -> None:
        with self._lock:
            self._sessions.pop(session, None)

    def stop_event(self, session: str) -> threading.Event:
        """Set by ``stop``: the answer being written ends where it is."""
        with self._lock:
            return self._sessions[session]["stop"]

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
        return (*self.refresh(lang), message)

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


def build_app(engine: Engine, startup: Startup | None = None) -> gr.Blocks:
    startup = startup or Startup(engine).start()
    panel = DocumentsPanel(engine, startup)
    turns = Turns()

    def respond(messages: list[dict], lang: str, request: gr.Request):
        """Answer the question just put into the chat, then each question sent meanwhile, in
        turn. A send that was queued, blank or refused leaves the chat as it is."""
        session = request.session_hash
        if not turns.claim(session):
            yield gr.skip(), gr.skip()
            return
        t = TEXT[lang]
        if not startup.ready.is_set():  # asked during start-up: answered once ready
            yield messages + [{"role": "assistant", "content": t["waiting_ready"]}], gr.skip()
            if not startup.wait():
                turns.end(session)
                yield messages + [{"role": "assistant", "content": startup.error or t["not_ready"]}], ""
                return
        stop = turns.stop_event(session)
        try:
            while True:
                for messages in answer(messages, message_text(messages[-1]["content"]), lang, stop):
                    yield messages, gr.skip()
                following = turns.next(session)
                if following is None:
                    yield gr.skip(), queue_markdown([], lang)
                    return
                messages = messages + [{"role": "user", "content": following}]
                yield messages, queue_markdown(turns.waiting(session), lang)
        finally:  # timed out or failed: the session may ask again
            if turns.busy(session) and turns.claimed(session):
                turns.end(session)

    def answer(messages: list[dict], question: str, lang: str, stop: threading.Event | None = None):
        """``messages`` with the answer to ``question`` (their last message, if the user's),
        as the answer grows; an error bubble for a blank or over-long question. Once
        ``stop`` is set, the text written so far is the answer, marked as stopped."""
        t = TEXT[lang]
        asked = bool(messages) and messages[-1]["role"] == "user"
        history = history_for_engine(messages[:-1] if asked else messages)
        found: list[Passage] = []
        shown = ""
        try:
            for text, done in engine.answer_stream(question, history, stop=stop, on_sources=found.extend):
                if stop is not None and stop.is_set():
                    text, done = f"{shown}\n\n*{t['stopped']}*", None
                shown = text
                reply = [{"role": "assistant", "content": text or "…"}]
                if done is not None and done.notice:
                    reply.insert(0, {"role": "assistant", "content": done.notice, "metadata": {"title": "ℹ️"}})
                if found:
                    reply.append(sources_message(found, done, lang))
                yield messages + reply
        except (ValueError, GenerationError) as exc:  # blank or over-long question; generation server down
            yield messages + [{"role": "assistant", "content": f"{t['error']}: {exc}"}]

    def chat(messages: list[dict], lang: str) -> Iterator[list[dict]]:
        """One chat turn over the API: Gradio messages in (the question last), the same
        messages with the answer and its Sources panel out, streamed."""
        if not startup.wait():
            raise gr.Error(startup.error or TEXT["en"]["not_ready"])
        question = message_text(messages[-1]["content"]) if messages and messages[-1]["role"] == "user" else ""
        yield from answer(messages, question, lang)

    def add_user(text: str, messages: list[dict], lang: str, request: gr.Request):
        """Put a sent question into the chat, or, while an answer is being written, into the
        queue shown under the chat. A blank send does nothing; a too-long one stays in the
        box, with a message under the chat."""
        text = (text or "").strip()
        if not text:
            return gr.skip(), gr.skip(), gr.skip(), gr.skip()
        limit = engine.settings.max_query_chars
        if len(text) > limit:
            return gr.skip(), gr.skip(), "⚠️ " + TEXT[lang]["too_long"].format(n=len(text), limit=limit), gr.skip()
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
        """New chat: whatever was being answered is dropped with the conversation."""
        turns.end(request.session_hash)
        return [], "", gr.update(interactive=False, variant="secondary")

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
        with gr.Tab(t["chat"]) as chat_tab:
            chatbot = gr.Chatbot(label=t["chat"], height=520, sanitize_html=True, group_consecutive_messages=False, elem_id="chat")
            with gr.Row():
                box = gr.Textbox(label=t["question"], placeholder=t["placeholder"], show_label=False, scale=8, max_lines=6)
                send = gr.Button(t["send"], variant="primary", scale=1)
                stop = gr.Button(t["stop"], variant="secondary", interactive=False, scale=1)
            note = gr.Markdown("")  # questions waiting their turn, or why one was not sent
            new = gr.Button(t["new"], size="sm")
            examples = gr.Examples(EXAMPLES, inputs=box, label="예시 질문 · Example questions")
        with gr.Tab(t["documents"]) as docs_tab:
            table = gr.Dataframe(headers=t["doc_headers"], label=t["doc_table"], interactive=False, datatype="str", wrap=True)
            upload = gr.File(file_count="multiple", file_types=sorted(SUPPORTED_SUFFIXES), label=t["upload"])
            add = gr.Button(t["add"], variant="primary")
            with gr.Row():
                chosen = gr.Dropdown(choices=[], multiselect=True, label=t["select"], scale=4)
                delete = gr.Button(t["delete"], variant="stop", scale=1)
                reindex = gr.Button(t["reindex"], scale=1)
            result = gr.Textbox(label=t["result"], lines=4, interactive=False)

        labelled = [
            (title, "value", "title"), (lang, "label", "language"), (chat_tab, "label", "chat"), (chatbot, "label", "chat"),
            (box, "placeholder", "placeholder"), (box, "label", "question"), (send, "value", "send"), (stop, "value", "stop"), (new, "value", "new"),
            (docs_tab, "label", "documents"), (table, "label", "doc_table"), (upload, "label", "upload"), (add, "value", "add"),
            (chosen, "label", "select"), (delete, "value", "delete"), (reindex, "value", "reindex"), (result, "label", "result"),
        ]

        def relabel(lg: str):
            tl = TEXT[lg]
            return [gr.update(**{attr: tl[key]}) for _, attr, key in labelled] + [startup_status(startup, lg), panel.table(lg)]

        timer = gr.Timer(1.0)

        def tick(lg: str):
            """The start-up line; the page stops asking once nothing is left to report."""
            return startup_status(startup, lg), gr.Timer(active=not startup.settled)

        timer.tick(tick, inputs=lang, outputs=[status, timer], show_progress="hidden", api_visibility="private")
        lang.change(relabel, inputs=lang, outputs=[c for c, _, _ in labelled] + [status, table], api_visibility="private")

        def pick(evt: gr.SelectData):
            return EXAMPLES[evt.index if isinstance(evt.index, int) else evt.index[0]]

        # An example question is sent as it is picked.
        picked = examples.dataset.select(pick, None, box, queue=False, api_visibility="private")
        events = []
        for start in (box.submit, send.click, picked.then):
            ev = start(add_user, [box, chatbot, lang], [box, chatbot, note, stop], queue=False, api_visibility="private").then(
                respond, [chatbot, lang], [chatbot, note], time_limit=engine.settings.request_timeout,
                concurrency_id="answer", concurrency_limit=engine.settings.answer_slots, api_visibility="private",
            )
            ev.then(settle, None, stop, queue=False, api_visibility="private")
            events.append(ev)
        stop.click(halt, None, [note, stop], queue=False, api_visibility="private")
        new.click(clear, None, [chatbot, note, stop], cancels=events, api_visibility="private")
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
        ]
        for change in changes:  # the prompt openings are prepared again: report it
            change.then(lambda: gr.Timer(active=True), None, timer, queue=False, api_visibility="private")

        gr.api(ask, api_name="ask", time_limit=engine.settings.request_timeout,
               concurrency_id="answer", concurrency_limit=engine.settings.answer_slots)
    return app
