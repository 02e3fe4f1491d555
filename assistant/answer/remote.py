"""The ``openai`` generation backend: any OpenAI-compatible server (llama.cpp's
``llama-server``, vLLM, Ollama, or this project's own ``/v1`` on another machine) writes
the answers; retrieval and verification stay here. Up to ``generation_slots`` questions
are generated at once (the server batches them), not one at a time behind a lock."""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Iterator

import httpx

from ..config import Settings
from .generation import Generator, Prompt, yes_share


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

    def _stream(self, prompt: Prompt) -> Iterator[str]:
        body = {"model": self.model, "messages": prompt.messages, "max_tokens": prompt.max_tokens,
                "temperature": 0, "stream": True}
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
