"""The index store that ``settings.index_backend`` names: files (FAISS and bm25s) or a
Milvus collection (imported only when named: it needs pymilvus)."""

from __future__ import annotations

from .store import IndexStore, Store


def open_store(settings) -> Store:
    """The store ``settings.index_backend`` names."""
    backend = settings.index_backend.strip().lower()
    if backend == "faiss":
        return IndexStore(settings.index_dir)
    if backend == "milvus":
        from .milvus import MilvusStore

        uri = settings.milvus_uri or str(settings.index_dir / "milvus.db")
        return MilvusStore(uri, settings.milvus_collection, settings.milvus_token, settings.index_dir,
                           settings.milvus_hnsw_above, settings.milvus_shards)
    raise ValueError(f"unknown index backend {settings.index_backend!r} (faiss or milvus)")
