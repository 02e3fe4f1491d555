"""The Gradio web app: a streaming chat over the engine, with collapsible sources under
each answer, Korean or English interface text, and an ``/ask`` API endpoint."""

from __future__ import annotations

import html
import logging
import threading

import gradio as gr

from .engine import Engine
from .types import Answer

log = logging.getLogger(__name__)

TEXT = {
    "ko": {
        "title": "## 문서 기반 질의응답\n문서에 근거해 답하고, 사용한 문단을 출처로 보여 줍니다. 한국어나 영어로 물어보세요.",
        "language": "화면 언어",
        "chat": "대화",
        "placeholder": "질문을 입력하세요 (예: BERT는 누가 발표했나요?)",
        "send": "보내기",
        "stop": "중지",
        "new": "새 대화",
        "sources": "출처",
        "paragraph": "문단",
        "preparing": "준비 중",
        "ready": "준비 완료",
        "failed": "준비 실패",
        "not_ready": "아직 준비 중입니다. 잠시 후 다시 시도해 주세요.",
        "error": "오류",
    },
    "en": {
        "title": "## Document Q&A\nAnswers grounded in the documents, with the paragraphs they used as sources. Ask in Korean or English.",
        "language": "Interface language",
        "chat": "Chat",
        "placeholder": "Ask a question (e.g. Who released BERT?)",
        "send": "Send",
        "stop": "Stop",
        "new": "New chat",
        "sources": "Sources",
        "paragraph": "paragraph",
        "preparing": "Preparing",
        "ready": "Ready",
        "failed": "Start-up failed",
        "not_ready": "Still getting ready. Please try again in a moment.",
        "error": "Error",
    },
}
LANG_CHOICES = [("한국어", "ko"), ("English", "en")]
EXAMPLES = [
    "Transformer 구조는 어떤 논문에서 소개되었나요?",
    "GPT-3는 GPT-2보다 얼마나 커졌나요?",
    "Which paper introduced the Transformer architecture?",
    "What is RLHF used for?",
]


class Startup:
    """Fetch models and build the index in the background, reporting each stage, so the
    page answers at once on a fresh machine."""

    STAGES = {
        "ko": ["임베딩 모델 받는 중 (처음 한 번, 약 1.2 GB)", "색인 만드는 중", "언어 모델 불러오는 중 (처음 한 번, 약 1.1 GB)"],
        "en": ["Fetching the embedding model (first run only, about 1.2 GB)", "Building the index", "Loading the language model (first run only, about 1.1 GB)"],
    }

    def __init__(self, engine: Engine):
        self.engine = engine
        self.stage = 0
        self.error: str | None = None
        self.ready = threading.Event()

    def start(self) -> "Startup":
        threading.Thread(target=self._run, name="startup", daemon=True).start()
        return self

    def _run(self) -> None:
        try:
            _ = self.engine.embedder
            self.stage = 1
            self.engine.ensure_index()
            _ = self.engine.retriever
            self.stage = 2
            try:
                self.engine.generator()
            except Exception as exc:  # answers fall back to the extractive backend
                log.warning("language model unavailable: %s", exc)
            self.stage = 3
            self.ready.set()
        except Exception as exc:
            log.exception("start-up failed")
            self.error = str(exc)

    def status(self, lang: str) -> str:
        t = TEXT[lang]
        if self.error:
            return f"**{t['failed']}**: {html.escape(self.error)}"
        if self.ready.is_set():
            return f"✅ {t['ready']}"
        stages = self.STAGES[lang]
        return f"⏳ {t['preparing']} ({self.stage + 1}/{len(stages)}): {stages[min(self.stage, len(stages) - 1)]}…"


def sources_markdown(answer: Answer, lang: str) -> str:
    """The cited passages, escaped, with the best-matching sentence highlighted."""
    t = TEXT[lang]
    parts = []
    for c in answer.citations:
        ch = c.passage.chunk
        text = ch.text
        if c.passage.highlight:
            s, e = c.passage.highlight[0] - ch.start, c.passage.highlight[1] - ch.start
            body = f"{html.escape(text[:s])}<mark>{html.escape(text[s:e])}</mark>{html.escape(text[e:])}"
        else:
            body = html.escape(text)
        head = html.escape(f"[{c.n}] {ch.doc_id} · {t['paragraph']} {ch.paragraph} · {ch.section}")
        parts.append(f"<p><b>{head}</b><br>{body}</p>")
    return "\n".join(parts)


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


def build_app(engine: Engine, startup: Startup | None = None) -> gr.Blocks:
    startup = startup or Startup(engine).start()

    def respond(messages: list[dict], lang: str):
        question = message_text(messages[-1]["content"]) if messages and messages[-1]["role"] == "user" else ""
        t = TEXT[lang]
        if not startup.ready.is_set():
            yield messages + [{"role": "assistant", "content": startup.error or t["not_ready"]}]
            return
        history = history_for_engine(messages[:-1])
        try:
            for text, answer in engine.answer_stream(question, history):
                reply = [{"role": "assistant", "content": text}]
                if answer is not None:
                    if answer.notice:
                        reply.insert(0, {"role": "assistant", "content": answer.notice, "metadata": {"title": "ℹ️"}})
                    if answer.citations:
                        reply.append({
                            "role": "assistant",
                            "content": sources_markdown(answer, lang),
                            "metadata": {"title": f"📚 {t['sources']} ({len(answer.citations)})", "status": "done"},
                        })
                yield messages + reply
        except ValueError as exc:  # blank or over-long question
            yield messages + [{"role": "assistant", "content": f"{t['error']}: {exc}"}]

    def add_user(text: str, messages: list[dict]):
        text = (text or "").strip()
        if not text:
            return "", messages
        return "", messages + [{"role": "user", "content": text}]

    def relabel(lang: str):
        t = TEXT[lang]
        return (
            gr.update(value=t["title"]),
            gr.update(label=t["language"]),
            gr.update(label=t["chat"]),
            gr.update(placeholder=t["placeholder"]),
            gr.update(value=t["send"]),
            gr.update(value=t["stop"]),
            gr.update(value=t["new"]),
            startup.status(lang),
        )

    def ask(question: str, history: list[dict] | None = None, generator: str | None = None) -> dict:
        """Answer a question from the documents. `history`: earlier turns as
        [{"role": "user"|"assistant", "content": "..."}]. Returns the answer with
        `answer`, `language`, `abstained`, `citations`, `retrieved`, `timings` and `model`."""
        startup.ready.wait(timeout=600)
        try:
            return engine.ask(question, history or [], generator=generator or None).to_dict()
        except ValueError as exc:
            raise gr.Error(str(exc)) from None

    t = TEXT["ko"]
    with gr.Blocks(title="Document Q&A") as app:
        lang = gr.Radio(LANG_CHOICES, value="ko", label=t["language"])
        title = gr.Markdown(t["title"])
        status = gr.Markdown(startup.status("ko"))
        chatbot = gr.Chatbot(label=t["chat"], height=520, sanitize_html=True, group_consecutive_messages=False)
        with gr.Row():
            box = gr.Textbox(placeholder=t["placeholder"], show_label=False, scale=8, max_lines=6)
            send = gr.Button(t["send"], variant="primary", scale=1)
            stop = gr.Button(t["stop"], variant="stop", scale=1)
        new = gr.Button(t["new"], size="sm")
        gr.Examples(EXAMPLES, inputs=box, label="예시 질문 · Example questions")

        timer = gr.Timer(1.0)
        timer.tick(lambda lg: startup.status(lg), inputs=lang, outputs=status, show_progress="hidden", api_visibility="private")
        lang.change(relabel, inputs=lang, outputs=[title, lang, chatbot, box, send, stop, new, status], api_visibility="private")

        events = []
        for n, trigger in enumerate((box.submit, send.click)):
            ev = trigger(add_user, [box, chatbot], [box, chatbot], queue=False, api_visibility="private").then(
                respond, [chatbot, lang], chatbot,
                api_name="chat" if n == 0 else None, api_visibility="undocumented" if n == 0 else "private",
            )
            events.append(ev)
        stop.click(None, cancels=events, api_visibility="private")
        new.click(lambda: [], None, chatbot, cancels=events, api_visibility="private")

        gr.api(ask, api_name="ask")
    return app
