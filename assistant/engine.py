"""The engine: one object that owns the models and the index. The CLI and the web app
only wrap it; Python users import it.

    from assistant import Engine
    engine = Engine()
    for passage in engine.search("Transformer 구조는 어떤 논문에서 소개되었나요?"):
        print(passage.chunk.doc_id, passage.chunk.paragraph, passage.score)
"""

from __future__ import annotations

import logging
import threading
from functools import cached_property
from pathlib import Path

from .chunking import ChunkingConfig
from .config import Settings
from .embeddings import Embedder
from .indexer import IndexConfig, build_index
from .models import ModelStore, fingerprint, resolve
from .retrieval import HybridRetriever
from .store import IndexIncompatible, IndexStore
from .types import BuildReport, Passage

log = logging.getLogger(__name__)


class Engine:
    def __init__(self, settings: Settings | None = None):
        self.settings = settings or Settings.from_env()
        self.models = ModelStore(self.settings.model_cache)
        self.store = IndexStore(self.settings.index_dir)
        self._retriever: HybridRetriever | None = None
        self._lock = threading.Lock()

    # -- models --------------------------------------------------------------------
    @cached_property
    def embedding_path(self) -> Path:
        return resolve(self.settings.embedding_model, self.models, hub=self.settings.hub)

    @cached_property
    def embedder(self) -> Embedder:
        s = self.settings
        return Embedder(self.embedding_path, device=s.device, truncate_dim=s.embedding_dim, batch_size=s.embedding_batch_size)

    @cached_property
    def chunking(self) -> ChunkingConfig:
        return ChunkingConfig(max_chars=self.settings.chunk_max_chars)

    def index_config(self) -> IndexConfig:
        """What an index built now depends on, and what a loaded index must match."""
        s = self.settings
        embedding = fingerprint(s.embedding_model, self.embedding_path, self.models)
        embedding["truncate_dim"] = s.embedding_dim
        return IndexConfig(embedding, self.chunking, s.bm25_k1, s.bm25_b)

    # -- index ---------------------------------------------------------------------
    def build_index(self, full: bool = False, progress: bool = False) -> BuildReport:
        def embed(texts: list[str], titles: list[str]):
            return self.embedder.embed_documents(texts, titles=titles, progress=progress)

        report = build_index(self.settings.corpus_dir, self.store, self.index_config(), embed, full=full)
        with self._lock:
            self._retriever = None  # pick up the new generation on next search
        return report

    def ensure_index(self, progress: bool = False) -> None:
        if not self.store.exists():
            self.build_index(progress=progress)

    @property
    def retriever(self) -> HybridRetriever:
        with self._lock:
            current = self.store.current_name()
            if self._retriever is None or self._retriever.generation.path.name != current:
                generation = self.store.load()
                self._check_compatible(generation.manifest)
                self._retriever = HybridRetriever(generation, self.embedder, self.settings)
            return self._retriever

    def _check_compatible(self, manifest: dict) -> None:
        expected = self.index_config().manifest()
        for key in ("embedding", "lexical", "chunking"):
            if manifest.get(key) != expected[key]:
                built = manifest.get(key, {}).get("model", manifest.get(key))
                raise IndexIncompatible(
                    f"the index was built with a different {key} setting ({built}); "
                    f"rebuild it with: python -m assistant index --full"
                )

    # -- search --------------------------------------------------------------------
    def search(self, query: str, k: int | None = None) -> list[Passage]:
        """The best passages for ``query`` (Korean or English). Raises ValueError for a blank
        or over-long query."""
        query = (query or "").strip()
        if not query:
            raise ValueError("the query is empty")
        if len(query) > self.settings.max_query_chars:
            raise ValueError(f"the query is too long ({len(query)} characters; the limit is {self.settings.max_query_chars})")
        return self.retriever.search(query, k or self.settings.top_k)

