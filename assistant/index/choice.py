"""The embedding backend chosen by measurement on this machine, once.

Every backend available here (torch float32, OpenVINO float32, bfloat16 where the CPU
computes it natively, int8 where NNCF is installed) embeds the same fixed sample: the
sentences of the bundled check text (``check_text.txt``, Korean and English), as documents
and as queries. Each is timed, and its retrieval is checked: every sentence, asked as a
query, should find its own paragraph among the top 5 (ranked by the paragraph's other
sentences). The fastest backend whose Recall@5 is within ``TOLERANCE`` of torch float32's
is kept. The result is cached beside the OpenVINO export, keyed by the model's export, the
CPU's capabilities, the library versions and the check text, so it is measured once per
machine and model (about a minute, plus the one-time export and quantization).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import platform
import time
from dataclasses import asdict, dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import numpy as np

from . import openvino

log = logging.getLogger(__name__)

TOLERANCE = 0.005  # Recall@5 a faster backend may lose against torch float32
CHOICE_FORMAT = 1


@dataclass
class Trial:
    backend: str
    seconds: float = float("nan")  # embedding the sample (documents and queries), model loaded
    recall: float = float("nan")  # the check's Recall@5
    error: str | None = None


@dataclass
class Choice:
    backend: str
    reason: str
    trials: list[Trial] = field(default_factory=list)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=1)

    @classmethod
    def from_json(cls, text: str) -> "Choice":
        data = json.loads(text)
        return cls(data["backend"], data["reason"], [Trial(**t) for t in data["trials"]])


def candidates(allow_bf16: bool) -> list[str]:
    out = ["torch", "openvino-f32"]
    if openvino.precision(allow_bf16) == "bf16":
        out.append("openvino-bf16")
    if openvino.quantization_available():
        out.append("openvino-int8")
    return out


def cached(path: Path, export_dir: Path, allow_bf16: bool) -> Choice | None:
    """The choice made earlier on this machine for this model, if any."""
    file = _file(path, export_dir, allow_bf16)
    return Choice.from_json(file.read_text(encoding="utf-8")) if file.is_file() else None


def choose(path: Path, export_dir: Path, allow_bf16: bool = True, batch_size: int = 8) -> Choice:
    """The measured choice (cached, or measured now under a lock)."""
    from filelock import FileLock

    file = _file(path, export_dir, allow_bf16)
    file.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(file) + ".lock", timeout=3600):
        if file.is_file():
            return Choice.from_json(file.read_text(encoding="utf-8"))
        log.warning("choosing the embedding backend by measurement (once on this machine)")
        choice = measure(path, export_dir, allow_bf16, batch_size)
        tmp = file.with_name(file.name + ".tmp")
        tmp.write_text(choice.to_json(), encoding="utf-8")
        os.replace(tmp, file)
    return choice


def measure(path: Path, export_dir: Path, allow_bf16: bool, batch_size: int) -> Choice:
    from .embeddings import Embedder

    paragraphs = openvino.check_paragraphs()
    sentences, owner = [], []
    for n, p in enumerate(paragraphs):
        for s in openvino.check_sentences([p]):
            sentences.append(s)
            owner.append(n)
    trials = []
    for backend in candidates(allow_bf16):
        trial = Trial(backend)
        try:
            embedder = Embedder(path, backend=backend, batch_size=batch_size, export_dir=export_dir, allow_bf16=allow_bf16)
            embedder.embed_queries(sentences[:batch_size])  # first-call costs out of the timing
            started = time.perf_counter()
            docs = embedder.embed_documents(sentences)
            queries = embedder.embed_queries(sentences)
            trial.seconds = round(time.perf_counter() - started, 3)
            trial.recall = round(recall_at_5(docs, queries, np.array(owner)), 4)
            del embedder
        except Exception as exc:  # a backend that cannot run here is not chosen
            log.warning("embedding backend %s cannot be used here: %s", backend, exc)
            trial.error = f"{type(exc).__name__}: {exc}"
        trials.append(trial)
        log.info("embedding backend %s: %.2f s, check Recall@5 %.4f", backend, trial.seconds, trial.recall)
    return decide(trials)


def decide(trials: list[Trial]) -> Choice:
    """The fastest trial whose Recall@5 is within ``TOLERANCE`` of the torch float32 one."""
    reference = next((t for t in trials if t.backend == "torch" and t.error is None), None)
    if reference is None:
        return Choice("torch", "torch float32: the reference could not be measured", trials)
    kept = [t for t in trials if t.error is None and t.recall >= reference.recall - TOLERANCE]
    best = min(kept, key=lambda t: t.seconds)
    speed = reference.seconds / best.seconds
    dropped = [t.backend for t in trials if t not in kept]
    reason = (f"fastest on this machine with retrieval as float32: {speed:.1f}x torch float32, "
              f"check Recall@5 {best.recall:.3f} vs {reference.recall:.3f}")
    if dropped:
        reason += f"; not kept: {', '.join(dropped)}"
    return Choice(best.backend, reason, trials)


def recall_at_5(docs: np.ndarray, queries: np.ndarray, owner: np.ndarray) -> float:
    """Share of sentences whose own paragraph is among the 5 best, a paragraph scored by
    its best sentence other than the query itself."""
    scores = queries @ docs.T
    np.fill_diagonal(scores, -np.inf)
    paragraphs = owner.max() + 1
    best = np.full((len(queries), paragraphs), -np.inf)
    for p in range(paragraphs):
        best[:, p] = scores[:, owner == p].max(axis=1)
    top = np.argsort(-best, axis=1)[:, :5]
    asked = [i for i in range(len(owner)) if (owner == owner[i]).sum() > 1]  # its paragraph has another sentence
    return float(np.mean([owner[i] in top[i] for i in asked]))


def _file(path: Path, export_dir: Path, allow_bf16: bool) -> Path:
    try:
        nncf_version = version("nncf")
    except PackageNotFoundError:
        nncf_version = None
    ident = {
        "format": CHOICE_FORMAT,
        "export": openvino.export_key(path),
        "cpu": [platform.machine(), _cpu_model(), list(openvino.cpu_capabilities()), os.cpu_count()],
        "allow_bf16": allow_bf16,
        "torch": version("torch"),
        "sentence_transformers": version("sentence-transformers"),
        "nncf": nncf_version,
        "check": openvino.check_paragraphs(),
        "tolerance": TOLERANCE,
    }
    key = hashlib.sha256(json.dumps(ident, sort_keys=True).encode()).hexdigest()[:20]
    return Path(export_dir) / f"choice-{key}.json"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()
