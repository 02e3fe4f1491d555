"""The OpenVINO form of a sentence-transformers model: the whole pipeline (transformer,
mean pooling, the Dense layers, normalization) exported once from the local model folder
with ``torch.export``, converted, checked against torch, cached by the model's files and
the library versions, and run on the CPU in one of three variants:

- ``f32``: float32;
- ``bf16``: bfloat16 where the CPU computes it natively;
- ``int8``: weights and activations of the matrix products in int8 (NNCF post-training
  quantization with SmoothQuant, calibrated on ``check_text.txt``), made once from the
  export and kept beside it; the other operations in the CPU's best float precision."""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import shutil
import tempfile
import time
from importlib.metadata import version
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


VARIANTS = ("f32", "bf16", "int8")


@functools.lru_cache(maxsize=None)
def cpu_capabilities() -> tuple[str, ...]:
    import openvino as ov

    return tuple(ov.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES"))


def precision(allow_bf16: bool = True) -> str:
    """``bf16`` where the CPU computes in bfloat16 natively (and it is allowed), else ``f32``."""
    return "bf16" if allow_bf16 and "BF16" in cpu_capabilities() else "f32"


def quantization_available() -> bool:
    try:
        import nncf  # noqa: F401
    except ImportError:
        return False
    return True


def _max_seq_length(path: Path) -> int | None:
    cfg = path / "sentence_bert_config.json"
    if cfg.is_file():
        return json.loads(cfg.read_text(encoding="utf-8")).get("max_seq_length")
    return None


class Encoder:
    """The exported model plus its tokenizer; tokenizes like sentence-transformers
    (padding to the longest in the batch, truncation at max_seq_length)."""

    def __init__(self, path: Path, export_dir: Path, variant: str, allow_bf16: bool = True):
        import openvino as ov
        from transformers import AutoTokenizer

        self.xml, self.exported_now = ensure_export(path, export_dir)
        self.tokenizer = AutoTokenizer.from_pretrained(str(path))
        self.max_length = _max_seq_length(path) or self.tokenizer.model_max_length
        if variant == "int8":
            self.xml = ensure_int8(self, path)
        hint = precision(allow_bf16) if variant == "int8" else variant
        # CACHE_DIR: OpenVINO keeps the compiled model, so later loads skip compiling.
        config = {"PERFORMANCE_HINT": "LATENCY", "INFERENCE_PRECISION_HINT": hint, "CACHE_DIR": str(Path(export_dir) / "compiled")}
        self.compiled = ov.Core().compile_model(str(self.xml), "CPU", config)
        self.request = self.compiled.create_infer_request()
        self.dim = int(self.compiled.outputs[0].get_partial_shape()[1].get_length())

    def encode(self, texts: list[str], batch_size: int, progress: bool) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        batches = self.batches(texts, batch_size)
        if progress:
            from tqdm.auto import tqdm

            batches = tqdm(batches, desc="Batches")
        for rows, inputs in batches:
            out[rows] = self.request.infer(inputs)[0]
        # In bfloat16 a padded batch can, rarely, give a sentence NaN (3 of KorQuAD's 3,708
        # units); alone, without padding, the same sentence comes out right.
        for row in np.where(~np.isfinite(out).all(axis=1))[0]:
            (_, inputs), = self.batches([texts[row]], 1)
            out[row] = self.request.infer(inputs)[0]
            if not np.isfinite(out[row]).all():
                raise ValueError(f"the embedding model gave no finite vector for: {texts[row][:80]!r}")
        return out

    def batches(self, texts: list[str], batch_size: int) -> list[tuple[np.ndarray, dict]]:
        """(rows, model inputs) per batch, tokenized once and sorted longest first so that
        a batch pads little."""
        ids = self.tokenizer(texts, truncation="longest_first", max_length=self.max_length)["input_ids"]
        order = np.argsort([-len(x) for x in ids], kind="stable")
        out = []
        for s in range(0, len(texts), batch_size):
            rows = order[s : s + batch_size]
            batch = self.tokenizer.pad({"input_ids": [ids[i] for i in rows]}, padding=True, return_tensors="np")
            out.append((rows, {"input_ids": batch["input_ids"].astype(np.int64),
                               "attention_mask": batch["attention_mask"].astype(np.int64)}))
        return out


def export_key(path: Path) -> str:
    """Identifies an export: the model's files (sha256 of small files, size and mtime of
    the weights) and the versions of everything that takes part in exporting."""
    import openvino

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
        # From the installed metadata (the same strings as the modules' __version__),
        # so that a cached export is found without importing torch.
        "torch": version("torch"),
        "transformers": version("transformers"),
        "sentence_transformers": version("sentence-transformers"),
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


INT8_FORMAT = 1  # bump when the quantization recipe changes


def ensure_int8(encoder: Encoder, path: Path) -> Path:
    """The int8 form of ``encoder``'s export, quantized once (about a minute on 2 cores)
    under a lock and kept beside the export, keyed by the recipe, the calibration text and
    the NNCF version."""
    from filelock import FileLock

    calibration = check_paragraphs()
    prompt = read_prompts(path).get("document", "")
    ident = json.dumps({"format": INT8_FORMAT, "nncf": version("nncf"), "text": calibration, "prompt": prompt})
    key = hashlib.sha256(ident.encode()).hexdigest()[:16]
    folder = encoder.xml.parent
    xml, done = folder / f"int8-{key}.xml", folder / f"int8-{key}.json"
    if done.is_file():
        return xml
    with FileLock(str(folder / f"int8-{key}.lock"), timeout=1800):
        if done.is_file():
            return xml
        import nncf
        import openvino as ov

        log.info("quantizing the embedding model to int8 (once; kept in %s)", folder)
        started = time.perf_counter()
        sentences = [prompt + s for s in check_sentences(calibration)]
        inputs = [batch for _, batch in encoder.batches(sentences, 4)]
        model = nncf.quantize(ov.Core().read_model(str(encoder.xml)), nncf.Dataset(inputs),
                              model_type=nncf.ModelType.TRANSFORMER, preset=nncf.QuantizationPreset.MIXED,
                              subset_size=len(inputs))
        tmp = folder / f".tmp-int8-{key}.xml"
        ov.save_model(model, str(tmp))
        os.replace(tmp.with_suffix(".bin"), xml.with_suffix(".bin"))
        os.replace(tmp, xml)
        done.write_text(json.dumps({"seconds": round(time.perf_counter() - started, 1), "sentences": len(sentences)}),
                        encoding="utf-8")
    return xml


def check_paragraphs() -> list[str]:
    """The paragraphs of the bundled check text (Korean and English, written for this
    purpose): the int8 calibration data and the backend choice's retrieval check."""
    text = (Path(__file__).parent / "check_text.txt").read_text(encoding="utf-8")
    return [p.strip() for p in text.split("\n\n") if p.strip()]


def check_sentences(paragraphs: list[str]) -> list[str]:
    from ..text import analysis

    return [p[s:e] for p in paragraphs for s, e in analysis.sentences(p)]


def read_prompts(path: Path) -> dict:
    """The model's named prompts (``query``, ``document``, ...) from its sentence-transformers config."""
    cfg = path / "config_sentence_transformers.json"
    if not cfg.is_file():
        return {}
    return json.loads(cfg.read_text(encoding="utf-8")).get("prompts") or {}


def _export(path: Path, xml: Path) -> dict:
    import gc

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
