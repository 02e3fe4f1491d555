"""Dense vectors from a sentence-transformers model, with the model's own query and
document prompts, L2-normalized so inner product is cosine similarity.

Two backends compute the same vectors:

- ``torch``: ``SentenceTransformer.encode`` in float32 (the reference).
- ``openvino``: the whole sentence-transformers pipeline (transformer, mean pooling, the
  two Dense layers, normalization) exported once from the local model folder with
  ``torch.export`` and converted to OpenVINO, then run in bfloat16 where the CPU supports
  it (AVX512_BF16 / AMX), else float32. About 5x faster than ``torch`` on a 2-core AVX-512
  CPU, mean cosine to the float32 vectors 0.9999 (bench/indexing.py).

The export never downloads anything: it is made from the verified model folder at first
use (under a file lock, written aside and renamed into place, checked against the torch
output before it is kept) and cached under ``export_dir``, keyed by the model's files and
the library versions that produced it. ``auto`` (the default) is ``openvino`` on a CPU
where OpenVINO is installed, else ``torch``.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import shutil
import tempfile
import threading
from pathlib import Path

import numpy as np

from ..weights import sha256_file

log = logging.getLogger(__name__)

BACKENDS = ("auto", "torch", "openvino")
EXPORT_FORMAT = 1  # bump when the exported graph changes
_SMALL_FILE = 64 << 20


class EmbeddingBackendError(RuntimeError):
    """The requested embedding backend cannot be used."""


def _openvino_available() -> bool:
    try:
        import openvino  # noqa: F401
    except ImportError:
        return False
    return True


def resolve_backend(backend: str, device: str = "cpu") -> str:
    """``torch`` or ``openvino`` for a setting value (``auto`` picks OpenVINO on a CPU
    where it is installed)."""
    backend = (backend or "auto").strip().lower()
    if backend not in BACKENDS:
        raise EmbeddingBackendError(f"unknown embedding backend {backend!r} (choose from {', '.join(BACKENDS)})")
    if backend == "auto":
        return "openvino" if device == "cpu" and _openvino_available() else "torch"
    if backend == "openvino":
        if device != "cpu":
            raise EmbeddingBackendError(f"the openvino embedding backend runs on the CPU, not on {device!r}")
        if not _openvino_available():
            raise EmbeddingBackendError("the openvino embedding backend needs the openvino package (pip install -r requirements.txt)")
    return backend


@functools.lru_cache(maxsize=None)
def _openvino_precision() -> str:
    """``bf16`` where the CPU computes in bfloat16 natively, else ``f32``."""
    import openvino as ov

    caps = ov.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES")
    return "bf16" if "BF16" in caps else "f32"


def backend_tag(backend: str, device: str = "cpu") -> str | None:
    """What an index manifest records about how its vectors were computed: None for the
    torch float32 reference (so indexes built before backends existed stay valid), else
    e.g. ``openvino-bf16``. Vectors from different tags differ slightly, so a change of
    tag rebuilds the index."""
    name = resolve_backend(backend, device)
    if name == "torch":
        return None
    return f"openvino-{_openvino_precision()}"


class Embedder:
    def __init__(
        self,
        path: Path,
        device: str = "cpu",
        truncate_dim: int | None = None,
        batch_size: int = 8,
        backend: str = "auto",
        export_dir: Path | None = None,
    ):
        self.path = Path(path)
        self.batch_size = batch_size
        self.truncate_dim = truncate_dim
        self.backend = resolve_backend(backend, device)
        self.tag = backend_tag(backend, device)
        self._lock = threading.Lock()
        if self.backend == "torch":
            from sentence_transformers import SentenceTransformer

            self.model = SentenceTransformer(str(path), device=device, truncate_dim=truncate_dim)
            self.dim = self.model.get_embedding_dimension()
            prompts = self.model.prompts or {}
        else:
            self.model = None
            self._ov = _OpenVinoEncoder(self.path, export_dir or self.path.parent / ".exports", _openvino_precision())
            full = self._ov.dim
            self.dim = min(truncate_dim, full) if truncate_dim else full
            prompts = _read_prompts(self.path)
        self._doc_prompt = prompts.get("document", "")
        self._query_prompt = prompts.get("query", "")

    def embed_documents(self, texts: list[str], titles: list[str] | None = None, progress: bool = False) -> np.ndarray:
        """Embed passages. Where the model's document prompt carries a title slot
        ("title: none | text: "), the passage's title fills it."""
        if titles is not None and "title: none" in self._doc_prompt:
            texts = [self._doc_prompt.replace("none", t or "none", 1) + x for x, t in zip(texts, titles)]
            prompt = ""
        else:
            prompt = self._doc_prompt
        return self._encode(texts, prompt, progress)

    def embed_queries(self, texts: list[str], progress: bool = False) -> np.ndarray:
        return self._encode(texts, self._query_prompt, progress)

    def _encode(self, texts: list[str], prompt: str, progress: bool) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            if self.model is None:
                vecs = self._ov.encode([prompt + t for t in texts], self.batch_size, progress)
                if self.truncate_dim and self.truncate_dim < vecs.shape[1]:
                    vecs = vecs[:, : self.truncate_dim]
                vecs = vecs / np.maximum(np.linalg.norm(vecs, axis=1, keepdims=True), 1e-12)
            else:
                # Sorting by length keeps padding low; sentence-transformers restores the order.
                vecs = self.model.encode(
                    list(texts),
                    prompt=prompt,
                    batch_size=self.batch_size,
                    normalize_embeddings=True,
                    convert_to_numpy=True,
                    show_progress_bar=progress,
                )
        return np.ascontiguousarray(vecs, dtype=np.float32)


def _read_prompts(path: Path) -> dict:
    cfg = path / "config_sentence_transformers.json"
    if not cfg.is_file():
        return {}
    return json.loads(cfg.read_text(encoding="utf-8")).get("prompts") or {}


def _max_seq_length(path: Path) -> int | None:
    cfg = path / "sentence_bert_config.json"
    if cfg.is_file():
        return json.loads(cfg.read_text(encoding="utf-8")).get("max_seq_length")
    return None


class _OpenVinoEncoder:
    """The exported model plus its tokenizer; tokenizes like sentence-transformers
    (padding to the longest in the batch, truncation at max_seq_length)."""

    def __init__(self, path: Path, export_dir: Path, precision: str):
        import openvino as ov
        from transformers import AutoTokenizer

        self.xml, self.exported_now = ensure_openvino_export(path, export_dir)
        self.tokenizer = AutoTokenizer.from_pretrained(str(path))
        self.max_length = _max_seq_length(path) or self.tokenizer.model_max_length
        config = {"PERFORMANCE_HINT": "LATENCY", "INFERENCE_PRECISION_HINT": precision}
        self.compiled = ov.Core().compile_model(str(self.xml), "CPU", config)
        self.request = self.compiled.create_infer_request()
        self.dim = int(self.compiled.outputs[0].get_partial_shape()[1].get_length())

    def encode(self, texts: list[str], batch_size: int, progress: bool) -> np.ndarray:
        enc = self.tokenizer(texts, truncation="longest_first", max_length=self.max_length)
        ids = enc["input_ids"]
        order = np.argsort([-len(x) for x in ids], kind="stable")  # longest first, little padding
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        starts = range(0, len(texts), batch_size)
        if progress:
            from tqdm.auto import tqdm

            starts = tqdm(starts, desc="Batches")
        for s in starts:
            rows = order[s : s + batch_size]
            batch = self.tokenizer.pad({"input_ids": [ids[i] for i in rows]}, padding=True, return_tensors="np")
            result = self.request.infer(
                {"input_ids": batch["input_ids"].astype(np.int64), "attention_mask": batch["attention_mask"].astype(np.int64)}
            )
            out[rows] = result[0]
        return out


# -- the export ------------------------------------------------------------------------


def export_key(path: Path) -> str:
    """Identifies an export: the model's files (sha256 of small files, size and mtime of
    the weights) and the versions of everything that takes part in exporting."""
    import openvino
    import sentence_transformers
    import torch
    import transformers

    files = {}
    for p in sorted(path.rglob("*")):
        if not p.is_file() or any(part.startswith(".") for part in p.relative_to(path).parts):
            continue
        st = p.stat()
        rel = p.relative_to(path).as_posix()
        files[rel] = sha256_file(p) if st.st_size < _SMALL_FILE else f"size:{st.st_size}:mtime:{st.st_mtime_ns}"
    ident = {
        "format": EXPORT_FORMAT,
        "files": files,
        "openvino": openvino.__version__,
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "sentence_transformers": sentence_transformers.__version__,
    }
    return hashlib.sha256(json.dumps(ident, sort_keys=True).encode()).hexdigest()


def ensure_openvino_export(path: Path, export_dir: Path) -> tuple[Path, bool]:
    """The OpenVINO IR (model.xml) of the model in ``path`` and whether it was exported now:
    reused from ``export_dir`` or exported (1-4 minutes on 2 cores, 4.5 GB peak memory)
    under a lock, written aside and renamed into place."""
    from filelock import FileLock

    key = export_key(path)
    final = Path(export_dir) / f"openvino-{key[:20]}"
    xml = final / "model.xml"
    if (final / "export.json").is_file():
        return xml, False
    final.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(final) + ".lock", timeout=1800):
        if (final / "export.json").is_file():  # another process finished it meanwhile
            return xml, False
        log.info("exporting %s to OpenVINO (once; cached in %s)", path, final)
        tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{final.name}-", dir=final.parent))
        try:
            info = _export(path, tmp / "model.xml")
            info["key"] = key
            (tmp / "export.json").write_text(json.dumps(info, indent=1), encoding="utf-8")
            os.chmod(tmp, 0o755)
            if not (final / "export.json").is_file():  # else a complete copy was put there meanwhile
                if final.exists():  # an incomplete folder left by hand
                    shutil.rmtree(final)
                os.replace(tmp, final)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return xml, True


def _export(path: Path, xml: Path) -> dict:
    import gc
    import time

    import openvino as ov
    import torch
    from sentence_transformers import SentenceTransformer

    started = time.perf_counter()
    st = SentenceTransformer(str(path), device="cpu")

    class Pipeline(torch.nn.Module):
        def __init__(self, model):
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask):
            return self.model({"input_ids": input_ids, "attention_mask": attention_mask})["sentence_embedding"]

    pipeline = Pipeline(st).eval()
    probe = ["title: none | text: 임베딩 모델을 내보냅니다.", "export check", "x " * 40]
    example = st.preprocess(probe[:2])
    batch, seq = torch.export.Dim("batch"), torch.export.Dim("seq")
    with torch.inference_mode():
        check = st.preprocess(probe)
        expected = pipeline(check["input_ids"], check["attention_mask"]).float().numpy()
    with torch.no_grad():
        program = torch.export.export(
            pipeline,
            (example["input_ids"], example["attention_mask"]),
            dynamic_shapes={"input_ids": {0: batch, 1: seq}, "attention_mask": {0: batch, 1: seq}},
        )
        converted = ov.convert_model(program)
    del program, pipeline, st
    gc.collect()
    ov.save_model(converted, str(xml), compress_to_fp16=False)
    del converted
    gc.collect()
    # Keep the export only if it computes what torch computes.
    compiled = ov.Core().compile_model(str(xml), "CPU", {"INFERENCE_PRECISION_HINT": "f32"})
    got = compiled({"input_ids": check["input_ids"].numpy(), "attention_mask": check["attention_mask"].numpy()})[0]
    err = float(np.abs(got - expected).max())
    if not err < 1e-3:
        raise EmbeddingBackendError(f"the OpenVINO export of {path} differs from torch (max abs error {err:.2g})")
    del compiled
    return {"seconds": round(time.perf_counter() - started, 1), "max_abs_error": err}
