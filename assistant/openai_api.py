"""An OpenAI-compatible API on the web app's server: ``GET /v1/models`` and ``POST
/v1/chat/completions`` (streamed over server-sent events or not).

For the model ``bilingual-assistant`` the last user message is the question and the
earlier user/assistant turns its history; the reply is what ``ask`` answers, with its
citation markers, and the response's ``assistant`` field holds the rest of ``ask --json``
(citations, refusal reason, language, timings). A streamed reply is sent once the answer is
verified (a verification can replace a draft with a refusal; unverified text is never sent).

The app's own language model is listed too, by its id (``ASSISTANT_GENERATOR_MODEL``), when
it runs in process: a request naming it gets plain generation from the messages as given,
streamed token by token, so that another app's ``openai`` backend can use this one as its
generation server. Errors are OpenAI-shaped (``{"error": {"message", "type", "code"}}``).
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.concurrency import run_in_threadpool

from .answer.generation import Prompt
from .answer.remote import GenerationError
from .engine import Engine
from .text.language import detect_language
from .types import Answer
from .warmup import Startup

MODEL_ID = "bilingual-assistant"
LANGUAGE_MODELS = ("llama", "transformers")  # generators that can serve plain generation
MAX_GENERATION_CHARS = 16_000  # all messages of a plain generation request together


class ApiError(Exception):
    def __init__(self, status: int, message: str, kind: str, code: str | None = None):
        super().__init__(message)
        self.status, self.kind, self.code = status, kind, code

    def response(self) -> JSONResponse:
        return JSONResponse({"error": {"message": str(self), "type": self.kind, "param": None, "code": self.code}}, status_code=self.status)


def router(engine: Engine, startup: Startup, allowed: Callable[[str | None], bool], queue_size: int, timeout: float) -> APIRouter:
    """The ``/v1`` routes; ``allowed(bearer key)`` decides access; beyond ``queue_size``
    requests in flight a new one is told the server is busy (429); a request waits at most
    ``timeout`` seconds for start-up."""
    api = APIRouter(prefix="/v1")
    in_flight = threading.BoundedSemaphore(max(1, queue_size))

    def authorize(request: Request) -> None:
        header = request.headers.get("authorization", "")
        key = header[7:].strip() if header.lower().startswith("bearer ") else None
        if not allowed(key):
            raise ApiError(401, "a valid API key is needed (Authorization: Bearer <key>; keys come from ASSISTANT_API_KEYS)",
                           "invalid_request_error", "invalid_api_key")

    settings = engine.settings
    generator_id = settings.generator_model if settings.generator in LANGUAGE_MODELS else None

    @api.get("/models")
    def models(request: Request):
        try:
            authorize(request)
        except ApiError as exc:
            return exc.response()
        ids = [MODEL_ID] + ([generator_id] if generator_id else [])
        return {"object": "list", "data": [{"id": i, "object": "model", "created": 0, "owned_by": "local"} for i in ids]}

    async def admit() -> None:
        """Wait for start-up; take a place among the requests in flight (429 if none)."""
        if not await run_in_threadpool(startup.wait, timeout):  # first start: models and index
            raise ApiError(503, startup.error or "the assistant is still starting (models, index); try again shortly", "server_error", "starting")
        if not in_flight.acquire(blocking=False):
            raise ApiError(429, "the server is busy; try again shortly", "rate_limit_error", "server_busy")

    @api.post("/chat/completions")
    async def chat(request: Request):
        try:
            authorize(request)
            body = await _json(request)
            if generator_id and body.get("model") == generator_id:
                prompt, stream = parse_generation(body)
                await admit()
                return await generate(prompt, stream)
            question, history, stream = parse_request(body)
            await admit()
            try:
                answer = await run_in_threadpool(engine.ask, question, history)
            except ValueError as exc:  # blank or over-long question
                raise ApiError(400, str(exc), "invalid_request_error", "invalid_question") from None
            except GenerationError as exc:  # the openai backend's server failed
                raise ApiError(502, str(exc), "server_error", "generation_failed") from None
            finally:
                in_flight.release()
        except ApiError as exc:
            return exc.response()
        completion = _completion(answer)
        if not stream:
            return completion
        return StreamingResponse(_events(completion), media_type="text/event-stream")

    async def generate(prompt: Prompt, stream: bool):
        """Plain generation by the in-process model; the place in flight is given back when
        the reply ends (or the client goes away)."""
        base = _base(generator_id)
        if not stream:
            try:
                text = await run_in_threadpool(lambda: "".join(engine.generator().stream(prompt)))
            except ValueError as exc:  # longer than the model's context
                raise ApiError(400, str(exc), "invalid_request_error", "context_length_exceeded") from None
            finally:
                in_flight.release()
            return {**base, "object": "chat.completion",
                    "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}]}

        def events():
            try:
                yield _chunk(base, {"role": "assistant", "content": ""})
                for piece in engine.generator().stream(prompt):
                    yield _chunk(base, {"content": piece})
                yield _chunk(base, {}, "stop")
                yield "data: [DONE]\n\n"
            finally:
                in_flight.release()

        return StreamingResponse(events(), media_type="text/event-stream")

    return api


async def _json(request: Request) -> dict:
    try:
        body = await request.json()
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, "the request body is not JSON", "invalid_request_error") from None
    if not isinstance(body, dict):
        raise ApiError(400, "the request body must be a JSON object", "invalid_request_error")
    return body


def _messages(body: dict) -> list[dict]:
    """The request's messages: a non-empty list, each with a role."""
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise ApiError(400, "messages must be a non-empty list", "invalid_request_error", "invalid_messages")
    if not all(isinstance(m, dict) and isinstance(m.get("role"), str) for m in messages):
        raise ApiError(400, "each message needs a role and content", "invalid_request_error", "invalid_messages")
    return messages


def parse_request(body: dict) -> tuple[str, list[dict], bool]:
    """(question, history, stream) from a chat completion request."""
    turns = [{"role": m["role"], "content": _text(m.get("content"))} for m in _messages(body) if m["role"] in ("user", "assistant")]
    if not turns or turns[-1]["role"] != "user":
        raise ApiError(400, "the last message must be the user's question", "invalid_request_error", "invalid_messages")
    return turns[-1]["content"], [t for t in turns[:-1] if t["content"].strip()], bool(body.get("stream"))


def parse_generation(body: dict) -> tuple[Prompt, bool]:
    """(prompt, stream) from a plain generation request: the messages as given."""
    turns = [{"role": m["role"], "content": _text(m.get("content"))} for m in _messages(body)]
    if sum(len(t["content"]) for t in turns) > MAX_GENERATION_CHARS:
        raise ApiError(400, f"the messages are too long (over {MAX_GENERATION_CHARS} characters)", "invalid_request_error", "context_length_exceeded")
    max_tokens = body.get("max_tokens") or body.get("max_completion_tokens") or 256
    if not isinstance(max_tokens, int) or not 0 < max_tokens <= 1024:
        raise ApiError(400, "max_tokens must be an integer from 1 to 1024", "invalid_request_error", "invalid_max_tokens")
    last = turns[-1]["content"]
    return Prompt(messages=turns, question=last, language=detect_language(last), max_tokens=max_tokens), bool(body.get("stream"))


def _text(content) -> str:
    """A message's text: a string, or the text parts of a list of content parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text")
    raise ApiError(400, "message content must be text", "invalid_request_error", "invalid_messages")


def _base(model: str) -> dict:
    return {"id": f"chatcmpl-{uuid.uuid4().hex}", "created": int(time.time()), "model": model}


def _chunk(base: dict, delta: dict, finish: str | None = None, **extra) -> str:
    chunk = {**base, "object": "chat.completion.chunk", "choices": [{"index": 0, "delta": delta, "finish_reason": finish}], **extra}
    return f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n"


def _completion(answer: Answer) -> dict:
    details = answer.to_dict()
    prompt, completion = answer.prompt_tokens or 0, answer.completion_tokens or 0
    return {
        **_base(MODEL_ID),
        "object": "chat.completion",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": answer.answer}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion},
        "assistant": {k: v for k, v in details.items() if k != "answer"},
    }


def _events(completion: dict):
    """The completion as chat.completion.chunk events: the role, the text, the end (with
    the ``assistant`` field), then ``[DONE]``."""
    base = {k: completion[k] for k in ("id", "created", "model")}
    yield _chunk(base, {"role": "assistant", "content": ""})
    yield _chunk(base, {"content": completion["choices"][0]["message"]["content"]})
    yield _chunk(base, {}, "stop", assistant=completion["assistant"], usage=completion["usage"])
    yield "data: [DONE]\n\n"
