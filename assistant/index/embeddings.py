"""Dense vectors from a sentence-transformers model, with the model's own query and
document prompts, L2-normalized so inner product is cosine similarity.

Two backends compute the same vectors:

- ``torch``: ``SentenceTransformer.encode`` in float32 (the reference).
- ``openvino``: the whole sentence-transformers pipeline (transformer, mean pooling, the
  two Dense layers, normalization) exported once from the local model folder with
  ``torch.export`` and converted to OpenVINO, then run in bfloat16 where the CPU supports
  it (AVX512_BF16 / AMX), else float32. About 5x faster than ``torch`` on a 2-core AVX-512
  CPU, mean cosine to the float32 vectors 0.9999 (bench/indexing.py).

The export never downloads anything: it is made from the verified model folder at first
use (under a file lock, written aside and renamed into place, checked against the torch
output before it is kept) and cached under ``export_dir``, keyed by the model's files and
the library versions that produced it. ``auto`` (the default) is ``openvino`` on a CPU
where OpenVINO is installed, else ``torch``.
"""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path

import numpy as np

from . import openvino

log = logging.getLogger(__name__)

BACKENDS = ("auto", "torch", "openvino")


class EmbeddingBackendError(RuntimeError):
    """The requested embedding backend cannot be used."""


def resolve_backend(backend: str, device: str = "cpu") -> str:
    """``torch`` or ``openvino`` for a setting value (``auto`` picks OpenVINO on a CPU
    where it is installed)."""
    backend = (backend or "auto").strip().lower()
    if backend not in BACKENDS:
        raise EmbeddingBackendError(f"unknown embedding backend {backend!r} (choose from {', '.join(BACKENDS)})")
    if backend == "auto":
        return "openvino" if device == "cpu" and openvino.available() else "torch"
    if backend == "openvino":
        if device != "cpu":
            raise EmbeddingBackendError(f"the openvino embedding backend runs on the CPU, not on {device!r}")
        if not openvino.available():
            raise EmbeddingBackendError("the openvino embedding backend needs the openvino package (pip install -r requirements.txt)")
    return backend


def backend_tag(backend: str, device: str = "cpu") -> str | None:
    """What an index manifest records about how its vectors were computed: None for the
    torch float32 reference (so indexes built before backends existed stay valid), else
    e.g. ``openvino-bf16``. Vectors from different tags differ slightly, so a change of
    tag rebuilds the index."""
    name = resolve_backend(backend, device)
    if name == "torch":
        return None
    return f"openvino-{openvino.precision()}"


class Embedder:
    def __init__(
        self,
        path: Path,
        device: str = "cpu",
        truncate_dim: int | None = None,
        batch_size: int = 8,
        backend: str = "auto",
        export_dir: Path | None = None,
    ):
        self.path = Path(path)
        self.batch_size = batch_size
        self.truncate_dim = truncate_dim
        self.backend = resolve_backend(backend, device)
        self.tag = backend_tag(backend, device)
        self._lock = threading.Lock()
        if self.backend == "torch":
            from sentence_transformers import SentenceTransformer

            self.model = SentenceTransformer(str(path), device=device, truncate_dim=truncate_dim)
            self.dim = self.model.get_embedding_dimension()
            prompts = self.model.prompts or {}
        else:
            self.model = None
            self._ov = openvino.Encoder(self.path, export_dir or self.path.parent / ".exports", openvino.precision())
            full = self._ov.dim
            self.dim = min(truncate_dim, full) if truncate_dim else full
            prompts = _read_prompts(self.path)
        self._doc_prompt = prompts.get("document", "")
        self._query_prompt = prompts.get("query", "")

    def embed_documents(self, texts: list[str], titles: list[str] | None = None, progress: bool = False) -> np.ndarray:
        """Embed passages. Where the model's document prompt carries a title slot
        ("title: none | text: "), the passage's title fills it."""
        if titles is not None and "title: none" in self._doc_prompt:
            texts = [self._doc_prompt.replace("none", t or "none", 1) + x for x, t in zip(texts, titles)]
            prompt = ""
        else:
            prompt = self._doc_prompt
        return self._encode(texts, prompt, progress)

    def embed_queries(self, texts: list[str], progress: bool = False) -> np.ndarray:
        return self._encode(texts, self._query_prompt, progress)

    def _encode(self, texts: list[str], prompt: str, progress: bool) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            if self.model is None:
                vecs = self._ov.encode([prompt + t for t in texts], self.batch_size, progress)
                if self.truncate_dim and self.truncate_dim < vecs.shape[1]:
                    vecs = vecs[:, : self.truncate_dim]
                vecs = vecs / np.maximum(np.linalg.norm(vecs, axis=1, keepdims=True), 1e-12)
            else:
                # Sorting by length keeps padding low; sentence-transformers restores the order.
                vecs = self.model.encode(
                    list(texts),
                    prompt=prompt,
                    batch_size=self.batch_size,
                    normalize_embeddings=True,
                    convert_to_numpy=True,
                    show_progress_bar=progress,
                )
        return np.ascontiguousarray(vecs, dtype=np.float32)


def _read_prompts(path: Path) -> dict:
    cfg = path / "config_sentence_transformers.json"
    if not cfg.is_file():
        return {}
    return json.loads(cfg.read_text(encoding="utf-8")).get("prompts") or {}
