"""The Milvus store (milvus-lite, real): the same passages as the file store, updates in
place by document, crashes mid-update, and a second reader seeing an update.

Indexing logic uses the fake embedder (named so); the last test uses the real model."""

from __future__ import annotations

import contextlib
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from assistant.config import Settings
from assistant.index.builder import IndexConfig, build_index
from assistant.index.chunking import ChunkingConfig
from assistant.index.milvus import UNIT, MilvusStore
from assistant.index.search import HybridRetriever
from assistant.index.store import IndexStore

from .conftest import ESSAY, ROOT, FakeEmbedder, free_port

CONFIG = IndexConfig({"model": "fake", "files": {}}, ChunkingConfig(), 1.2, 0.75)
QUERIES = ["트랜스포머 구조", "Bees make honey", "고양이와 강아지", "강화학습과 사람의 피드백", "Wasps", "새 문서의 마지막 문장"]
SEED = int(os.environ.get("CRASH_SEED") or time.time_ns() % 2**31)
KILL_TRIALS = int(os.environ.get("MILVUS_KILL_TRIALS", "20"))


class FakeQueries:
    """The fake embedder as a query encoder."""

    def __init__(self, fake: FakeEmbedder):
        self.fake = fake

    def embed_queries(self, queries):
        return self.fake(queries, [""] * len(queries))


def _corpus(root: Path) -> Path:
    corpus = root / "corpus"
    corpus.mkdir(parents=True)
    shutil.copy(ESSAY, corpus / "essay.txt")
    (corpus / "a.txt").write_text("첫 번째 문서입니다. 고양이는 귀엽습니다.\n\n두 번째 문단입니다. 강아지도 귀엽습니다.\n", encoding="utf-8")
    (corpus / "b.md").write_text("# Bees\n\nBees make honey in hives. They dance to share where flowers are.\n", encoding="utf-8")
    return corpus


def _ranked(store, fake: FakeEmbedder) -> list[list[tuple]]:
    retriever = HybridRetriever(store.load(), FakeQueries(fake), Settings())
    return [[(p.chunk.chunk_id, p.highlight, round(p.score, 5), round(p.lexical_score, 5)) for p in retriever.search(q, 8)] for q in QUERIES]


def _unit_rows(store: MilvusStore, doc_id: str) -> int:
    rows = store.client.query(store.name, filter=f'kind == {UNIT} and doc_key like "%:{doc_id}"', output_fields=["count(*)"])
    return int(rows[0]["count(*)"])


def test_milvus_ranks_as_the_file_store_through_updates(tmp_path, fake_embedder):
    corpus = _corpus(tmp_path)
    files, milvus = IndexStore(tmp_path / "index"), MilvusStore(str(tmp_path / "m" / "milvus.db"))

    def step():
        reports = [build_index(corpus, store, CONFIG, fake_embedder) for store in (files, milvus)]
        assert reports[0].chunks_total == reports[1].chunks_total
        assert files.load().manifest["counts"] == milvus.load().manifest["counts"]
        assert _ranked(files, fake_embedder) == _ranked(milvus, fake_embedder)
        return reports[1]

    assert sorted(step().added) == ["a.txt", "b.md", "essay.txt"]
    (corpus / "c.txt").write_text("새 문서입니다. 세 문장이 있습니다. 마지막 문장입니다.\n", encoding="utf-8")
    calls = len(fake_embedder.calls)
    added = step()
    assert added.added == ["c.txt"] and fake_embedder.calls[calls + 1] == added.units_embedded  # only its units
    (corpus / "b.md").write_text("# Bees\n\nBees make honey.\n\nWasps do not.\n", encoding="utf-8")
    assert step().updated == ["b.md"]
    (corpus / "a.txt").unlink()
    assert step().removed == ["a.txt"]

    view = milvus.load()
    assert _unit_rows(milvus, "a.txt") == 0 and view.count_units() == view.manifest["counts"]["units"]
    assert all(p.chunk.doc_id != "a.txt" for q in ["고양이", "강아지도 귀엽습니다"]
               for p in HybridRetriever(view, FakeQueries(fake_embedder), Settings()).search(q, 30))
    old_collections = milvus.client.list_collections()
    build_index(corpus, milvus, CONFIG, fake_embedder, full=True)
    assert milvus.client.describe_alias(milvus.name)["collection_name"] not in old_collections
    assert _ranked(files, fake_embedder) == _ranked(milvus, fake_embedder)


# ---------------------------------------------------------------------------------------
# SIGKILL during an incremental update
# ---------------------------------------------------------------------------------------


def _worker(root: str, crash_after: int) -> None:
    """``python -m tests.test_milvus ROOT K``: apply the update of ROOT/corpus to the index,
    saying when the store starts applying it; with K > 0, die by SIGKILL right after the
    K-th write to Milvus of the update. Ends with "done WRITES SECONDS"."""
    root = Path(root)
    store = MilvusStore(str(root / "milvus.db"))
    client, writes, started = store.client, [0], []
    for name in ("insert", "upsert", "delete"):
        def counted(*args, _write=getattr(client, name), **kwargs):
            out = _write(*args, **kwargs)
            writes[0] += bool(started)
            if started and writes[0] == crash_after:
                os.kill(os.getpid(), signal.SIGKILL)
            return out

        setattr(client, name, counted)
    apply = store.apply

    def announced(update, previous):
        os.write(1, b"apply\n")
        started.append(time.perf_counter())
        return apply(update, previous)

    store.apply = announced
    build_index(root / "corpus", store, CONFIG, FakeEmbedder())
    os.write(1, f"done {writes[0]} {time.perf_counter() - started[0]:.3f}\n".encode())


def _state(store: MilvusStore) -> dict:
    """What a reader sees: documents, each document's chunk texts, and the units count."""
    view = store.load()
    docs: dict[str, list[str]] = {}
    for chunk, _, _ in view.unit_passages():
        texts = docs.setdefault(chunk.doc_id, [])
        if chunk.text not in texts:
            texts.append(chunk.text)
    return {"documents": sorted(view.manifest["documents"]), "texts": docs, "units": view.count_units(),
            "counted": view.manifest["counts"]["units"], "size": view.size}


def test_killed_milvus_updates_leave_old_or_new_index(tmp_path, fake_embedder):
    rng = random.Random(SEED)
    print(f"\n[milvus-kill] seed {SEED} (replay with CRASH_SEED={SEED})")
    base = tmp_path / "base"
    corpus = _corpus(base)
    build_index(corpus, MilvusStore(str(base / "milvus.db")), CONFIG, fake_embedder)
    old = _state(MilvusStore(str(base / "milvus.db")))
    changed = tmp_path / "changed"
    shutil.copytree(corpus, changed)
    (changed / "b.md").write_text("# Bees\n\nBees make honey.\n\nWasps do not.\n", encoding="utf-8")
    (changed / "a.txt").unlink()
    (changed / "c.txt").write_text("새 문서입니다. 세 문장이 있습니다. 마지막 문장입니다.\n", encoding="utf-8")
    # A larger update, so that kills land inside it.
    (changed / "essay2.txt").write_text("사본\n\n" + ESSAY.read_text(encoding="utf-8"), encoding="utf-8")

    def trial(name: str, crash_after: int = 0, delay: float | None = None) -> tuple[bool, dict, str]:
        """Run the update in a child that dies after its ``crash_after``-th write, or is
        killed ``delay`` s after it starts applying; what a reader sees afterwards."""
        root = tmp_path / name
        shutil.copytree(base, root)
        shutil.rmtree(root / "corpus")
        shutil.copytree(changed, root / "corpus")
        proc = subprocess.Popen([sys.executable, "-m", "tests.test_milvus", str(root), str(crash_after)], cwd=ROOT,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert proc.stdout.readline() == b"apply\n", proc.stderr.read().decode()[-2000:]
        if delay is not None:
            time.sleep(delay)
            proc.send_signal(signal.SIGKILL)
        out, err = proc.communicate(timeout=120)
        killed = proc.returncode == -signal.SIGKILL
        assert killed or proc.returncode == 0, err.decode()[-2000:]
        return killed, _state(MilvusStore(str(root / "milvus.db"))), out.decode()

    _, new, out = trial("calibration")
    assert new["documents"] == ["b.md", "c.txt", "essay.txt", "essay2.txt"] and new["texts"] != old["texts"]
    _, writes, seconds = out.split()
    writes, seconds = int(writes), float(seconds)
    kills, outcomes = 0, Counter()
    for i in range(KILL_TRIALS):
        # Half die right after a chosen write (every step boundary can come up), half at a
        # random moment of the update.
        if i % 2 == 0:
            killed, seen, _ = trial(f"t{i}", crash_after=rng.randint(1, writes))
        else:
            killed, seen, _ = trial(f"t{i}", delay=rng.uniform(0, seconds))
        kills += killed
        assert seen["units"] == seen["counted"], f"trial {i}: rows of another version are visible"
        assert seen in (old, new), f"trial {i}: a mix of the old and the new version"
        outcomes["old" if seen == old else "new"] += 1
        # The next build finishes the job and leaves no leftovers.
        root = tmp_path / f"t{i}"
        build_index(root / "corpus", MilvusStore(str(root / "milvus.db")), CONFIG, fake_embedder)
        store = MilvusStore(str(root / "milvus.db"))
        after = _state(store)
        assert after == new
        build_index(root / "corpus", store, CONFIG, fake_embedder)  # a no-op build still clears leftovers
        rows = store.client.query(store.name, filter=f"kind == {UNIT}", output_fields=["count(*)"])
        assert rows[0]["count(*)"] == after["counted"] and store.head()["stale"] == []
        shutil.rmtree(root)
    print(f"[milvus-kill] {kills} of {KILL_TRIALS} updates killed ({writes} writes, {seconds:.2f} s to apply); "
          f"afterwards {outcomes['old']} old, {outcomes['new']} new")
    assert kills >= KILL_TRIALS * 3 // 4


def _die_at_log_cleanup() -> None:
    """Make this process die by SIGKILL when a milvus-lite flush has committed its file and
    is about to delete the write-ahead log it came from."""
    from milvus_lite.storage.wal import WAL

    cleanup = WAL.close_and_delete

    def dying(wal):
        if wal.data_path and os.path.exists(wal.data_path) and os.path.getsize(wal.data_path):
            os.kill(os.getpid(), signal.SIGKILL)
        cleanup(wal)

    WAL.close_and_delete = dying


def _update_dying_at_log_cleanup(root: str) -> None:
    """``python -m tests.test_milvus --die-at-log-cleanup ROOT``: apply the update of
    ROOT/corpus and die (``_die_at_log_cleanup``) in milvus-lite's flush at exit."""
    _die_at_log_cleanup()
    build_index(Path(root) / "corpus", MilvusStore(str(Path(root) / "milvus.db")), CONFIG, FakeEmbedder())


def _serve_dying_at_log_cleanup(data_dir: str, port: str) -> None:
    """``python -m tests.test_milvus --serve-dying DIR PORT``: ``milvus-lite server`` that
    dies (``_die_at_log_cleanup``) in its first flush of written rows."""
    from milvus_lite.cmdline import main

    _die_at_log_cleanup()
    sys.exit(main(["server", "--data-dir", data_dir, "--port", port]))


@contextlib.contextmanager
def _milvus_server(data_dir: Path, dying: bool = False):
    """A ``milvus-lite server`` on a free port (``dying``: ``_serve_dying_at_log_cleanup``);
    yields ``(process, uri)`` once it accepts connections, and kills it afterwards."""
    port = free_port()
    command = ([sys.executable, "-m", "tests.test_milvus", "--serve-dying", str(data_dir), str(port)] if dying
               else ["milvus-lite", "server", "--data-dir", str(data_dir), "--port", str(port)])
    server = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.time() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert server.poll() is None and time.time() < deadline, server.stderr.read().decode()[-2000:]
                time.sleep(0.2)
        yield server, f"http://127.0.0.1:{port}"
    finally:
        server.kill()
        server.wait()


def test_a_kill_between_flush_and_log_cleanup_shows_each_row_once(tmp_path, fake_embedder):
    """milvus-lite replays a write-ahead log that a flush had already committed to a file
    when the process died before deleting it, and then returns those rows twice: the
    index must still load, each row once."""
    corpus = _corpus(tmp_path)
    store = MilvusStore(str(tmp_path / "milvus.db"))
    build_index(corpus, store, CONFIG, fake_embedder)
    store.close()
    (corpus / "a.txt").unlink()
    proc = subprocess.run([sys.executable, "-m", "tests.test_milvus", "--die-at-log-cleanup", str(tmp_path)], cwd=ROOT,
                          capture_output=True, timeout=120)
    assert proc.returncode == -signal.SIGKILL, proc.stderr.decode()[-2000:]
    seen = _state(MilvusStore(str(tmp_path / "milvus.db")))
    assert seen["documents"] == ["b.md", "essay.txt"] and seen["units"] == seen["counted"]


def test_a_server_killed_between_flush_and_log_cleanup_shows_each_row_once(tmp_path, fake_embedder):
    """The same on a ``milvus-lite server``: killed in a flush after an update (here the
    flush is asked for; milvus-lite also flushes by itself), then started again, it serves
    each row once to a new reader."""
    corpus, data = _corpus(tmp_path), tmp_path / "server"
    with _milvus_server(data) as (_, uri):
        build_index(corpus, MilvusStore(uri, lock_dir=tmp_path), CONFIG, fake_embedder)
    (corpus / "a.txt").unlink()
    with _milvus_server(data, dying=True) as (server, uri):
        store = MilvusStore(uri, lock_dir=tmp_path)
        build_index(corpus, store, CONFIG, fake_embedder)
        with pytest.raises(Exception):
            store.client.flush(store.name)
        assert server.wait(timeout=60) == -signal.SIGKILL
    with _milvus_server(data) as (_, uri):
        seen = _state(MilvusStore(uri, lock_dir=tmp_path))
    assert seen["documents"] == ["b.md", "essay.txt"] and seen["units"] == seen["counted"]


# ---------------------------------------------------------------------------------------
# Two readers of one index
# ---------------------------------------------------------------------------------------


def _reader() -> None:
    """``python -m tests.test_milvus --reader URI``: for each line read, the documents of
    the index as this process's engine sees it now."""
    from assistant.engine import Engine

    engine = Engine(Settings.from_env(index_backend="milvus", milvus_uri=sys.argv[2]))
    engine.embedder = FakeQueries(FakeEmbedder())
    engine.check_compatible = lambda manifest: None  # the index was built with the fake embedder
    for _ in sys.stdin:
        # The fake embedder gives a text's own vector back, so this finds that sentence first
        # whatever the fusion makes of the others. The engine reloads a changed index, as in the app.
        passages = engine.search("Wasps do not.", 3)
        print(json.dumps({"documents": sorted(engine.retriever.view.manifest["documents"]), "top": passages[0].chunk.text}), flush=True)


def test_an_update_is_seen_by_another_process_without_restart(tmp_path, fake_embedder):
    """Two processes on one Milvus server (``milvus-lite server``, the form replicas use):
    this one writes, a reader process with its own engine sees the update on its next
    search. (A milvus-lite file is opened by one process at a time.)"""
    reader = None
    with _milvus_server(tmp_path / "server") as (_, uri):
        try:
            corpus = _corpus(tmp_path)
            store = MilvusStore(uri, lock_dir=tmp_path)
            build_index(corpus, store, CONFIG, fake_embedder)
            reader = subprocess.Popen([sys.executable, "-m", "tests.test_milvus", "--reader", uri], cwd=ROOT, text=True,
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)

            def ask() -> dict:
                reader.stdin.write("?\n")
                reader.stdin.flush()
                line = reader.stdout.readline()
                assert line, reader.stderr.read()[-2000:]
                return json.loads(line)

            before = ask()
            assert before["documents"] == ["a.txt", "b.md", "essay.txt"] and "Wasps" not in before["top"]
            (corpus / "b.md").write_text("# Bees\n\nBees make honey.\n\nWasps do not.\n", encoding="utf-8")
            (corpus / "a.txt").unlink()
            build_index(corpus, store, CONFIG, fake_embedder)
            after = ask()
            assert after["documents"] == ["b.md", "essay.txt"] and after["top"] == "Wasps do not."
        finally:
            if reader is not None:
                reader.kill()
                reader.wait()


# ---------------------------------------------------------------------------------------
# The real model
# ---------------------------------------------------------------------------------------


@pytest.mark.real_models
def test_engine_on_milvus_finds_what_the_file_index_finds(real_engine, tmp_path):
    """The essay indexed into milvus-lite by the engine (real model) ranks every essay
    retrieval question's passages as the FAISS index does, with the same scores."""
    settings = Settings.from_env(corpus_dir=real_engine.settings.corpus_dir, index_dir=tmp_path / "index",
                                 index_backend="milvus", model_cache=real_engine.settings.model_cache)
    from assistant.engine import Engine

    engine = Engine(settings)
    engine.embedder = real_engine.embedder
    report = engine.build_index()
    assert report.chunks_total == real_engine.retriever.view.size
    questions = [json.loads(line)["question"] for line in (ROOT / "bench/data/essay_retrieval.jsonl").read_text(encoding="utf-8").splitlines()]
    for q in questions:
        ours = [(p.chunk.chunk_id, p.highlight) for p in engine.search(q)]
        theirs = [(p.chunk.chunk_id, p.highlight) for p in real_engine.search(q)]
        assert ours == theirs
        scores = np.array([p.score for p in engine.search(q)]) - np.array([p.score for p in real_engine.search(q)])
        assert np.abs(scores).max() < 1e-4

    from assistant.doctor import OK, WARN, check_index

    found = {c.name: c for c in check_index(engine, quick=True)}
    assert all(c.status == OK for c in found.values()), found
    store = engine.store
    head = store.head()  # as an update killed after its commit leaves it
    store._write_head(store.name, {**head, "stale": ["20000101-000000-000000000:gone.txt"], "seq": head["seq"] + 1},
                      store._width(store.name))
    assert {c.name: c.status for c in check_index(engine, quick=True)}["index leftovers"] == WARN
    engine.build_index()
    assert store.head()["stale"] == [] and engine.search(questions[0])


def test_unreachable_milvus_is_named(tmp_path):
    from assistant.engine import Engine
    from assistant.index.store import IndexUnavailable

    engine = Engine(Settings.from_env(index_dir=tmp_path, index_backend="milvus", milvus_uri="http://127.0.0.1:9"))
    with pytest.raises(IndexUnavailable, match="cannot reach Milvus at http://127.0.0.1:9"):
        engine.search("anything")


if __name__ == "__main__":
    if sys.argv[1] == "--reader":
        _reader()
    elif sys.argv[1] == "--die-at-log-cleanup":
        _update_dying_at_log_cleanup(sys.argv[2])
    elif sys.argv[1] == "--serve-dying":
        _serve_dying_at_log_cleanup(sys.argv[2], sys.argv[3])
    else:
        _worker(sys.argv[1], int(sys.argv[2]))
