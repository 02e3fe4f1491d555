"""Incremental builds, atomic swaps and refusal of incompatible indexes, with a fake
embedder (the indexing logic does not depend on the model)."""

import shutil

import pytest

from assistant.index.builder import IndexConfig, build_index
from assistant.index.chunking import ChunkingConfig
from assistant.index.store import (
    FORMAT_VERSION,
    IndexIncompatible,
    IndexStore,
    IndexUnavailable,
    load_generation,
)

from .conftest import ESSAY

CONFIG = IndexConfig({"model": "fake", "files": {}}, ChunkingConfig(), 1.2, 0.75)


@pytest.fixture
def corpus(tmp_path):
    d = tmp_path / "corpus"
    d.mkdir()
    shutil.copy(ESSAY, d / "essay.txt")
    (d / "a.txt").write_text("첫 번째 문서입니다. 고양이는 귀엽습니다.\n\n두 번째 문단입니다. 강아지도 귀엽습니다.\n", encoding="utf-8")
    (d / "b.md").write_text("# Bees\n\nBees make honey in hives. They dance to share where flowers are.\n", encoding="utf-8")
    return d


def build(corpus, store, embed, **kw):
    return build_index(corpus, store, CONFIG, embed, **kw)


def test_incremental_add_change_remove(corpus, tmp_path, fake_embedder):
    store = IndexStore(tmp_path / "index")
    first = build(corpus, store, fake_embedder)
    assert sorted(first.added) == ["a.txt", "b.md", "essay.txt"]
    total = first.chunks_embedded
    assert total == first.chunks_total > 20

    again = build(corpus, store, fake_embedder)
    assert again.chunks_embedded == 0 and sorted(again.unchanged) == ["a.txt", "b.md", "essay.txt"]

    (corpus / "c.txt").write_text("새 문서입니다. 세 문장이 있습니다. 마지막 문장입니다.\n", encoding="utf-8")
    added = build(corpus, store, fake_embedder)
    assert added.added == ["c.txt"] and added.chunks_embedded == 1
    assert added.units_embedded == fake_embedder.calls[-1] >= 1

    (corpus / "b.md").write_text("# Bees\n\nBees make honey.\n\nWasps do not.\n", encoding="utf-8")
    changed = build(corpus, store, fake_embedder)
    assert changed.updated == ["b.md"] and changed.chunks_embedded == 2

    (corpus / "a.txt").unlink()
    removed = build(corpus, store, fake_embedder)
    assert removed.removed == ["a.txt"] and removed.chunks_embedded == 0
    assert len(fake_embedder.calls) == 3  # the unchanged and remove-only runs embedded nothing
    gen = store.load()
    assert {c.doc_id for c in gen.chunks} == {"b.md", "c.txt", "essay.txt"}
    assert gen.vectors.shape[0] == gen.dense.ntotal == len(gen.units)
    assert len(gen.chunks) == gen.manifest["counts"]["chunks"]
    # reused vectors stay attached to their own sentence units, inside their own chunks
    texts = []
    for row, start, end in gen.units:
        chunk = gen.chunks[row]
        assert chunk.start <= start < end <= chunk.end
        texts.append(chunk.text[start - chunk.start : end - chunk.start])
    assert (abs(fake_embedder(texts, None) - gen.vectors) < 1e-6).all()


def test_settings_change_rebuilds_everything(corpus, tmp_path, fake_embedder):
    store = IndexStore(tmp_path / "index")
    n = build(corpus, store, fake_embedder).chunks_embedded
    other = IndexConfig({"model": "other", "files": {}}, ChunkingConfig(), 1.2, 0.75)
    report = build_index(corpus, store, other, fake_embedder)
    assert report.full_rebuild_reason == "embedding changed" and report.chunks_embedded == n
    smaller = IndexConfig({"model": "other", "files": {}}, ChunkingConfig(max_chars=300), 1.2, 0.75)
    report = build_index(corpus, store, smaller, fake_embedder)
    assert report.full_rebuild_reason == "chunking changed"


def test_interrupted_build_leaves_the_old_index_answering(corpus, tmp_path, fake_embedder):
    store = IndexStore(tmp_path / "index")
    build(corpus, store, fake_embedder)
    before = store.current_name()

    (corpus / "new.txt").write_text("중단될 문서입니다.\n", encoding="utf-8")

    def dying(texts, titles):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        build(corpus, store, dying)
    assert store.current_name() == before
    assert "new.txt" not in {c.doc_id for c in store.load().chunks}

    # a build killed while writing leaves a half-written folder behind; it is ignored
    # by readers and swept by the next build
    junk = store.root / ".tmp-gen-junk"
    junk.mkdir()
    (junk / "chunks.jsonl").write_text("{broken")
    assert store.current_name() == before
    report = build(corpus, store, fake_embedder)
    assert report.added == ["new.txt"] and not junk.exists()
    assert store.current_name() != before


def test_damaged_or_foreign_index_is_refused_with_a_rebuild_hint(corpus, tmp_path, fake_embedder):
    store = IndexStore(tmp_path / "index")
    build(corpus, store, fake_embedder)
    gen = store.root / store.current_name()
    manifest = (gen / "manifest.json").read_text()
    (gen / "manifest.json").write_text(manifest.replace(f'"format_version": {FORMAT_VERSION}', '"format_version": 99'))
    with pytest.raises(IndexIncompatible, match="index --full"):
        load_generation(gen)
    (gen / "manifest.json").write_text(manifest)
    (gen / "vectors.npy").write_bytes(b"garbage")
    with pytest.raises(IndexUnavailable, match="index --full"):
        load_generation(gen)
    # the next build notices and rebuilds instead of crashing
    report = build(corpus, store, fake_embedder)
    assert report.full_rebuild_reason.startswith("previous index unusable")


def test_missing_index_says_how_to_build(tmp_path):
    with pytest.raises(IndexUnavailable, match="python -m assistant index"):
        IndexStore(tmp_path / "none").load()


def test_concurrent_builds_are_serialized_by_the_lock(corpus, tmp_path, fake_embedder):
    import threading

    store = IndexStore(tmp_path / "index")
    reports, errors = [], []

    def run():
        try:
            reports.append(build(corpus, store, fake_embedder))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert sorted(r.chunks_embedded > 0 for r in reports) == [False, False, True]  # one built, two found it done
    gen = store.load()
    assert len(gen.chunks) == gen.manifest["counts"]["chunks"] and gen.dense.ntotal == len(gen.units)
