"""Shared fixtures. Tests marked ``real_models`` load EmbeddingGemma (fetched through the
built-in transport on first use) and share one engine per session."""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest

from assistant.answer.generation import Generator
from assistant.types import Chunk, Passage

ROOT = Path(__file__).resolve().parent.parent
ESSAY = ROOT / "corpus" / "deep_learning_and_chatgpt.ko.txt"


def passage(text: str, paragraph: int = 1, highlight=None, dense: float = 0.6, doc: str = "doc") -> Passage:
    """A fake search result: ``text`` as paragraph ``paragraph`` of document ``doc``."""
    chunk = Chunk(f"{doc}#p{paragraph}", doc, paragraph, 100, 100 + len(text), text, "Section")
    return Passage(chunk, 1.0, dense, 1.0, highlight=highlight)


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


class FakeGenerator(Generator):
    """A fake backend that gives fixed replies in turn (the last one from then on), for the
    engine's checks on answers; it keeps the prompts it was given."""

    name = model = "fake"

    def __init__(self, *replies: str):
        super().__init__()
        self.replies = list(replies)
        self.prompts = []

    def _stream(self, prompt):
        self.prompts.append(prompt)
        yield self.replies[min(len(self.prompts), len(self.replies)) - 1]


@pytest.fixture
def fake_embedder() -> FakeEmbedder:
    return FakeEmbedder()


def indexed_engine(work: Path, *documents: Path):
    """An engine with the real models over copies of ``documents``, indexed in ``work``."""
    from assistant.config import Settings
    from assistant.engine import Engine

    corpus = work / "corpus"
    corpus.mkdir()
    for doc in documents:
        shutil.copy(doc, corpus / doc.name)
    engine = Engine(Settings.from_env(corpus_dir=corpus, index_dir=work / "index"))
    engine.build_index()
    return engine


@pytest.fixture(scope="session")
def real_engine(tmp_path_factory):
    """An engine with the real embedding model over a copy of the essay corpus."""
    return indexed_engine(tmp_path_factory.mktemp("real"), ESSAY)


@pytest.fixture
def engine_copy(real_engine, tmp_path):
    """Settings for a private copy of the real engine's corpus and index (nothing is
    embedded again), for tests that change documents."""
    from dataclasses import replace

    corpus, index = tmp_path / "corpus", tmp_path / "index"
    shutil.copytree(real_engine.settings.corpus_dir, corpus)
    shutil.copytree(real_engine.settings.index_dir, index)
    return replace(real_engine.settings, corpus_dir=corpus, index_dir=index)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_app(settings, *args: str, env: dict | None = None, host: str = "127.0.0.1", out=subprocess.DEVNULL) -> tuple[subprocess.Popen, str]:
    """Start ``app.py`` on a free port over ``settings``' corpus and index; the process and
    its URL once it accepts connections."""
    port = free_port()
    full_env = {**os.environ, **(env or {}),
                "ASSISTANT_CORPUS_DIR": str(settings.corpus_dir), "ASSISTANT_INDEX_DIR": str(settings.index_dir)}
    proc = subprocess.Popen([sys.executable, "app.py", "--host", host, "--port", str(port), *args], cwd=ROOT, env=full_env,
                            stdout=out, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 180
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return proc, f"http://127.0.0.1:{port}/"
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError(f"app did not start (exit {proc.poll()})")
            time.sleep(0.5)


def stop_app(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()


def until(page, value, done, seconds: float = 20):
    """``value()`` once ``done`` holds for it, or as it stands after ``seconds``: a browser
    page shows the result of an event when the app gets to it, later on a busy machine."""
    for _ in range(int(seconds * 5)):
        got = value()
        if done(got):
            return got
        page.wait_for_timeout(200)
    return value()


@contextmanager
def launched_app(settings, *args: str, env: dict | None = None, host: str = "127.0.0.1", log: Path | None = None):
    """Run ``app.py`` on a free port over ``settings``' corpus and index; yield its URL once
    it accepts connections. Output goes to ``log`` (read it to check what was logged)."""
    out = open(log, "w") if log else subprocess.DEVNULL
    try:
        try:
            proc, url = start_app(settings, *args, env=env, host=host, out=out)
        except RuntimeError as exc:
            pytest.fail(f"{exc}: {log.read_text()[-2000:] if log else ''}")
        try:
            yield url
        finally:
            stop_app(proc)
    finally:
        if log:
            out.close()
