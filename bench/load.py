"""Load test of the web app: concurrent chat sessions through gradio_client.

    python bench/load.py                                  # 20 sessions x 3 questions
    python bench/load.py --sessions 2 --questions 2       # a quick check
    python bench/load.py --queue-size 4 --sessions 8      # see the "told to wait" path
    python bench/load.py --timeout 600 --port 7999 --copy-index --keep-index

Starts ``app.py`` on loopback (a free port unless --port) over its own copy of corpus/
in a temporary folder, where the app builds its index on start (seconds for the essay;
--copy-index copies the repo's index/ instead, which must match the code's index format;
the repo's index/ is never touched), waits until it is ready, then:

1. Sessions: --sessions concurrent clients (threads, each its own gradio_client session
   and its own history) ask --questions questions each: a question naming a topic, a
   follow-up that only makes sense with that history ("그건 누가 발표했나요?", "Who
   released it?"), then a standalone question (more turns alternate the two). Even
   sessions use ``/chat`` (the streaming chat, Gradio messages in and out), odd ones
   ``/ask`` (question, history, generator). Every request must be answered (non-empty,
   in the question's language) or cleanly told to wait (queue full); anything else is a
   failure. History leaks: the chat's echoed history is not the session's own, ``/ask``
   searched with another session's question, or a follow-up's answer and citations are
   about another session's topic and not its own.
2. Edge cases: 10,000-character and empty questions on both endpoints get readable
   errors, one session fires 10 requests back to back without waiting, and the app is
   still healthy afterwards (a normal question answered).

The app's RSS (VmRSS of it and its children from /proc) is sampled every 0.5 s. Prints
throughput, latency (time to first streamed update for /chat, total for both), told-to-wait
and failure counts, leaks and memory, and exits non-zero on any failure or leak. The
app always stops at the end; --timeout bounds the whole run.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from assistant.config import Settings
from assistant.ui import message_text

ROOT = Path(__file__).resolve().parent.parent
HANGUL = re.compile(r"[\uac00-\ud7a3]")
LATIN = re.compile(r"[A-Za-z]")
PARAGRAPH = re.compile(r"(?:¶|문단|paragraph) (\d+)")


@dataclass(frozen=True)
class Topic:
    """A session's subject: turns of (question, facts); ``facts`` are alternatives, any
    of which in the answer shows it is about this topic. ``anchor`` is a string of the
    topic's own paragraph, so a citation containing it is a citation of that paragraph."""

    name: str
    lang: str
    anchor: str
    keys: tuple[str, ...]  # how the corpus names the topic
    opener: tuple[str, tuple[str, ...]]
    follow_up: tuple[str, tuple[str, ...]]
    standalone: tuple[str, tuple[str, ...]]

    def turn(self, i: int) -> tuple[str, tuple[str, ...], bool]:
        """The i-th question, its facts, and whether it is a follow-up (needs the history)."""
        if i == 0:
            return (*self.opener, False)
        if i % 2 == 1:
            return (*self.follow_up, True)
        return (*self.standalone, False)


TOPICS = [
    Topic("BERT", "ko", "Google에서 발표한 BERT", ("BERT",),
          ("BERT는 어떤 모델인가요?", ("fine-tuning", "파인튜닝", "Transformer", "base model")),
          ("그건 누가 발표했나요?", ("Google", "구글")),
          ("BERT 이후 NLP 분야에서는 어떤 구조가 주로 쓰이게 되었나요?", ("Transformer", "트랜스포머"))),
    Topic("GPT-3", "en", "100배", ("GPT-3",),
          ("What was GPT-3?", ("GPT-2", "size", "larger", "bigger")),
          ("By what factor did it grow compared with the model before it?", ("100",)),
          ("Which kinds of learning did GPT-3 make possible?", ("shot",))),
    Topic("TensorFlow", "en", "Google에서 Tensorflow를 발표", ("Tensorflow", "TensorFlow"),
          ("What is TensorFlow?", ("library", "Google", "deep learning")),
          ("Who released it, and around when?", ("Google", "2015")),
          ("Which Python library could compute gradients automatically before TensorFlow?", ("Theano",))),
    Topic("GPT-4", "ko", "GPT-4도 공개하며", ("GPT-4",),
          ("OpenAI가 최근 공개한 GPT-4는 무엇을 보여주었나요?", ("Image", "이미지", "성능")),
          ("그건 저자에게 놀라운 일이었나요?", ("놀랍지", "Multi-modal", "멀티모달", "멀티 모달")),
          ("AI의 민주화를 목표로 하는 회사와 단체들은 무엇을 하고 있나요?", ("연구", "오픈소스"))),
    Topic("ChatGPT", "en", "InstructGPT 라는 연구", ("InstructGPT", "ChatGPT"),
          ("What is InstructGPT?", ("OpenAI", "RLHF", "reinforcement")),
          ("What did OpenAI release after it, so that anyone could try it?", ("ChatGPT",)),
          ("Why did OpenAI let everyone use ChatGPT through a demo site?", ("feedback", "ChatGPT"))),
    Topic("HuggingFace", "ko", "HuggingFace는 Pytorch 기반의 Transformers", ("HuggingFace",),
          ("HuggingFace는 어떤 라이브러리를 공개했나요?", ("Transformers", "트랜스포머")),
          ("그 덕분에 누구나 데이터만 있으면 무엇을 할 수 있게 되었나요?", ("fine-tuning", "fine-tune", "파인튜닝", "미세")),
          ("HuggingFace의 Transformers 라이브러리는 왜 인기를 끌었나요?", ("공유", "활용", "share"))),
    Topic("AlphaGo", "en", "2016년의 알파고", ("알파고", "AlphaGo"),
          ("When did AlphaGo appear?", ("2016",)),
          ("Which library gained a dominant position because of it?", ("TensorFlow", "Tensorflow")),
          ("Which library made TensorFlow easy to use in a scikit-learn style?", ("Keras",))),
    Topic("GPT-2", "ko", "2019년 경에 공개된 GPT-2", ("GPT-2",),
          ("GPT-2는 언제 공개되었나요?", ("2019",)),
          ("그건 어떤 구조를 기반으로 했나요?", ("decoder", "디코더")),
          ("GPT-2가 큰 관심을 받은 두 번째 이유는 무엇인가요?", ("사이즈", "크기", "size", "커"))),
]

RETRIES = 3  # a request told to wait is tried again this many times, 2, 4 and 6 s later
TOO_LONG = "the question is too long"
EMPTY = "the question is empty"


# -- the app ---------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def prepare_copy(work: Path, copy_index: bool) -> tuple[Path, Path, str]:
    """A private corpus and index for the app; returns their paths and how the index came."""
    corpus, index = work / "corpus", work / "index"
    shutil.copytree(ROOT / "corpus", corpus)
    how = "built by the app on start"
    if copy_index and (ROOT / "index" / "CURRENT").exists():
        try:
            shutil.copytree(ROOT / "index", index)
            how = f"copied from {ROOT / 'index'}"
        except (OSError, shutil.Error) as exc:  # e.g. a build swapping generations meanwhile
            shutil.rmtree(index, ignore_errors=True)
            how = f"built by the app on start (copy failed: {exc})"
    return corpus, index, how


def process_tree(pid: int) -> list[int]:
    """``pid`` and its descendants, from /proc/<pid>/task/*/children."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        for task in Path(f"/proc/{p}/task").glob("*/children"):
            try:
                todo += [int(c) for c in task.read_text().split()]
            except OSError:
                pass
    return out


def rss_mb(pid: int) -> float | None:
    total, seen = 0, False
    for p in process_tree(pid):
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
                    seen = True
        except (OSError, ValueError):
            pass
    return total / 1024 if seen else None


class RssSampler(threading.Thread):
    def __init__(self, pid: int, every: float = 0.5):
        super().__init__(name="rss", daemon=True)
        self.pid, self.every = pid, every
        self.samples: list[tuple[float, float]] = []
        self.marks: dict[str, float] = {}
        self.halt = threading.Event()

    def run(self) -> None:
        while not self.halt.is_set():
            mb = rss_mb(self.pid)
            if mb is not None:
                self.samples.append((time.monotonic(), mb))
            self.halt.wait(self.every)

    def mark(self, name: str) -> None:
        mb = rss_mb(self.pid)
        if mb is not None:
            self.marks[name] = mb

    def peak(self, since: float = 0.0) -> float:
        return max((mb for t, mb in self.samples if t >= since), default=float("nan"))


# -- requests --------------------------------------------------------------------------
class Deadline(Exception):
    """The bench's own time ran out before the request finished."""


@dataclass
class Request:
    phase: str  # "sessions" | "edge"
    session: str
    endpoint: str
    question: str
    lang: str
    outcome: str = "pending"  # answered | wait | failed
    reason: str = ""
    submitted: float = 0.0
    first: float | None = None
    done: float | None = None
    answer: str = ""
    cited: list[str] = field(default_factory=list)  # cited passage texts
    paragraphs: list[int] = field(default_factory=list)
    result: object = None
    context: tuple = ()  # endpoint, earlier turns and question: equal contexts should get equal answers

    @property
    def latency(self) -> float | None:
        return None if self.done is None else self.done - self.submitted

    @property
    def ttfu(self) -> float | None:
        return None if self.first is None else self.first - self.submitted


def user_message(text: str) -> dict:
    return {"role": "user", "content": [{"type": "text", "text": text}]}


def run_job(client, args: tuple, api_name: str, req: Request, timeout: float, stop_at: float):
    """Submit, record the first streamed update, wait for the result within ``timeout``
    and the bench deadline; classify errors into ``req``. Returns the result or None."""
    from gradio_client.exceptions import AppError
    from gradio_client.utils import QueueError

    req.submitted = time.monotonic()
    limit = min(req.submitted + timeout, stop_at)
    job = None
    try:
        job = client.submit(*args, api_name=api_name)
        while not job.done():
            now = time.monotonic()
            if req.first is None and job.outputs():
                req.first = now
            if now > limit:
                job.cancel()
                raise Deadline("no answer within the request timeout" if limit < stop_at else "bench deadline reached")
            time.sleep(0.05)
        result = job.result(timeout=5)
        req.done = time.monotonic()
        if req.first is None:
            req.first = req.done
        req.result = result
        return result
    except QueueError as exc:
        req.outcome, req.reason = "wait", f"told to wait: {exc}"
    except AppError as exc:
        req.outcome, req.reason = "failed", f"app error: {getattr(exc, 'message', None) or exc}"
        req.result = exc
    except Deadline as exc:
        req.outcome, req.reason = "failed", str(exc)
    except Exception as exc:  # noqa: BLE001 - any other error is a failed request
        if "queue is full" in str(exc).lower():
            req.outcome, req.reason = "wait", f"told to wait: {exc}"
        else:
            req.outcome, req.reason = "failed", f"{type(exc).__name__}: {exc}"
            req.result = exc
    req.done = time.monotonic()
    return None


def language_ok(text: str, lang: str) -> bool:
    hangul, latin = len(HANGUL.findall(text)), len(LATIN.findall(text))
    if hangul + latin == 0:  # figures and markers only ("2015 [1]"): in no language, so in any
        return True
    if lang == "ko":
        return hangul > 0
    return latin > 0 and hangul <= 0.2 * (hangul + latin)


def chat_turn(client, messages: list[dict], req: Request, timeout: float, stop_at: float) -> list[dict] | None:
    """One /chat turn; the returned messages, or None (``req`` says why)."""
    out = run_job(client, (messages, req.lang), "/chat", req, timeout, stop_at)
    if out is None:
        return None
    replies = out[len(messages):] if isinstance(out, list) else []
    answers = [message_text(m.get("content")) for m in replies if m.get("role") == "assistant" and not m.get("metadata")]
    req.answer = answers[0] if answers else ""
    for m in replies:
        title = (m.get("metadata") or {}).get("title", "")
        if title.startswith("📚"):
            body = message_text(m.get("content"))
            req.cited = [re.sub(r"<[^>]+>", "", p) for p in body.split("<p>") if p.strip()]
            req.paragraphs = [int(n) for n in PARAGRAPH.findall(body)]
    return out


def ask_turn(client, question: str, history: list[dict], req: Request, timeout: float, stop_at: float) -> dict | None:
    out = run_job(client, (question, history, ""), "/ask", req, timeout, stop_at)
    if out is None:
        return None
    if not isinstance(out, dict):
        req.outcome, req.reason = "failed", f"unexpected /ask result: {str(out)[:100]}"
        return None
    req.answer = out.get("answer") or ""
    req.cited = [c.get("text", "") for c in out.get("citations") or []]
    req.paragraphs = [c.get("paragraph") for c in out.get("citations") or []]
    return out


def judge_answer(req: Request) -> None:
    """Answered = a non-empty answer in the question's language."""
    if req.outcome != "pending":
        return
    if not req.answer.strip():
        req.outcome, req.reason = "failed", "empty answer"
    elif not language_ok(req.answer, req.lang):
        req.outcome, req.reason = "failed", f"wrong language (expected {req.lang}): {req.answer[:80]!r}"
    else:
        req.outcome = "answered"


# -- phase 1: sessions -----------------------------------------------------------------
@dataclass
class Session:
    name: str
    topic: Topic
    endpoint: str
    requests: list[Request] = field(default_factory=list)
    leaks: list[str] = field(default_factory=list)
    off_topic: list[str] = field(default_factory=list)
    follow_ups: int = 0
    gave_up: int = 0  # questions still told to wait after the retries
    asked: int = 0  # questions put (retries after a wait not counted)


def mentions(text: str, facts: tuple[str, ...]) -> bool:
    low = text.lower()
    return any(f.lower() in low for f in facts)


def check_follow_up(s: Session, req: Request, facts: tuple[str, ...], others: list[Topic]) -> None:
    """Is the follow-up about its own topic (an expected fact in the answer, or its
    paragraph cited)? If not, does it cite another session's topic that nothing in this
    session leads to (the session never named it, and the cited passage does not name the
    session's own topic)? That is a leak; otherwise it is only off topic."""
    own = mentions(req.answer, facts) or any(s.topic.anchor in c for c in req.cited)
    said = " ".join(text for r in s.requests for text in (r.question, r.answer if r is not req else ""))
    foreign = [
        t.name for t in others
        if t.name != s.topic.name and not mentions(said, t.keys)
        and any(t.anchor in c and not mentions(c, s.topic.keys) for c in req.cited)
    ]
    if not own:
        if foreign:
            s.leaks.append(f"{req.question!r} cited {', '.join(foreign)} instead of {s.topic.name}")
        else:
            s.off_topic.append(f"{req.question!r}: {req.answer[:80]!r}")


def run_session(client_factory, s: Session, questions: int, timeout: float, stop_at: float, topics_in_use: list[Topic], retries: int = RETRIES) -> None:
    try:
        client = client_factory()
    except Exception as exc:  # noqa: BLE001
        req = Request("sessions", s.name, s.endpoint, "(connect)", s.topic.lang, "failed", f"could not connect: {exc}")
        s.requests.append(req)
        return
    messages: list[dict] = []  # /chat: the chatbot value, as a browser would keep it
    history: list[dict] = []  # /ask: plain turns
    try:
        for i in range(questions):
            if time.monotonic() > stop_at:
                s.requests.append(Request("sessions", s.name, s.endpoint, "(not asked)", s.topic.lang, "failed", "bench deadline reached"))
                break
            question, facts, follow_up = s.topic.turn(i)
            s.asked += 1
            for attempt in range(retries + 1):  # told to wait: retry a little later, as a user would
                req = Request("sessions", s.name, s.endpoint, question, s.topic.lang)
                req.context = (s.endpoint, tuple((r.question, r.answer) for r in s.requests if r.outcome == "answered"), question)
                s.requests.append(req)
                messages, history = turn(client, s, req, i, follow_up, messages, history, timeout, stop_at, topics_in_use)
                judge_answer(req)
                if req.outcome != "wait" or time.monotonic() > stop_at:
                    break
                time.sleep(2 + 2 * attempt)
            if req.outcome != "answered":
                s.gave_up += req.outcome == "wait"
                break
            if follow_up:
                s.follow_ups += 1
                check_follow_up(s, req, facts, topics_in_use)
    finally:
        close = getattr(client, "close", None)
        if close:
            try:
                close()
            except Exception:  # noqa: BLE001
                pass


def turn(client, s: Session, req: Request, i: int, follow_up: bool, messages: list[dict], history: list[dict],
         timeout: float, stop_at: float, topics_in_use: list[Topic]) -> tuple[list[dict], list[dict]]:
    """One question of a session; returns the session's updated /chat messages and /ask history."""
    question = req.question
    if s.endpoint == "chat":
        sent = messages + [user_message(question)]
        out = chat_turn(client, sent, req, timeout, stop_at)
        if out is None:
            return messages, history
        echoed = [(m.get("role"), message_text(m.get("content"))) for m in out[: len(sent)]]
        if echoed != [(m.get("role"), message_text(m.get("content"))) for m in sent]:
            s.leaks.append(f"turn {i + 1}: the chat answered a different history")
        return out, history
    out = ask_turn(client, question, history, req, timeout, stop_at)
    if out is None:
        return messages, history
    previous = [m["content"] for m in history if m["role"] == "user"]
    query = out.get("query") or ""
    strangers = [t.name for t in topics_in_use if t is not s.topic and any(q in query for q in (t.opener[0], t.standalone[0]))]
    if strangers:
        s.leaks.append(f"turn {i + 1}: searched {query[:80]!r} (questions of {', '.join(strangers)})")
    elif follow_up and previous and not query.startswith(previous[-1]):
        s.off_topic.append(f"turn {i + 1}: searched without its history: {query[:80]!r}")
    return messages, history + [{"role": "user", "content": question}, {"role": "assistant", "content": req.answer}]


# -- phase 2: edge cases ---------------------------------------------------------------
def edge_cases(client, timeout: float, stop_at: float, repeats: int) -> tuple[list[Request], list[str]]:
    """Readable errors for bad questions, back-to-back repeats, health afterwards.
    Returns the requests and problems that are not a single request's failure."""
    problems: list[str] = []
    reqs: list[Request] = []
    long_q = ("Transformer 구조는 어떤 논문에서 소개되었나요? " * 400)[:9_999] + "?"  # 10,000 characters

    def expect_error(label: str, endpoint: str, question: str, lang: str, needle: str, messages=None):
        req = Request("edge", label, endpoint, question[:40], lang)
        reqs.append(req)
        if endpoint == "ask":
            out = run_job(client, (question, [], ""), "/ask", req, timeout, stop_at)
            if out is not None:
                req.outcome, req.reason = "failed", f"expected an error, got an answer: {str(out)[:80]}"
            elif req.reason.startswith("app error:") and needle in req.reason:
                req.outcome, req.answer = "answered", req.reason
            # otherwise: left as failed/wait by run_job
        else:
            sent = messages if messages is not None else [user_message(question)]
            out = chat_turn(client, sent, req, timeout, stop_at)
            if out is not None:
                prefix = {"ko": "오류: ", "en": "Error: "}[lang]
                if req.answer.startswith(prefix) and needle in req.answer:
                    req.outcome = "answered"
                else:
                    req.outcome, req.reason = "failed", f"expected '{prefix}{needle}…', got {req.answer[:80]!r}"
        return req

    expect_error("/ask 10,000 chars", "ask", long_q, "ko", TOO_LONG)
    expect_error("/ask empty", "ask", "", "en", EMPTY)
    expect_error("/ask blank", "ask", "   \n\t ", "en", EMPTY)
    expect_error("/chat 10,000 chars", "chat", long_q, "ko", TOO_LONG)
    expect_error("/chat empty", "chat", "", "en", EMPTY)
    expect_error("/chat no messages", "chat", "", "en", EMPTY, messages=[])

    # Rapid repeats: one session, `repeats` follow-ups submitted back to back.
    if repeats:
        topic = TOPICS[0]
        base = [user_message(topic.opener[0]), {"role": "assistant", "content": [{"type": "text", "text": "BERT는 Transformer 기반 모델입니다."}]}]
        sent = base + [user_message(topic.follow_up[0])]
        group = [Request("edge", f"repeat {i + 1}", "chat", topic.follow_up[0], topic.lang) for i in range(repeats)]
        threads = [threading.Thread(target=chat_turn, args=(client, sent, r, timeout, stop_at)) for r in group]
        for t in threads:  # submit() returns at once; threads only wait for the results
            t.start()
            time.sleep(0.01)
        for t in threads:
            t.join()
        for r in group:
            judge_answer(r)
        reqs += group
        answered = [r for r in group if r.outcome == "answered"]
        if answered and not any(mentions(r.answer, topic.follow_up[1]) or any(topic.anchor in c for c in r.cited) for r in answered):
            problems.append("rapid repeats: no answer was about BERT")

    health = Request("edge", "health", "ask", "In which year did Tensorflow come out?", "en")
    reqs.append(health)
    out = ask_turn(client, health.question, [], health, timeout, stop_at)
    judge_answer(health)
    if out is not None and (out.get("abstained") or "2015" not in health.answer):
        health.outcome, health.reason = "failed", f"unhealthy answer: {health.answer[:80]!r}"
    return reqs, problems


# -- report ----------------------------------------------------------------------------
def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[max(0, math.ceil(q * len(xs)) - 1)]


def dist(xs: list[float]) -> str:
    if not xs:
        return "n/a"
    return f"{pct(xs, 0.5):6.1f} | {pct(xs, 0.9):6.1f} | {pct(xs, 0.95):6.1f} | {max(xs):6.1f} | {len(xs)}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sessions", type=int, default=20, help="concurrent sessions (default 20)")
    ap.add_argument("--questions", type=int, default=3, help="questions per session (default 3; the 2nd is the follow-up)")
    ap.add_argument("--endpoint", choices=["mixed", "chat", "ask"], default="mixed", help="mixed: even sessions /chat, odd /ask")
    ap.add_argument("--timeout", type=float, default=1200, help="the whole bench, seconds (default 1200)")
    ap.add_argument("--request-wait", type=float, default=600, help="client-side limit per request incl. queueing, seconds (default 600)")
    ap.add_argument("--queue-size", type=int, help="ASSISTANT_QUEUE_SIZE for the app (default: the app's setting)")
    ap.add_argument("--request-timeout", type=int, help="ASSISTANT_REQUEST_TIMEOUT for the app, seconds (default: the app's setting)")
    ap.add_argument("--repeats", type=int, default=10, help="back-to-back requests from one session in the edge phase (default 10)")
    ap.add_argument("--skip-edge", action="store_true", help="skip the edge-case phase")
    ap.add_argument("--port", type=int, help="port for the app (default: a free one)")
    ap.add_argument("--copy-index", action="store_true", help="copy the repo's index/ instead of letting the app build one")
    ap.add_argument("--keep-index", action="store_true", help="keep the temporary corpus, index and app log, and print where")
    ap.add_argument("--show", action="store_true", help="print every session's questions and answers")
    ap.add_argument("--start-timeout", type=float, default=600, help="seconds for the app to start and get ready (default 600)")
    ap.add_argument("--backend", action="append", choices=["llama", "openai", "extractive"],
                    help="the app's generator (default: the configured one); give it twice to run both in turn "
                         "and print them side by side")
    ap.add_argument("--url", help="for --backend openai: the generation server's OpenAI base URL, "
                                  "e.g. http://127.0.0.1:8081/v1 (bash bench/serve_llama.sh start)")
    args = ap.parse_args()
    if args.sessions < 1 or args.questions < 1:
        ap.error("--sessions and --questions must be at least 1")
    if "openai" in (args.backend or []) and not args.url:
        ap.error("--backend openai needs --url")
    results = [run(args, backend) for backend in args.backend or [None]]
    if len(results) > 1:
        print("\n## side by side (same run, one after the other)")
        print("| backend | answered/min | median (s) | p95 (s) | /chat first update median (s) | failed | leaks |")
        print("| --- | --- | --- | --- | --- | --- | --- |")
        for r in results:
            print(f"| {r.backend} | {r.per_minute:.1f} | {r.median:.1f} | {r.p95:.1f} | {r.first_update:.1f} | {r.failed} | {r.leaks} |")
    return max(r.rc for r in results)


@dataclass
class Summary:
    backend: str
    rc: int
    per_minute: float = float("nan")
    median: float = float("nan")
    p95: float = float("nan")
    first_update: float = float("nan")
    failed: int = 0
    leaks: int = 0


def run(args, backend: str | None) -> Summary:
    """One app, started with ``backend`` as its generator (None: the configured one), under
    the whole load; prints its figures."""

    t0 = time.monotonic()
    stop_at = t0 + args.timeout
    env = dict(os.environ)
    if backend:
        env["ASSISTANT_GENERATOR"] = backend
    if backend == "openai":
        env["ASSISTANT_OPENAI_BASE_URL"] = args.url
    if args.queue_size is not None:
        env["ASSISTANT_QUEUE_SIZE"] = str(args.queue_size)
    if args.request_timeout is not None:
        env["ASSISTANT_REQUEST_TIMEOUT"] = str(args.request_timeout)
    work = Path(tempfile.mkdtemp(prefix="assistant-load-"))
    corpus, index, how = prepare_copy(work, args.copy_index)
    env["ASSISTANT_CORPUS_DIR"], env["ASSISTANT_INDEX_DIR"] = str(corpus), str(index)
    saved = {k: os.environ.get(k) for k in ("ASSISTANT_QUEUE_SIZE", "ASSISTANT_REQUEST_TIMEOUT", "ASSISTANT_GENERATOR", "ASSISTANT_OPENAI_BASE_URL")}
    os.environ.update({k: env[k] for k in saved if k in env})
    settings = Settings.from_env()  # what the app will see
    port = args.port or free_port()
    url = f"http://127.0.0.1:{port}/"
    log_path = work / "app.log"
    print(f"app: {url}  queue size {settings.queue_size}, request timeout {settings.request_timeout} s, "
          f"generator {settings.generator} ({settings.openai_base_url if settings.generator == 'openai' else Path(settings.generator_model).name}), "
          f"{settings.answer_slots} answered at once")
    print(f"corpus and index: {work} (index {how})")
    print(f"load: {args.sessions} sessions x {args.questions} questions ({args.endpoint} endpoints), "
          f"request wait <= {args.request_wait:.0f} s, whole bench <= {args.timeout:.0f} s")

    from gradio_client import Client

    log = open(log_path, "w")
    proc = subprocess.Popen([sys.executable, "app.py", "--host", "127.0.0.1", "--port", str(port)], cwd=ROOT, env=env,
                            stdout=log, stderr=subprocess.STDOUT, text=True)
    rss = RssSampler(proc.pid)
    rss.start()
    sessions: list[Session] = []
    edge_reqs: list[Request] = []
    problems: list[str] = []
    failed_start = None
    start_mark: float | None = None
    phase_times: dict[str, float] = {}
    try:
        # Start: the port opens, then /ask answers once models and index are ready.
        ready_by = min(t0 + args.start_timeout, stop_at)
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > ready_by:
                    raise RuntimeError(f"the app did not start (exit {proc.poll()})")
                time.sleep(0.5)
        listening = time.monotonic()
        warm = Request("warm-up", "warm-up", "ask", "BERT는 누가 발표했나요?", "ko")
        client = Client(url, verbose=False)
        ask_turn(client, warm.question, [], warm, ready_by - time.monotonic(), stop_at)
        judge_answer(warm)
        if warm.outcome != "answered":
            raise RuntimeError(f"the app did not get ready: {warm.reason}")
        ready = time.monotonic()
        print(f"started: listening after {listening - t0:.1f} s, first answer after {ready - t0:.1f} s "
              f"(warm-up answer {warm.latency:.1f} s)")
        rss.mark("start")
        start_mark = time.monotonic()

        # Phase 1: concurrent sessions.
        for i in range(args.sessions):
            topic = TOPICS[i % len(TOPICS)]
            endpoint = args.endpoint if args.endpoint != "mixed" else ("chat" if i % 2 == 0 else "ask")
            sessions.append(Session(f"s{i + 1:02d}-{topic.name}", topic, endpoint))
        in_use = list({s.topic.name: s.topic for s in sessions}.values())
        threads = [
            threading.Thread(target=run_session, name=s.name,
                             args=(lambda: Client(url, verbose=False), s, args.questions, args.request_wait, stop_at, in_use), daemon=True)
            for s in sessions
        ]
        p1 = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join(max(0.0, stop_at - time.monotonic()) + 10)
        phase_times["sessions"] = time.monotonic() - p1
        rss.mark("after sessions")

        # Phase 2: edge cases on one fresh session.
        if not args.skip_edge and time.monotonic() < stop_at:
            p2 = time.monotonic()
            edge_reqs, problems = edge_cases(Client(url, verbose=False), args.request_wait, stop_at, args.repeats)
            phase_times["edge"] = time.monotonic() - p2
        alive = proc.poll() is None
    except Exception as exc:  # noqa: BLE001 - reported, then the app is stopped
        failed_start = f"{type(exc).__name__}: {exc}"
        alive = proc.poll() is None
    finally:
        rss.mark("end")
        rss.halt.set()
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=30)
        log.close()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v

    # -- figures --
    total_s = time.monotonic() - t0
    session_reqs = [r for s in sessions for r in s.requests]
    answered = [r for r in session_reqs if r.outcome == "answered"]
    waited = [r for r in session_reqs + edge_reqs if r.outcome == "wait"]
    failed = [r for r in session_reqs + edge_reqs if r.outcome not in ("answered", "wait")]
    leaks = [(s.name, leak) for s in sessions for leak in s.leaks]
    off_topic = [(s.name, o) for s in sessions for o in s.off_topic]
    follow_ups = sum(s.follow_ups for s in sessions)
    expected = args.sessions * args.questions
    unasked = expected - sum(s.asked for s in sessions)

    print(f"\n## sessions: {args.sessions} concurrent, {len(session_reqs)} requests for {expected} questions"
          + (f" ({unasked} not asked after an earlier failure)" if unasked > 0 else ""))
    if "sessions" in phase_times:
        minutes = phase_times["sessions"] / 60
        print(f"wall time {phase_times['sessions']:.0f} s; throughput {len(answered) / minutes if minutes else 0:.1f} answered requests/min")
    print("| latency (s) | median | p90 | p95 | max | n |")
    print("| --- | --- | --- | --- | --- | --- |")
    for label, ep in (("all, total", None), ("/chat, total", "chat"), ("/chat, first update", "chat"), ("/ask, total", "ask")):
        rs = [r for r in answered if ep is None or r.endpoint == ep]
        xs = [r.ttfu for r in rs] if "first" in label else [r.latency for r in rs]
        print(f"| {label} | {dist([x for x in xs if x is not None])} |")
    server = [r.result["timings"]["total_ms"] / 1000 for r in answered if r.endpoint == "ask" and isinstance(r.result, dict)
              and (r.result.get("timings") or {}).get("total_ms") is not None]
    if server:
        print(f"| /ask, server time | {dist(server)} |")
    print()
    print("| figure | value |")
    print("| --- | --- |")
    print(f"| answered | {len(answered)} |")
    print(f"| told to wait (queue full) | {len([r for r in waited if r.phase == 'sessions'])} |")
    print(f"| questions given up after {RETRIES + 1} tries told to wait | {sum(s.gave_up for s in sessions)} |")
    print(f"| failed | {len([r for r in failed if r.phase == 'sessions'])} |")
    print(f"| follow-ups answered | {follow_ups} |")
    print(f"| follow-ups not clearly on their own topic | {len(off_topic)} |")
    print(f"| history leaks | {len(leaks)} |")
    groups: dict[tuple, set[str]] = {}
    for r in answered:
        groups.setdefault(r.context, set()).add(r.answer)
    shared = [g for c, g in groups.items() if sum(1 for r in answered if r.context == c) > 1]
    if shared:
        print(f"| same question and history in several sessions, same answer (informative) | {sum(len(g) == 1 for g in shared)} of {len(shared)} |")

    if edge_reqs or problems:
        ok = [r for r in edge_reqs if r.outcome == "answered"]
        print(f"\n## edge cases: {len(ok)}/{len(edge_reqs)} handled"
              + (f" in {phase_times['edge']:.0f} s" if "edge" in phase_times else ""))
        print("| case | outcome | latency (s) | reply |")
        print("| --- | --- | --- | --- |")
        for r in edge_reqs:
            reply = (r.answer if r.outcome == "answered" else r.reason).replace("\n", " ").replace("|", "/")[:90]
            lat = f"{r.latency:.1f}" if r.latency is not None else "-"
            print(f"| {r.session} | {r.outcome} | {lat} | {reply} |")

    print("\n## memory (app RSS incl. children, MB)")
    if rss.samples:
        def mark(name: str) -> str:
            return f"{rss.marks[name]:.0f}" if name in rss.marks else "-"

        loaded = [mb for t, mb in rss.samples if start_mark is None or t >= start_mark]
        print("| when | RSS |")
        print("| --- | --- |")
        print(f"| ready (start of load) | {mark('start')} |")
        print(f"| peak under load | {max(loaded, default=float('nan')):.0f} |")
        print(f"| after the sessions | {mark('after sessions')} |")
        print(f"| end | {mark('end')} |")
        print(f"| peak overall ({len(rss.samples)} samples, every 0.5 s) | {max(mb for _, mb in rss.samples):.0f} |")
    else:
        print("no samples")
    print(f"\napp still running at the end: {'yes' if alive else 'NO'}; total bench time {total_s:.0f} s")

    if args.show:
        print("\n## transcripts")
        for s in sessions:
            for r in s.requests:
                cited = ",".join(str(n) for n in r.paragraphs)
                print(f"{s.name} /{s.endpoint} [{r.outcome}, {r.latency or 0:.1f} s, ¶{cited}] {r.question!r} -> {(r.answer or r.reason)[:120]!r}")
    for r in failed:
        print(f"FAILED {r.phase} {r.session} {r.endpoint} {r.question[:50]!r}: {r.reason}")
    for name, leak in leaks:
        print(f"LEAK {name}: {leak}")
    for name, o in off_topic:
        print(f"off topic {name}: {o}")
    for p in problems:
        print(f"PROBLEM {p}")
    if failed_start:
        print(f"FAILED: {failed_start}\n--- app log (tail) ---\n{log_path.read_text(errors='replace')[-3000:]}")
    if args.keep_index:
        print(f"kept: {work} (corpus/, index/, app.log)")
    else:
        shutil.rmtree(work, ignore_errors=True)

    print(f"\nfailed requests: {len(failed)}; told to wait: {len(waited)}; history leaks: {len(leaks)}")
    rc = 1 if failed or leaks or problems or failed_start or not alive else 0
    summary = Summary(settings.generator, rc, failed=len(failed), leaks=len(leaks))
    if answered and phase_times.get("sessions"):
        totals = [r.latency for r in answered if r.latency is not None]
        firsts = [r.ttfu for r in answered if r.endpoint == "chat" and r.ttfu is not None]
        summary.per_minute = len(answered) / (phase_times["sessions"] / 60)
        summary.median, summary.p95 = pct(totals, 0.5), pct(totals, 0.95)
        if firsts:
            summary.first_update = pct(firsts, 0.5)
    return summary


if __name__ == "__main__":
    sys.exit(main())
