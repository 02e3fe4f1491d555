"""The embedding backend chosen by measurement: the decision as pure logic (fake trials),
then every backend available here on the real model and the essay."""

from __future__ import annotations

import shutil
from dataclasses import replace

import numpy as np
import pytest

from assistant.engine import Engine
from assistant.index import choice
from assistant.index.choice import Trial, decide, recall_at_5

from .conftest import ESSAY


def test_the_fastest_backend_with_float32_retrieval_is_kept():
    trials = [Trial("torch", 4.0, 0.990), Trial("openvino-f32", 3.0, 0.990), Trial("openvino-int8", 1.0, 0.986),
              Trial("openvino-bf16", 1.5, 0.990)]
    made = decide(trials)
    assert made.backend == "openvino-int8" and "4.0x torch float32" in made.reason


def test_a_faster_backend_that_loses_retrieval_is_not_kept():
    trials = [Trial("torch", 4.0, 0.990), Trial("openvino-int8", 1.0, 0.980), Trial("openvino-bf16", 1.5, 0.990)]
    made = decide(trials)
    assert made.backend == "openvino-bf16" and "not kept: openvino-int8" in made.reason


def test_a_backend_that_fails_is_skipped_and_without_the_reference_torch_stays():
    failed = Trial("openvino-int8", error="RuntimeError: no")
    assert decide([Trial("torch", 4.0, 1.0), failed, Trial("openvino-f32", 3.0, 1.0)]).backend == "openvino-f32"
    assert decide([Trial("torch", error="OSError: gone"), Trial("openvino-f32", 3.0, 1.0)]).backend == "torch"


def test_recall_counts_a_sentence_found_by_its_own_paragraph_not_by_itself():
    owner = np.array([0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6])
    eye = np.eye(7)
    # Paragraph 0: two alike sentences (each finds the other); paragraphs 1-5: two opposite
    # ones (each ranks its own paragraph last); paragraph 6: one sentence, not asked.
    docs = np.stack([eye[0], eye[0]] + [v for k in range(1, 6) for v in (eye[k], -eye[k])] + [eye[6]])
    assert recall_at_5(docs, docs, owner) == pytest.approx(2 / 12)
    assert recall_at_5(np.abs(docs), np.abs(docs), owner) == 1.0


@pytest.mark.real_models
def test_every_backend_here_ranks_the_essay_as_float32_does(real_engine, tmp_path):
    questions = ["Transformer 구조는 어떤 논문에서 소개되었나요?", "In which year did Tensorflow come out?",
                 "RLHF는 어떤 방식으로 모델을 개선하나요?", "How much bigger was GPT-3 than GPT-2?"]
    tops = {}
    for backend in choice.candidates(real_engine.settings.embedding_bf16):
        engine = Engine(replace(real_engine.settings, embedding_backend=backend, index_dir=tmp_path / backend))
        engine.build_index()
        assert engine.index_config().embedding.get("backend") == (None if backend == "torch" else backend)
        tops[backend] = [engine.search(q, k=1)[0].chunk.chunk_id for q in questions]
    assert all(t == tops["torch"] for t in tops.values()), tops


@pytest.mark.real_models
def test_the_choice_is_measured_once_recorded_and_reported(real_engine, tmp_path):
    made = real_engine.embedding_choice
    assert made.backend in choice.candidates(real_engine.settings.embedding_bf16)
    settings = real_engine.settings
    if settings.embedding_backend == "auto":
        again = choice.cached(real_engine.embedding_path, real_engine.export_dir, settings.embedding_bf16)
        assert again is not None and again.backend == made.backend
        assert {t.backend for t in again.trials} == set(choice.candidates(settings.embedding_bf16))
    assert real_engine.retriever.view.manifest["embedding"].get("backend", "torch") == made.backend
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(ESSAY, corpus / ESSAY.name)
    report = Engine(replace(settings, corpus_dir=corpus, index_dir=tmp_path / "index")).build_index()
    assert report.load_seconds > 0 and report.embedding.startswith(made.backend)
    assert any(line.startswith(f"embedding backend: {made.backend}") for line in report.lines())


class FakeTokenizer:
    """A fake tokenizer: one id per character."""

    def __call__(self, texts, truncation=None, max_length=None):
        return {"input_ids": [[ord(c) for c in t] for t in texts]}

    def pad(self, batch, padding=True, return_tensors="np"):
        ids = batch["input_ids"]
        width = max(map(len, ids))
        return {"input_ids": np.array([x + [0] * (width - len(x)) for x in ids]),
                "attention_mask": np.array([[1] * len(x) + [0] * (width - len(x)) for x in ids])}


class FakeRequest:
    """A fake compiled model: a row's vector is its length; a padded row of the text "bad"
    comes out NaN, as bfloat16 did for three KorQuAD units."""

    def infer(self, inputs):
        mask = inputs["attention_mask"]
        out = np.stack([mask.sum(1), np.ones(len(mask))], axis=1).astype(np.float32)
        padded = mask.shape[1] > mask.sum(1)
        out[(mask.sum(1) == 3) & padded] = np.nan
        return [out]


def test_a_sentence_that_comes_out_nan_in_a_padded_batch_is_embedded_again_alone():
    from assistant.index.openvino import Encoder

    encoder = Encoder.__new__(Encoder)
    encoder.tokenizer, encoder.request, encoder.max_length, encoder.dim = FakeTokenizer(), FakeRequest(), 64, 2
    out = encoder.encode(["a longer sentence", "bad", "ok"], batch_size=8, progress=False)
    assert np.isfinite(out).all() and out[1].tolist() == [3.0, 1.0]
