"""No code, test, docstring or comment quotes a question of an answer set: checks written
against the questions they are measured on do not generalize."""

import io
import json
import re
import tokenize
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data"


def _fold(text: str) -> str:
    return re.sub(r"[\s?？.!]+", " ", text).strip().lower()


def answer_set_questions() -> set[str]:
    questions = set()
    for path in (ROOT / "bench" / "data").rglob("*.jsonl"):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                item = json.loads(line)
                questions.update(_fold(item[k]) for k in ("question", "before") if item.get(k))
    return questions


def dataset_questions() -> set[str]:
    """The questions of the KorQuAD and SQuAD files the unseen split samples from."""
    found = set()
    for name in ("korquad_v1.0_dev_public.json", "squad_v2.0_dev_public.json"):
        if (DATA / name).is_file():
            for article in json.loads((DATA / name).read_text(encoding="utf-8"))["data"]:
                found.update(_fold(qa["question"]) for p in article["paragraphs"] for qa in p["qas"])
    return found


def quoted_texts(path: Path) -> list[str]:
    """The string literals (docstrings included) and comments of a Python file."""
    out = []
    for tok in tokenize.generate_tokens(io.StringIO(path.read_text(encoding="utf-8")).readline):
        if tok.type == tokenize.STRING:
            out.append(tok.string)
        elif tok.type == tokenize.COMMENT:
            out.append(tok.string.lstrip("#"))
    return out


def test_no_python_file_quotes_a_question_of_an_answer_set():
    written = answer_set_questions()
    assert len(written) > 100  # the committed sets were found
    dataset = dataset_questions()
    files = [p for folder in ("assistant", "tests", "bench") for p in (ROOT / folder).rglob("*.py")] + [ROOT / "app.py"]
    quoted = []
    for path in files:
        for text in quoted_texts(path):
            folded = _fold(text.strip("\"'rbfu"))
            hits = [q for q in written if len(q) > 12 and q in folded] or ([folded] if folded in dataset else [])
            quoted += [f"{path.relative_to(ROOT)}: {q}" for q in hits]
    assert not quoted, "\n".join(quoted)
