"""Shared fixtures. Tests marked ``real_models`` load EmbeddingGemma (fetched through the
built-in transport on first use) and share one engine per session."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
ESSAY = ROOT / "corpus" / "deep_learning_and_chatgpt.ko.txt"


class FakeEmbedder:
    """A fake for unit tests of indexing logic: deterministic vectors from text hashes,
    counting how many texts it was asked to embed."""

    dim = 16

    def __init__(self):
        self.calls: list[int] = []

    def __call__(self, texts, titles) -> np.ndarray:
        self.calls.append(len(texts))
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, text in enumerate(texts):
            seed = int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "little")
            v = np.random.default_rng(seed).standard_normal(self.dim)
            out[i] = v / np.linalg.norm(v)
        return out

    @property
    def embedded(self) -> int:
        return sum(self.calls)


@pytest.fixture
def fake_embedder() -> FakeEmbedder:
    return FakeEmbedder()


@pytest.fixture(scope="session")
def real_engine(tmp_path_factory):
    """An engine with the real embedding model over a copy of the essay corpus."""
    from assistant.config import Settings
    from assistant.engine import Engine

    work = tmp_path_factory.mktemp("real")
    corpus = work / "corpus"
    corpus.mkdir()
    shutil.copy(ESSAY, corpus / ESSAY.name)
    engine = Engine(Settings.from_env(corpus_dir=corpus, index_dir=work / "index"))
    engine.build_index()
    return engine
