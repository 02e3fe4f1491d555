"""Dense vectors from a sentence-transformers model, with the model's own query and
document prompts, L2-normalized so inner product is cosine similarity.

Backends that compute (nearly) the same vectors:

- ``torch``: ``SentenceTransformer.encode`` in float32 (the reference);
- ``openvino-f32``, ``openvino-bf16``, ``openvino-int8``: the whole sentence-transformers
  pipeline exported once to OpenVINO (``openvino``), in float32, bfloat16 (where the CPU
  computes it natively) or int8;
- ``openvino``: the OpenVINO export in the CPU's best float precision.

``auto`` (the default) is the one measured fastest on this machine among those whose
retrieval matches float32 (``choice``), measured once and cached with the export. Nothing
is downloaded: exports are made from the verified model folder.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import numpy as np

from . import openvino

log = logging.getLogger(__name__)

BACKENDS = ("auto", "torch", "openvino") + tuple(f"openvino-{v}" for v in openvino.VARIANTS)


class EmbeddingBackendError(RuntimeError):
    """The requested embedding backend cannot be used."""


def resolve_backend(backend: str, device: str = "cpu", allow_bf16: bool = True) -> str:
    """The concrete backend (``torch`` or ``openvino-<variant>``) for a setting value other
    than a measured ``auto``: ``auto`` here is ``torch`` off the CPU or without OpenVINO."""
    backend = (backend or "auto").strip().lower()
    if backend not in BACKENDS:
        raise EmbeddingBackendError(f"unknown embedding backend {backend!r} (choose from {', '.join(BACKENDS)})")
    if backend == "auto" and not (device == "cpu" and openvino.available()):
        return "torch"
    if backend == "torch":
        return backend
    if device != "cpu":
        raise EmbeddingBackendError(f"the openvino embedding backends run on the CPU, not on {device!r}")
    if not openvino.available():
        raise EmbeddingBackendError("the openvino embedding backends need the openvino package (pip install -r requirements.txt)")
    if backend == "openvino-int8" and not openvino.quantization_available():
        raise EmbeddingBackendError("the openvino-int8 embedding backend needs the nncf package (pip install -r requirements.txt)")
    return f"openvino-{openvino.precision(allow_bf16)}" if backend in ("openvino", "auto") else backend


def backend_tag(backend: str) -> str | None:
    """What an index manifest records about how its vectors were computed (``backend``:
    a concrete one): None for the torch float32 reference (so indexes built before
    backends existed stay valid), else the backend's name. Vectors from different backends
    differ slightly, so a change of backend rebuilds the index."""
    return None if backend == "torch" else backend


class Embedder:
    def __init__(
        self,
        path: Path,
        device: str = "cpu",
        truncate_dim: int | None = None,
        batch_size: int = 8,
        backend: str = "torch",
        export_dir: Path | None = None,
        allow_bf16: bool = True,
    ):
        """``backend``: a concrete one (``resolve_backend``, or the measured choice)."""
        self.path = Path(path)
        self.batch_size = batch_size
        self.truncate_dim = truncate_dim
        self.backend = resolve_backend(backend, device, allow_bf16)
        self.tag = backend_tag(self.backend)
        self._lock = threading.Lock()
        if self.backend == "torch":
            from sentence_transformers import SentenceTransformer

            self.model = SentenceTransformer(str(path), device=device, truncate_dim=truncate_dim)
            self.dim = self.model.get_embedding_dimension()
            prompts = self.model.prompts or {}
        else:
            self.model = None
            variant = self.backend.removeprefix("openvino-")
            self._ov = openvino.Encoder(self.path, export_dir or self.path.parent / ".exports", variant, allow_bf16)
            full = self._ov.dim
            self.dim = min(truncate_dim, full) if truncate_dim else full
            prompts = openvino.read_prompts(self.path)
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
