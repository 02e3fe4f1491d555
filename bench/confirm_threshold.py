"""Choose the confirm check's threshold (``confirm_threshold``) from an answer run.

    python -m assistant eval --set SET --corpus DIR --json > run.jsonl   # or answers_unseen.py --json
    python bench/confirm_threshold.py run.jsonl SET [--thresholds 0.3,0.35,0.4]

Reads the replies the confirm check scored (``confidence`` = the model's P(yes) times
``closeness``: the best-sentence cosine with the question of the passages the answer is
taken from, raised across languages by ``cross_language_cosine``). Prints how well each
signal separates right answers from answers to unanswerable questions (AUC: the chance
that a right answer scores above an answered unanswerable one), then what each
threshold would have made of the whole run: refusals of unanswerable questions per
language, false refusals and fact accuracy. Nothing is asked of the model again.
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path

from assistant.evaluation import facts_present, load_items


def auc(right: list[float], wrong: list[float]) -> float:
    """The chance that a right answer's score is above a wrong one's (ties count half)."""
    if not right or not wrong:
        return float("nan")
    return sum((r > w) + 0.5 * (r == w) for r in right for w in wrong) / (len(right) * len(wrong))


def outcome(row: dict, reply_right: bool, threshold: float) -> tuple[bool, bool]:
    """(answered, answered right) had the check used ``threshold``; ``reply_right``: the
    model's reply states the facts."""
    if row["confidence"] is not None and row["refusal_reason"] in (None, "confirm"):
        answered = row["confidence"] >= threshold
        return answered, answered and reply_right
    return not row["abstained"], bool(row["fact_ok"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run", type=Path)
    ap.add_argument("set", type=Path)
    ap.add_argument("--thresholds", default="0.2,0.25,0.3,0.32,0.33,0.34,0.35,0.36,0.37,0.4")
    args = ap.parse_args()
    items = {i["id"]: i for i in load_items(args.set)}
    rows = [r for r in map(json.loads, args.run.read_text(encoding="utf-8").splitlines()) if r.get("id") in items]
    rows = [r for r in rows if items[r["id"]].get("kind") != "unrelated"]  # asked after another turn, scored apart

    reply_right = {r["id"]: items[r["id"]]["answerable"] and facts_present(r["reply"], items[r["id"]].get("facts", [])) for r in rows}
    scored = [r for r in rows if r["confidence"] is not None]
    right = [r for r in scored if reply_right[r["id"]]]
    wrong = [r for r in scored if not items[r["id"]]["answerable"]]
    # "closeness" is what the confirm check weighed P(yes) by (``checks.Draft.closeness``).
    signals = {"P(yes)": lambda r: r["confidence"] / max(r["closeness"], 1e-9), "closeness": lambda r: r["closeness"], "P(yes) x closeness": lambda r: r["confidence"]}
    print(f"{len(scored)} replies scored: {len(right)} right answers, {len(wrong)} answers to unanswerable questions")
    print("| signal | AUC |\n| --- | --- |")
    for name, signal in signals.items():
        print(f"| {name} | {auc([signal(r) for r in right], [signal(r) for r in wrong]):.3f} |")

    langs = sorted({items[r["id"]]["lang"] for r in rows})
    print("\n| threshold | " + " | ".join(f"refusal {lang}" for lang in langs) + " | false refusals | fact accuracy |")
    print("| --- |" + " --- |" * (len(langs) + 2))
    for t in (float(x) for x in args.thresholds.split(",")):
        refused, false, right_answers = defaultdict(list), [], []
        for r in rows:
            item = items[r["id"]]
            answered, ok = outcome(r, reply_right[r["id"]], t)
            if item["answerable"]:
                false.append(not answered)
                right_answers.append(ok)
            else:
                refused[item["lang"]].append(not answered)
        share = lambda v: f"{sum(v) / len(v):.3f}" if v else "-"  # noqa: E731
        print(f"| {t:.2f} | " + " | ".join(share(refused[lang]) for lang in langs) + f" | {share(false)} | {share(right_answers)} |")


if __name__ == "__main__":
    main()
