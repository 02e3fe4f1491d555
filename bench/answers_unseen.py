"""Answer quality on articles nobody tuned for: the frozen split of bench/data/unseen/.

    python bench/answers_unseen.py --part tune          # what thresholds are tuned on
    python bench/answers_unseen.py --part test          # read once, at the end of a round
    python bench/answers_unseen.py --part test --json   # every answer as a JSON line

test2: the second test part, frozen 2026-12-03, read once (articles used by neither tune
nor test; the same sampled counts and seed as the other parts).
test3: a third test part, frozen 2026-12-03, Korean documents only, read once.
test4: a fourth test part, frozen 2026-12-03, Korean documents only, read once.
test5: a fifth test part, frozen 2026-12-05, Korean documents only (three of them long),
read once.
test6: a sixth test part, frozen 2026-12-05, Korean documents only (the 23 KorQuAD articles
no other part used; 22 short ones and one of 88 paragraphs), read once.
test7: a seventh test part, frozen 2026-12-06, read once: no article was left, so it asks the
articles of test and test2 again (split.json "again"), with dataset questions neither of them
sampled and Korean false premises written for it.
test8: an eighth test part, frozen 2026-12-06 (evening) after test7 was read, read once: it
asks test7's articles again, with dataset questions none of test, test2 and test7 sampled,
and Korean false premises, English questions about the Korean articles, follow-ups and
questions asked after a turn about another article, written for it before any run.
test9: a ninth test part, frozen 2026-12-06 (late night) after tune2's runs and before any
run of its own, read once: test8's articles again, with dataset questions none of test,
test2, test7 and test8 sampled, and 80 questions written for it as for test8.
test10: a tenth test part, frozen 2026-12-07 before any run of its own, read once: test9's
articles again, with dataset questions none of test, test2 and test7 to test9 sampled, and 80
questions written for it as for test8.
test11: an eleventh test part, frozen 2026-12-07 before any run of its own, read once:
test10's articles again, with dataset questions none of test, test2 and test7 to test10
sampled, and 80 questions written for it as for test8.
test12: a twelfth test part, frozen 2026-12-07 (a new session) before any run of its own,
read once: test11's articles again, with dataset questions none of test, test2 and
test7 to test11 sampled, and 80 questions written for it as for test8.
test13: a thirteenth test part, frozen 2026-12-07 (a fourth session) before any run of its
own, read once: test12's articles again, with dataset questions none of test, test2 and
test7 to test12 sampled, and 80 questions written for it as for test8.
tune3 and test14: frozen 2026-12-07 (a fourth session) before any run of them, written
questions only (split.json "written_only"): English questions about the Korean articles
that the articles do not answer, 16 on the tune articles (tuning) and 32 on test13's
(read once).
test15: frozen 2026-12-07 (a fourth session) before any run of it, written questions only:
32 English questions about test13's Korean articles, over test13's 26 articles. Read once at
80669f0 (a sixth session).
test16: frozen 2026-12-07 (a fifth session) before any run of it, written questions only:
24 follow-ups and 24 questions asked after another turn that do not depend on it (8 after a
question about the same article), over test13's 26 articles. Read once on the day it was frozen.
test17: frozen 2026-12-07 (a fifth session) before any run of it, written questions only:
32 follow-ups and 8 questions asked after another turn that do not depend on it (4 after a
question about the same article), over test13's 26 articles. Read once after ef08202.
test18: frozen 2026-12-07 (a fifth session) before any run of it, by test17's recipe. Read once
after e3da884 (a sixth session).
test19: frozen 2026-12-07 (a sixth session) before any run of it, by test17's recipe.
test20: frozen 2026-12-07 (a sixth session) before any run of it, by test15's recipe.
tune2: a second tuning sample (2026-12-06, late night), not a test part: the tune part's
articles asked again with dataset questions the tune part did not sample, and 48 questions
written for it (written_tune2.jsonl). The tune part's own figures had grown above every
test part's; tune2 is what a change is tuned on beside it.

The articles of each part (split.json) come from ../shared/data (KorQuAD 1.0 dev public
half, SQuAD 2.0 dev public part) and are written as one document each into
.bench-cache/unseen-<part>/corpus. The set mixes questions sampled from the datasets
(English facts, English unanswerable ones written to look answerable, Korean facts; seeded)
with the questions in written_<part>.jsonl (Korean false premises, English questions about
the Korean articles, follow-ups and unrelated questions asked after another turn). It is
then run through ``python -m assistant eval --set ... --corpus ... --index ... --cold``,
which prints the figures per language and the per-check table. Skipped cleanly when the
data files are absent.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
from pathlib import Path

from assistant.cli import main as cli

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data"
UNSEEN = ROOT / "bench" / "data" / "unseen"
SOURCES = {"korquad": DATA / "korquad_v1.0_dev_public.json", "squad": DATA / "squad_v2.0_dev_public.json"}


def file_name(title: str) -> str:
    return re.sub(r"[^\w.-]+", "_", title).strip("_") + ".txt"


def write_article(folder: Path, article: dict) -> None:
    text = article["title"].replace("_", " ") + "\n\n" + "\n\n".join(p["context"].strip() for p in article["paragraphs"]) + "\n"
    path = folder / file_name(article["title"])
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")


def sampled(articles: list[dict], lang: str, answerable: bool, n: int, rng: random.Random, prefix: str,
            asked: frozenset[str] = frozenset()) -> list[dict]:
    """``n`` dataset questions of the given kind, none of ``asked``, each with its answers
    and gold paragraph."""
    pool = []
    for a in articles:
        for p in a["paragraphs"]:
            ctx = p["context"].strip()
            for qa in p["qas"]:
                if bool(qa.get("is_impossible")) == (not answerable) and qa["question"] not in asked:
                    pool.append((qa, ctx))
    items = []
    for k, (qa, ctx) in enumerate(rng.sample(pool, min(n, len(pool))), 1):
        item = {"id": f"{prefix}{k:02d}", "lang": lang, "question": qa["question"], "answerable": answerable, "facts": [], "gold": None}
        if answerable:
            answer = qa["answers"][0]
            at = ctx.find(answer["text"])
            item["facts"] = [sorted({a["text"].strip() for a in qa["answers"]})]
            item["gold"] = ctx[max(0, at - 20) : at + len(answer["text"]) + 20]
        items.append(item)
    return items


def read_split() -> dict:
    """The frozen split: for each source, each part's article titles."""
    return json.loads((UNSEEN / "split.json").read_text(encoding="utf-8"))


def parts(split: dict) -> tuple[str, ...]:
    return tuple(split["korquad"]) + tuple(split.get("again", {}))


def dataset_items(split: dict, chosen: dict[str, list[dict]], asked: frozenset[str] = frozenset()) -> list[dict]:
    """The questions sampled from the datasets for a part with the ``chosen`` articles."""
    n = split["sampled"]
    rng = random.Random(split["seed"])
    items = []
    if chosen["squad"]:  # no English dataset questions for a part without SQuAD articles
        items += sampled(chosen["squad"], "en", True, n["en_fact"], rng, "en-f", asked)
        items += sampled(chosen["squad"], "en", False, n["en_unanswerable"], rng, "en-u", asked)
    items += sampled(chosen["korquad"], "ko", True, n["ko_fact"], rng, "ko-f", asked)
    return items


def build(part: str, work: Path) -> tuple[Path, Path] | None:
    split = read_split()
    again = split.get("again", {})

    def titles_of(p: str) -> dict[str, list[str]]:
        """A part's articles; a part in "again" asks the articles of the parts it names."""
        if p in again:
            return {name: [t for e in again[p] for t in titles_of(e)[name]] for name in SOURCES}
        return {name: split[name][p] for name in SOURCES}

    titles = titles_of(part)
    written_only = set(split.get("written_only", []))  # parts that ask only their written questions
    # A part may have no articles of one source (test3 to test6 have no SQuAD ones): that file is not needed.
    missing = [str(p) for name, p in SOURCES.items() if titles[name] and not p.is_file()]
    if missing:
        print(f"data not found ({', '.join(missing)}); skipping")
        return None
    data = {name: json.loads(path.read_text(encoding="utf-8"))["data"] if titles[name] else [] for name, path in SOURCES.items()}

    def chosen(wanted: dict[str, list[str]]) -> dict[str, list[dict]]:
        return {name: [a for a in data[name] if a["title"] in wanted[name]] for name in SOURCES}

    def asked_before(p: str) -> frozenset[str]:
        """The dataset questions of the parts ``p`` asks again, and of those they ask again:
        a part in "again" samples none of them."""
        asked: set[str] = set()
        for e in again.get(p, []):
            before = asked_before(e)
            asked |= before
            if e not in written_only:
                asked |= {i["question"] for i in dataset_items(split, chosen(titles_of(e)), before)}
        return frozenset(asked)

    corpus = work / "corpus"
    corpus.mkdir(parents=True, exist_ok=True)
    here = chosen(titles)
    for articles in here.values():
        for article in articles:
            write_article(corpus, article)
    items = [] if part in written_only else dataset_items(split, here, asked_before(part))
    written = UNSEEN / f"written_{part}.jsonl"
    items += [json.loads(line) for line in written.read_text(encoding="utf-8").splitlines() if line.strip()]
    answer_set = work / "set.jsonl"
    answer_set.write_text("".join(json.dumps(i, ensure_ascii=False) + "\n" for i in items), encoding="utf-8")
    return corpus, answer_set


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=parts(read_split()), required=True)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--only", help="a regular expression over item ids: run only those")
    args = parser.parse_args()
    work = ROOT / ".bench-cache" / f"unseen-{args.part}"
    made = build(args.part, work)
    if made is None:
        return 0
    corpus, answer_set = made
    if args.only:
        keep = [line for line in answer_set.read_text(encoding="utf-8").splitlines() if re.search(args.only, json.loads(line)["id"])]
        answer_set = work / "subset.jsonl"
        answer_set.write_text("\n".join(keep) + "\n", encoding="utf-8")
    argv = ["eval", "--set", str(answer_set), "--corpus", str(corpus), "--index", str(work / "index"), "--cold"]
    return cli(argv + (["--json"] if args.json else []))


if __name__ == "__main__":
    sys.exit(main())
