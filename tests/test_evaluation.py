"""Scoring of answer sets (pure logic, with fake answers): the figures, their intervals, the
timings and the per-check table that ``assistant eval`` prints."""

from assistant.evaluation import evaluate, wilson
from assistant.types import Answer

from .conftest import passage


def _fake_answer(question: str, text: str, language: str, refusal: str | None = None, ms: float = 0.0, found: str = "", read: str = "") -> Answer:
    """A fake answer; one the model wrote (``ms`` > 0) took ``ms`` to its first token and
    twice that in all; ``found``: the text of the one passage its fake search returned,
    ``read``: the excerpt of it the model read."""
    timings = {"first_token_ms": ms, "total_ms": 2 * ms}
    return Answer(question, text, language, refusal is not None, [], [passage(found)] if found else [], timings, "fake",
                  refusal=refusal, prompt_tokens=100 if ms else None, excerpts=[read] if read else [])


def test_wilson_intervals_hold_the_share_and_narrow_with_more_outcomes():
    assert wilson(24, 30) == (0.627, 0.905)
    assert wilson(0, 5)[0] == 0.0 and wilson(5, 5)[1] == 1.0
    assert wilson(0, 0) == (0.0, 1.0)
    small, large = wilson(8, 10), wilson(80, 100)
    assert small[0] < 0.8 < small[1] and small[0] < large[0] < 0.8 < large[1] < small[1]


def test_a_report_counts_each_figure_its_interval_and_the_checks_that_refused():
    items = [
        {"id": "a", "lang": "en", "question": "q-a", "answerable": True, "facts": [["1991"]]},
        {"id": "b", "lang": "en", "question": "q-b", "answerable": True, "facts": [["Amsterdam"]]},
        {"id": "c", "lang": "ko", "question": "q-c", "answerable": True, "facts": [["서울"]]},
        {"id": "d", "lang": "en", "question": "q-d", "answerable": False},
        {"id": "e", "lang": "ko", "question": "q-e", "answerable": False},
    ]
    replies = {
        "q-a": ("It was posted in February 1991. [1]", "en", None, 1000),
        "q-b": ("I could not find the answer in the documents.", "en", "confirm", 3000),
        "q-c": ("서울입니다. [1]", "ko", None, 2000),
        "q-d": ("It was held in Paris. [1]", "en", None, 4000),
        "q-e": ("문서에서 답을 찾을 수 없습니다.", "ko", "evidence"),
    }
    report = evaluate(items, lambda q, history: _fake_answer(q, *replies[q]), corpus_dir=None)
    m = report.metrics()
    assert (m["fact_accuracy_en"], m["fact_accuracy_ko"], m["fact_accuracy"]) == (0.5, 1.0, 0.667)
    assert (m["refusal_rate_unanswerable_en"], m["refusal_rate_unanswerable_ko"], m["false_refusal_rate"]) == (0.0, 1.0, 0.333)
    # Timings are of the answers the model wrote, not of the evidence gate's refusal.
    assert (m["first_token_ms_median"], m["total_ms_median"], m["total_ms_p95"]) == (2500, 5000, 6000)
    assert m["language_match"] == 1.0 and m["citation_validity"] is None and m["followup_accuracy"] is None
    spread = report.intervals()
    assert spread["fact_accuracy"][2] == 3 and spread["refusal_rate_unanswerable"][2] == 2
    assert all(lo <= m[name] <= hi for name, (lo, hi, _) in spread.items())
    assert "citation_validity" not in spread
    table = {name: (refused, answerable) for name, refused, answerable in report.checks()}
    assert table["confirm"] == (1, 1) and table["evidence"] == (1, 0) and table["support"] == (0, 0)


def test_a_report_tells_answers_the_search_or_the_excerpt_missed_from_answers_the_reader_missed():
    items = [
        {"id": "a", "lang": "en", "question": "q-a", "answerable": True, "facts": [["1991"]]},
        {"id": "b", "lang": "en", "question": "q-b", "answerable": True, "facts": [["1991"]]},
        {"id": "c", "lang": "ko", "question": "q-c", "answerable": True, "facts": [["서울"], ["1394"]]},
        {"id": "d", "lang": "en", "question": "q-d", "answerable": False},
    ]
    replies = {
        "q-a": ("It was posted in 1991. [1]", "en", None, 1000, "Years later. The post went up in 1991.", "The post went up in 1991."),
        "q-b": ("It was posted in 1990. [1]", "en", None, 1000, "Years later. The post went up in 1991.", "Years later. The post …"),
        "q-c": ("1394년 서울입니다. [1]", "ko", None, 1000, "그해 서울로 옮겼다.", "그해 서울로 옮겼다."),
        "q-d": ("It was held in Paris. [1]", "en", None, 1000, "It was held in Paris.", "It was held in Paris."),
    }
    m = evaluate(items, lambda q, history: _fake_answer(q, *replies[q]), corpus_dir=None).metrics()
    # a and b had their answer found; c's reply is right but only half its facts were
    # found, so it is counted neither as found nor among the answers read.
    assert (m["answer_retrieved"], m["fact_accuracy_when_retrieved"]) == (0.667, 0.5)
    # b's excerpt left its fact out: of the answers in front of the model, all were read right.
    assert (m["answer_quoted"], m["fact_accuracy_when_quoted"]) == (0.333, 1.0)
