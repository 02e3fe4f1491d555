"""The document library (adding, replacing, removing, limits, names) and the indexer's
duplicate handling, with a fake embedder: no model is needed for this logic."""

from pathlib import Path

import pytest

from assistant.index.builder import IndexConfig, build_index
from assistant.index.chunking import ChunkingConfig
from assistant.index.store import IndexStore
from assistant.ingest.library import Library, LibraryError, safe_name
from assistant.ingest.limits import Limits

CONFIG = IndexConfig({"model": "fake", "files": {}}, ChunkingConfig(), 1.2, 0.75)
CATS = "고양이는 귀여운 동물입니다. 고양이는 하루에 열여섯 시간을 잡니다.\n\nCats sleep sixteen hours a day.\n"
BEES = "# Bees\n\nBees make honey in hives. They dance to share where flowers are.\n"


@pytest.fixture
def library(tmp_path):
    return Library(tmp_path / "corpus", Limits(max_file_bytes=10_000, max_files=4, max_doc_chars=5_000))


def write(folder: Path, name: str, text: str | bytes) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return path


@pytest.mark.parametrize("offered, expected", [
    ("../../etc/passwd.txt", "passwd.txt"),
    ("/abs/path/report.md", "report.md"),
    ("..\\windows\\notes.txt", "notes.txt"),
    ("bad\x00name.txt", "bad_name.txt"),
    ("  .hidden.txt", "hidden.txt"),
    ("보고서 2024.TXT", "보고서 2024.txt"),
    ("a" * 5000 + ".txt", "a" * 116 + ".txt"),
])
def test_safe_name_keeps_only_a_plain_file_name(offered, expected):
    assert safe_name(offered) == expected


@pytest.mark.parametrize("offered", ["", "..", "/", ".txt", "\x00\x00.txt", "script.exe", "noextension"])
def test_safe_name_refuses_what_is_left_unusable(offered):
    with pytest.raises(LibraryError):
        safe_name(offered)


def test_add_copies_checks_and_reports_each_file(library, tmp_path):
    src = tmp_path / "incoming"
    results = library.add([
        write(src, "cats.txt", CATS),
        write(src, "cats-copy.txt", CATS),
        write(src, "empty.txt", ""),
        write(src, "big.txt", "가" * 6000),
    ])
    by_source = {r.source: r for r in results}
    assert by_source["cats.txt"].status == "added"
    assert by_source["cats-copy.txt"].status == "duplicate" and "cats.txt" in by_source["cats-copy.txt"].reason
    assert by_source["empty.txt"].status == "refused" and "empty" in by_source["empty.txt"].reason
    assert by_source["big.txt"].status == "refused" and "limit" in by_source["big.txt"].reason
    assert sorted(p.name for p in library.root.iterdir()) == ["cats.txt"]


def test_add_refuses_too_many_files_and_never_writes_outside_the_corpus(library, tmp_path):
    src = tmp_path / "incoming"
    paths = [write(src, f"f{i}.txt", f"문서 {i}번의 내용입니다. 충분히 긴 문장입니다.\n") for i in range(5)]
    with pytest.raises(LibraryError, match="too many"):
        library.add(paths)
    results = library.add([paths[0]], names=["../../outside.txt"])
    assert results[0].name == "outside.txt"
    assert (library.root / "outside.txt").is_file() and not (tmp_path / "outside.txt").exists()


def test_add_refuses_unreadable_files_and_replaces_by_name(library, tmp_path):
    src = tmp_path / "incoming"
    bad = library.add([write(src, "binary.txt", b"\x00\x01\x02" * 100)])[0]
    assert bad.status == "refused" and "binary" in bad.reason and "incoming" not in bad.reason
    assert library.add([write(src, "bees.md", BEES)])[0].status == "added"
    assert library.add([write(src, "bees.md", BEES)])[0].status == "unchanged"
    assert library.add([write(src / "v2", "bees.md", BEES + "\nWasps do not make honey.\n")])[0].status == "replaced"
    assert "Wasps" in (library.root / "bees.md").read_text(encoding="utf-8")
    assert not list(library.root.glob(".incoming*"))


def test_add_replaces_a_symlink_never_its_target(library, tmp_path):
    outside = write(tmp_path, "outside.txt", "바깥 파일입니다. 바뀌면 안 됩니다.\n")
    library.root.mkdir(parents=True, exist_ok=True)
    (library.root / "link.txt").symlink_to(outside)
    library.add([write(tmp_path / "incoming", "link.txt", CATS)])
    assert outside.read_text(encoding="utf-8") == "바깥 파일입니다. 바뀌면 안 됩니다.\n"
    assert not (library.root / "link.txt").is_symlink()


def test_remove_refuses_unknown_names_before_deleting_anything(library, tmp_path):
    library.add([write(tmp_path / "in", "cats.txt", CATS)])
    with pytest.raises(LibraryError, match="nope.txt"):
        library.remove(["cats.txt", "nope.txt"])
    assert (library.root / "cats.txt").exists()
    assert library.remove(["cats.txt"]) == ["cats.txt"] and not (library.root / "cats.txt").exists()


def test_removed_files_go_to_the_trash_and_the_latest_removal_can_be_undone(tmp_path):
    library = Library(tmp_path / "corpus", trash=tmp_path / "trash")
    library.add([write(tmp_path / "in", "cats.txt", CATS), write(tmp_path / "in", "bees.md", BEES)])
    library.remove(["cats.txt"])
    library.remove(["bees.md"])
    assert list(library.files()) == []
    assert library.undo_remove() == ["bees.md"] and list(library.files()) == ["bees.md"]
    write(library.root, "cats.txt", "another cats file, added since\n")
    with pytest.raises(LibraryError, match="added again since"):
        library.undo_remove()
    assert (library.root / "cats.txt").read_text() == "another cats file, added since\n"
    library.remove(["cats.txt"])  # the newer one; the older removal stays in the trash
    assert library.undo_remove() == ["cats.txt"] and (library.root / "cats.txt").read_text().startswith("another")
    library.remove(["cats.txt"])
    for n in range(12):  # only the latest removals are kept
        library.add([write(tmp_path / "in", f"doc{n}.txt", f"문서 {n}번입니다. 내용이 조금 있습니다.\n")])
        library.remove([f"doc{n}.txt"])
    assert len(list((tmp_path / "trash").iterdir())) == 10
    assert library.undo_remove() == ["doc11.txt"]
    with pytest.raises(LibraryError, match="no removal to undo"):
        Library(tmp_path / "corpus").undo_remove()


def test_index_skips_duplicate_content_and_lists_status(tmp_path, fake_embedder):
    corpus = tmp_path / "corpus"
    write(corpus, "b-cats.txt", CATS)
    store = IndexStore(tmp_path / "index")
    build_index(corpus, store, CONFIG, fake_embedder)
    write(corpus, "a-cats.txt", CATS)  # same content, a name that sorts first
    write(corpus, "bees.md", BEES)
    report = build_index(corpus, store, CONFIG, fake_embedder)
    assert report.added == ["bees.md"] and "b-cats.txt" in report.skipped["a-cats.txt"]
    gen = store.load()
    assert {c.doc_id for c in gen.chunks} == {"b-cats.txt", "bees.md"}
    rows = {r.name: r for r in Library(corpus).rows(gen.manifest)}
    assert rows["b-cats.txt"].status == rows["bees.md"].status == "indexed"
    assert rows["a-cats.txt"].status.startswith("skipped: same content")
    write(corpus, "new.txt", "아직 색인하지 않은 문서입니다. 기다리는 중입니다.\n")
    assert {r.name: r for r in Library(corpus).rows(store.read_manifest())}["new.txt"].status == "pending"


def test_index_skips_files_over_the_limits_and_keeps_the_rest(tmp_path, fake_embedder):
    corpus = tmp_path / "corpus"
    write(corpus, "cats.txt", CATS)
    write(corpus, "long.txt", "긴 문장입니다. " * 400)
    config = IndexConfig({"model": "fake", "files": {}}, ChunkingConfig(), 1.2, 0.75, Limits(max_file_bytes=100_000, max_doc_chars=1_000))
    report = build_index(corpus, IndexStore(tmp_path / "index"), config, fake_embedder)
    assert report.added == ["cats.txt"] and "limit" in report.skipped["long.txt"]


def test_the_index_is_written_and_read_while_a_library_holds_the_c_locale(tmp_path, fake_embedder):
    """OpenVINO switches the whole process to the C locale while it compiles a model (at
    start-up, in its own thread). Files read or written meanwhile with the locale's
    encoding were ASCII: the Documents list failed on a Korean title."""
    import locale

    corpus = tmp_path / "corpus"
    write(corpus, "고양이.md", "# 고양이 이야기\n\n" + CATS)
    store = IndexStore(tmp_path / "index")
    before = locale.setlocale(locale.LC_CTYPE)
    locale.setlocale(locale.LC_CTYPE, "C")
    try:
        report = build_index(corpus, store, CONFIG, fake_embedder)
        manifest, gen = store.read_manifest(), store.load()
    finally:
        locale.setlocale(locale.LC_CTYPE, before)
    assert report.added == ["고양이.md"]
    assert manifest["documents"]["고양이.md"]["title"] == "고양이 이야기"
    assert any("고양이" in c.text for c in gen.chunks)
