"""Calibrate the evidence gate (``min_evidence``): the best-sentence similarity below
which a question is refused without asking the model.

    python bench/evidence_gate.py [--sample 550]

Answerable: KorQuAD questions against the KorQuAD index (their answer is there).
Off-topic: the same questions against the essay index (their answer is not). Prints, per
threshold, the share of answerable questions the gate would refuse and the share of
off-topic ones it would let through. Uses the indexes bench/retrieval.py builds.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from retrieval import build, essay_set, korquad_set

from assistant.config import Settings

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".bench-cache"


def best_similarity(engine, questions, vectors) -> np.ndarray:
    retriever = engine.retriever
    return np.array([max(p.dense_score for p in retriever.search_with_vector(q, v, 3)) for q, v in zip(questions, vectors)])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sample", type=int, default=550)
    args = ap.parse_args()
    CACHE.mkdir(exist_ok=True)
    loaded = korquad_set(CACHE)
    if loaded is None:
        return
    kq_corpus, kq_questions = loaded
    es_corpus, _ = essay_set(CACHE)
    kq, essay = build("korquad", kq_corpus, False), build("essay", es_corpus, False)
    step = max(1, len(kq_questions) // args.sample)
    questions = [q["question"] for q in kq_questions[::step]][: args.sample]
    vectors = kq.embedder.embed_queries(questions)
    answerable = best_similarity(kq, questions, vectors)
    off_topic = best_similarity(essay, questions, vectors)
    print(f"{len(questions)} questions; configured min_evidence = {Settings().min_evidence}")
    print("| threshold | answerable refused | off-topic let through |")
    print("| --- | --- | --- |")
    for t in (0.25, 0.30, 0.35, 0.38, 0.40, 0.45):
        print(f"| {t:.2f} | {np.mean(answerable < t):.3f} | {np.mean(off_topic >= t):.3f} |")


if __name__ == "__main__":
    main()
