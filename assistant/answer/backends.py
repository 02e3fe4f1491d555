"""The generator that a backend name and the settings name: one instance per process,
backend and model (a model is loaded once), made on first use."""

from __future__ import annotations

import threading

from ..config import Settings
from .generation import (
    ExtractiveGenerator,
    Generator,
    LlamaGenerator,
    TransformersGenerator,
)
from .remote import OpenAIGenerator

BACKENDS = ("llama", "transformers", "extractive", "openai")

_cache: dict[tuple, Generator] = {}
_cache_lock = threading.Lock()


def load_generator(backend: str, settings: Settings, resolve_path) -> Generator:
    """The process-wide instance for ``backend`` and ``settings.generator_model`` (and the
    llama.cpp settings); ``resolve_path(ref)`` turns a model reference into a local path
    (fetching it when needed)."""
    if backend not in BACKENDS:
        raise ValueError(f"unknown generator {backend!r}; choose one of {', '.join(BACKENDS)}")
    ref = settings.generator_model
    key = (backend, ref) + {
        "llama": (settings.llama_context, settings.llama_batch, settings.llama_threads, settings.prepared_mb),
        "openai": (settings.openai_base_url, settings.openai_model, settings.generation_slots),
    }.get(backend, ())
    with _cache_lock:
        if key not in _cache:
            if backend == "extractive":
                _cache[key] = ExtractiveGenerator()
            elif backend == "openai":
                _cache[key] = OpenAIGenerator(settings)
            elif backend == "llama":
                _cache[key] = LlamaGenerator(resolve_path(ref), ref, settings)
            else:
                path = resolve_path(ref)
                gguf = path.name if path.is_file() and path.suffix == ".gguf" else None
                _cache[key] = TransformersGenerator(ref, path.parent if gguf else path, gguf)
        return _cache[key]
