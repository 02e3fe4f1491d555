"""Answer quality on questions we did not write: KorQuAD 1.0 dev (public half).

    python bench/korquad_answers.py                  # 40 answerable + 20 unanswerable questions
    python bench/korquad_answers.py --answerable 80 --unanswerable 40 --seed 3

Half of the 70 articles (every other one) are indexed as documents. Answerable questions
are sampled from those articles (fact: KorQuAD's answer span; gold: its paragraph).
Unanswerable questions are sampled from the other half: Wikipedia questions of the same
kind whose article is not in the index. Prints the same figures as
``python -m assistant eval``. Skipped cleanly when the KorQuAD file is absent.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

from retrieval import CACHE, ROOT, korquad_set

sys.path.insert(0, str(ROOT))

from assistant.config import Settings  # noqa: E402
from assistant.engine import Engine  # noqa: E402
from assistant.evaluation import evaluate  # noqa: E402


def answer_items(seed: int, n_answerable: int, n_unanswerable: int):
    indexed = korquad_set(CACHE, "korquad-half-corpus", slice(0, None, 2))
    if indexed is None:
        return None
    corpus, questions = indexed
    _, others = korquad_set(CACHE, "korquad-other-corpus", slice(1, None, 2))
    rng = random.Random(seed)
    items = []
    for n, q in enumerate(rng.sample(questions, n_answerable)):
        ctx, answer = q["context"], q["answer"]
        at = ctx.find(answer)
        items.append({"id": f"k{n:03d}", "lang": q["lang"], "question": q["question"], "answerable": True,
                      "facts": [[answer]], "gold": ctx[max(0, at - 20) : at + len(answer) + 20]})
    for n, q in enumerate(rng.sample(others, n_unanswerable)):
        items.append({"id": f"u{n:03d}", "lang": q["lang"], "question": q["question"], "answerable": False, "facts": [], "gold": None})
    return corpus, items


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--answerable", type=int, default=40)
    parser.add_argument("--unanswerable", type=int, default=20)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", action="store_true", help="print every answer as a JSON line")
    args = parser.parse_args()
    made = answer_items(args.seed, args.answerable, args.unanswerable)
    if made is None:
        return 0
    corpus, items = made
    engine = Engine(Settings.from_env(corpus_dir=corpus, index_dir=CACHE / "korquad-half-index"))
    engine.build_index(progress=True)

    def show(row) -> None:
        a = row.answer
        if args.json:
            print(json.dumps({"id": row.item["id"], "fact_ok": row.fact_ok, "expected": row.item["facts"], **a.to_dict()}, ensure_ascii=False), flush=True)
        else:
            mark = {True: "ok ", False: "BAD", None: "-  "}
            print(f"{row.item['id']} fact {mark[row.fact_ok]} cite {mark[row.citation_ok]} {'REFUSED ' if a.abstained else ''}"
                  f"{' '.join(a.answer.split())[:70]}  (expected: {'/'.join(row.item['facts'][0]) if row.item['facts'] else '-'})", flush=True)

    report = evaluate(items, lambda item: engine.ask(item["question"]), corpus, on_row=show)
    print()
    for key, value in report.metrics().items():
        if value is not None:
            print(f"{key:28s} {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
