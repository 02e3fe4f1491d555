"""The OpenVINO form of a sentence-transformers model: the whole pipeline (transformer,
mean pooling, the Dense layers, normalization) exported once from the local model folder
with ``torch.export``, converted, checked against torch, cached by the model's files and
the library versions, and run on the CPU in bfloat16 where it computes that natively."""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from ..weights import sha256_file

log = logging.getLogger(__name__)

EXPORT_FORMAT = 1  # bump when the exported graph changes
_SMALL_FILE = 64 << 20


class ExportError(RuntimeError):
    """The export does not compute what torch computes."""


def available() -> bool:
    try:
        import openvino  # noqa: F401
    except ImportError:
        return False
    return True


@functools.lru_cache(maxsize=None)
def precision() -> str:
    """``bf16`` where the CPU computes in bfloat16 natively, else ``f32``."""
    import openvino as ov

    caps = ov.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES")
    return "bf16" if "BF16" in caps else "f32"


def _max_seq_length(path: Path) -> int | None:
    cfg = path / "sentence_bert_config.json"
    if cfg.is_file():
        return json.loads(cfg.read_text(encoding="utf-8")).get("max_seq_length")
    return None


class Encoder:
    """The exported model plus its tokenizer; tokenizes like sentence-transformers
    (padding to the longest in the batch, truncation at max_seq_length)."""

    def __init__(self, path: Path, export_dir: Path, precision: str):
        import openvino as ov
        from transformers import AutoTokenizer

        self.xml, self.exported_now = ensure_export(path, export_dir)
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


def ensure_export(path: Path, export_dir: Path) -> tuple[Path, bool]:
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
        raise ExportError(f"the OpenVINO export of {path} differs from torch (max abs error {err:.2g})")
    del compiled
    return {"seconds": round(time.perf_counter() - started, 1), "max_abs_error": err}
