"""The committed answer sets are well formed: unique ids, each gold quote in the set's
documents, and the mix of kinds the evaluation reports on."""

import json
from collections import Counter
from itertools import combinations
from pathlib import Path

import pytest

from assistant.evaluation import load_items

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "bench" / "data"
SHARED = ROOT.parent / "shared" / "data"


def test_essay_and_english_sets():
    essay = (ROOT / "corpus" / "deep_learning_and_chatgpt.ko.txt").read_text(encoding="utf-8")
    english = " ".join(f.read_text(encoding="utf-8") for f in sorted((DATA / "english").iterdir()))
    for name, docs in (("essay_answers.jsonl", essay), ("essay_answers_heldout.jsonl", essay), ("english_answers.jsonl", english)):
        items = load_items(DATA / name)
        assert len({i["id"] for i in items}) == len(items), name
        assert {i["lang"] for i in items} == {"ko", "en"}, name
        assert sum(not i["answerable"] for i in items) >= 8, name
        for i in items:
            assert (i["gold"] in docs) if i["answerable"] else (i["gold"] is None and not i["facts"]), (name, i["id"])


def _articles(split: dict, part: str) -> set[str]:
    """A part's article titles; a part in "again" asks those of the parts it names."""
    if part in split["again"]:
        return set().union(*(_articles(split, p) for p in split["again"][part]))
    return set(split["korquad"][part]) | set(split["squad"][part])


def _korean(split: dict) -> set[str]:
    """Every KorQuAD article title of the split."""
    return {t for titles in split["korquad"].values() for t in titles}


def _check_written(split: dict, part: str) -> list[dict]:
    """The part's written items are well formed, about its articles, and each answerable
    one's gold quote stands in its article (where ../shared holds the articles)."""
    items = load_items(DATA / "unseen" / f"written_{part}.jsonl")
    assert len({i["id"] for i in items}) == len(items)
    assert all(i["article"] in _articles(split, part) for i in items)
    # A false premise is about a Korean article, asked in Korean or, across languages, in English.
    korean = _korean(split)
    assert all(i["article"] in korean and i["lang"] in ("ko", "en") for i in items if i["kind"] == "false_premise")
    assert all(i["answerable"] == (i["kind"] != "false_premise") for i in items)
    assert all(i.get("before") for i in items if i["kind"] in ("followup", "unrelated"))
    if (SHARED / "korquad_v1.0_dev_public.json").is_file():  # the articles themselves are in ../shared only
        text = {}
        for name in ("korquad_v1.0_dev_public.json", "squad_v2.0_dev_public.json"):
            for a in json.loads((SHARED / name).read_text(encoding="utf-8"))["data"]:
                text[a["title"]] = " ".join(p["context"] for p in a["paragraphs"])
        for i in items:
            if i["answerable"]:
                assert i["gold"] in text[i["article"]], i["id"]
    return items


@pytest.mark.parametrize("part, least", [("test", 30), ("tune", 16), ("test2", 30), ("test3", 32), ("test4", 32), ("test5", 32), ("test6", 32)])
def test_unseen_written_sets(part, least):
    split = json.loads((DATA / "unseen" / "split.json").read_text(encoding="utf-8"))
    for source in ("korquad", "squad"):
        for a, b in combinations(split[source], 2):
            assert not set(split[source][a]) & set(split[source][b]), (source, a, b)
    if part in ("test3", "test4", "test5", "test6"):  # Korean documents only: no SQuAD article was left
        assert split["korquad"][part] and split["squad"][part] == []
    kinds = Counter(i["kind"] for i in _check_written(split, part))
    assert kinds["false_premise"] >= least and kinds["en_about_ko"] >= least
    assert kinds["followup"] >= 6 and kinds["unrelated"] >= 6


def test_a_part_asked_again_writes_a_false_premise_for_each_korean_article():
    split = json.loads((DATA / "unseen" / "split.json").read_text(encoding="utf-8"))
    for part, earlier in split["again"].items():
        assert part not in split["korquad"] and earlier
        assert all(p in split["korquad"] or p in split["again"] for p in earlier)
        items = _check_written(split, part)
        assert len(items) >= 16
        if part in split.get("written_only", []) and not any(i["kind"] == "false_premise" for i in items):
            continue  # a part of written questions of one other kind
        korean = _articles(split, part) & _korean(split)
        assert {i["article"] for i in items if i["kind"] == "false_premise"} == korean
    assert set(split["unread"]) <= set(split["again"]) | set(split["korquad"])
    assert set(split.get("written_only", [])) <= set(split["again"])
