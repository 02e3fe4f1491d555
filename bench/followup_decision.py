"""How well the follow-up decision (``answer.followup.resolve``) tells a question that
depends on the earlier turn from one that does not, by retrieval alone (no model).

    python bench/followup_decision.py [--pairs 80] [--seed 7] [--set FILE]

For each pair (earlier question, question) it prints the joined search's best-sentence
cosine minus the question's alone, the figure ``resolve`` compares with
``followup_margin``. Kinds:

* essay, dependent: the essay sets' follow-up items (their first user turn, then the question);
* essay, unrelated: pairs of answerable essay questions in the same language, drawn with
  ``--seed``: both ask about the one document, but neither depends on the other;
* tune, dependent / unrelated: the tune part's written follow-ups and unrelated pairs
  (``bench/answers_unseen.py --part tune`` builds its index first; skipped without it).

``--set FILE`` writes the unrelated essay pairs that would be searched joined as an answer
set of "unrelated" items, so that ``python -m assistant eval --set FILE`` measures how many
are still answered as in a new chat (the other pairs are asked alone, as in a new chat).
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import statistics
from pathlib import Path

from assistant.answer import followup
from assistant.config import Settings
from assistant.engine import Engine
from assistant.evaluation import load_items
from assistant.text.language import detect_language

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "bench" / "data"
TUNE = ROOT / ".bench-cache" / "unseen-tune"


def gains(engine: Engine, pairs: list[tuple[str, str]]) -> list[float]:
    pipeline = engine.pipeline

    def search(query: str):
        return pipeline.search(query, pipeline.depth)

    return [followup.gain(search(b), search(followup.joined(a, b))) for a, b in pairs]


def report(name: str, values: list[float], margin: float) -> None:
    if not values:
        return
    q = statistics.quantiles(values, n=4) if len(values) > 1 else values * 3
    passed = sum(v > margin for v in values)
    print(f"{name:<22} {len(values):>4}  joined {passed:>3} ({passed / len(values):.2f})  "
          f"gain min {min(values):+.3f}  q1 {q[0]:+.3f}  median {q[1]:+.3f}  q3 {q[2]:+.3f}  max {max(values):+.3f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pairs", type=int, default=80, help="unrelated essay pairs to draw")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--set", type=Path, help="write the unrelated essay pairs searched joined here")
    args = ap.parse_args()
    settings = Settings.from_env()
    margin = settings.followup_margin
    print(f"followup_margin {margin}: a pair is searched joined when its gain is above it")
    items = [i for name in ("essay_answers.jsonl", "essay_answers_heldout.jsonl") for i in load_items(DATA / name)]
    dependent = [(i["history"][0]["content"], i["question"]) for i in items if i.get("history")]
    alone = [i for i in items if i["answerable"] and not i.get("history")]
    drawn = [(a, b) for a, b in itertools.permutations(alone, 2) if detect_language(a["question"]) == detect_language(b["question"])]
    drawn = random.Random(args.seed).sample(drawn, min(args.pairs, len(drawn)))
    engine = Engine(settings)
    report("essay, dependent", gains(engine, dependent), margin)
    unrelated = gains(engine, [(a["question"], b["question"]) for a, b in drawn])
    report("essay, unrelated", unrelated, margin)
    if args.set:
        joined = [dict(b, id=f"{a['id']}+{b['id']}", kind="unrelated", before=a["question"]) for (a, b), g in zip(drawn, unrelated) if g > margin]
        args.set.write_text("".join(json.dumps(i, ensure_ascii=False) + "\n" for i in joined), encoding="utf-8")
        print(f"{len(joined)} unrelated pairs searched joined written to {args.set}")
    if not (TUNE / "index").is_dir():
        print("tune part not built (python bench/answers_unseen.py --part tune); skipped")
        return
    written = load_items(DATA / "unseen" / "written_tune.jsonl")
    engine = Engine(Settings.from_env(index_dir=TUNE / "index", corpus_dir=TUNE / "corpus"))
    for kind, name in (("followup", "tune, dependent"), ("unrelated", "tune, unrelated")):
        report(name, gains(engine, [(i["before"], i["question"]) for i in written if i["kind"] == kind]), margin)


if __name__ == "__main__":
    main()
