"""The ``openai`` generation backend: any OpenAI-compatible server (llama.cpp's
``llama-server``, vLLM, Ollama, or this project's own ``/v1`` on another machine) writes
the answers; retrieval and verification stay here. Up to ``generation_slots`` questions
are generated at once (the server batches them), not one at a time behind a lock.

The first-token language rule (a GBNF grammar, as the in-process model gets) is sent to
servers that take a ``grammar`` field: llama.cpp's ``llama-server`` (it answers ``/props``)
and servers whose OpenAPI schema names the field (llama-cpp-python's). Other servers (vLLM,
Ollama) get none, and a warning says so once; ``doctor`` shows which. ``cache_prompt`` asks
llama-server to reuse each slot's prompt cache (what prepared openings do in process);
vLLM's automatic prefix caching needs nothing from the request."""

from __future__ import annotations

import json
import logging
import math
import threading
from collections.abc import Iterator

import httpx

from ..config import Settings
from .generation import Generator, Prompt, opening_grammar, yes_share

log = logging.getLogger(__name__)


class GenerationError(RuntimeError):
    """The generation server failed; the message says which and how."""


class OpenAIGenerator(Generator):
    name = "openai"

    def __init__(self, settings: Settings):
        super().__init__()
        if not settings.openai_base_url:
            raise GenerationError("the openai backend needs ASSISTANT_OPENAI_BASE_URL (e.g. http://gpu-host:8000/v1)")
        self.url = settings.openai_base_url.rstrip("/")
        self.model = settings.openai_model or settings.generator_model
        self._lock = threading.BoundedSemaphore(max(1, settings.generation_slots))
        headers = {"Authorization": f"Bearer {settings.openai_api_key}"} if settings.openai_api_key else {}
        self.http = httpx.Client(headers=headers, timeout=httpx.Timeout(settings.request_timeout, connect=10))
        self._extras: dict | None = None  # request fields the server takes; None until asked

    def extras(self) -> dict:
        """The request fields beyond OpenAI's that the server takes: ``grammar`` and, for
        llama-server, ``cache_prompt``. Asked once the server answers; empty meanwhile."""
        if self._extras is None:
            root = self.url.removesuffix("/v1")
            try:
                props = self.http.get(f"{root}/props", timeout=5)
                if props.status_code == 200 and "default_generation_settings" in props.text:  # llama-server
                    self._extras = {"grammar": True, "cache_prompt": True}
                else:
                    schema = self.http.get(f"{root}/openapi.json", timeout=5)
                    self._extras = {"grammar": schema.status_code == 200 and '"grammar"' in schema.text}
            except httpx.HTTPError:
                return {}
            if not self._extras["grammar"]:
                log.warning("the generation server at %s takes no grammar: replies are not held to the "
                            "question's language from their first letter (the language check still applies)", self.url)
        return self._extras

    def _stream(self, prompt: Prompt) -> Iterator[str]:
        body = {"model": self.model, "messages": prompt.messages, "max_tokens": prompt.max_tokens,
                "temperature": 0, "stream": True}
        extras = self.extras()
        if extras.get("cache_prompt"):
            body["cache_prompt"] = True
        if prompt.opening and extras.get("grammar"):
            body["grammar"] = opening_grammar(prompt.opening)
        try:
            with self.http.stream("POST", f"{self.url}/chat/completions", json=body) as response:
                _raise_for(response)
                for line in response.iter_lines():
                    if not line.startswith("data:") or line[5:].strip() == "[DONE]":
                        continue
                    choices = json.loads(line[5:]).get("choices") or [{}]
                    piece = (choices[0].get("delta") or {}).get("content")
                    if piece:
                        yield piece
        except httpx.HTTPError as exc:
            raise GenerationError(f"the generation server at {self.url} failed ({type(exc).__name__}: {exc})") from exc

    def judge(self, messages: list[dict]) -> float | None:
        """P("yes") from the first token's top log-probabilities; None when the server does
        not give them."""
        body = {"model": self.model, "messages": messages, "max_tokens": 1, "temperature": 0,
                "logprobs": True, "top_logprobs": 10}
        try:
            with self._lock:
                response = self.http.post(f"{self.url}/chat/completions", json=body)
            _raise_for(response)
            content = (response.json()["choices"][0].get("logprobs") or {}).get("content") or []
        except (httpx.HTTPError, KeyError, IndexError, ValueError) as exc:
            raise GenerationError(f"the generation server at {self.url} failed ({type(exc).__name__}: {exc})") from exc
        if not content:
            return None
        return yes_share({c["token"]: math.exp(c["logprob"]) for c in content[0].get("top_logprobs", [])})


def _raise_for(response: httpx.Response) -> None:
    if response.status_code >= 400:
        response.read()
        raise GenerationError(f"the generation server answered {response.status_code}: {response.text[:200]}")
