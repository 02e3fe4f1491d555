"""Dense vectors from a sentence-transformers model, with the model's own query and
document prompts, L2-normalized so inner product is cosine similarity."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)


class Embedder:
    def __init__(self, path: Path, device: str = "cpu", truncate_dim: int | None = None, batch_size: int = 8):
        from sentence_transformers import SentenceTransformer

        self.model = SentenceTransformer(str(path), device=device, truncate_dim=truncate_dim)
        self.batch_size = batch_size
        self._lock = threading.Lock()
        self.dim = self.model.get_embedding_dimension()
        prompts = self.model.prompts or {}
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
        # Sorting by length keeps padding low; sentence-transformers restores the order.
        with self._lock:
            vecs = self.model.encode(
                list(texts),
                prompt=prompt,
                batch_size=self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=progress,
            )
        return np.ascontiguousarray(vecs, dtype=np.float32)
