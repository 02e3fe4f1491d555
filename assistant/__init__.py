"""Bilingual (Korean/English) document assistant: ingest, index, retrieve, answer."""

from .types import Chunk, Passage

__all__ = ["Chunk", "Passage", "Engine"]
__version__ = "0.1.0"


def __getattr__(name):
    # Engine pulls in torch and faiss; import it only when asked for.
    if name == "Engine":
        from .engine import Engine

        return Engine
    raise AttributeError(name)
