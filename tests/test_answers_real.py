"""Answers with the real default models (EmbeddingGemma + Qwen2.5-Coder-1.5B via llama.cpp)."""

import re
from dataclasses import replace

import pytest

from assistant.answer.generation import Prompt
from assistant.answer.pipeline import OTHER_SCRIPT
from assistant.answer.prompt import INSIST
from assistant.engine import Engine
from assistant.text.lexicon import REFUSAL

from .conftest import ROOT, FakeGenerator, indexed_engine

pytestmark = pytest.mark.real_models
ENGLISH_DOC = ROOT / "bench" / "data" / "english" / "python_history.en.md"


@pytest.fixture(scope="module")
def english_engine(tmp_path_factory):
    """The real models over one English document."""
    return indexed_engine(tmp_path_factory.mktemp("english"), ENGLISH_DOC)


def _cites_paragraph_with(answer, text):
    return any(text in c.passage.chunk.text for c in answer.citations)


def test_korean_question_gets_a_korean_answer_with_a_valid_citation(real_engine):
    a = real_engine.ask("Tensorflow는 어느 회사가 몇 년에 내놓았나요?")
    assert not a.abstained and a.language == "ko"
    assert "2015" in a.answer
    assert _cites_paragraph_with(a, "2015년 경에 Google에서 Tensorflow")
    assert a.timings["first_token_ms"] <= a.timings["total_ms"] and a.prompt_tokens


def test_english_question_about_the_korean_essay_gets_an_english_answer(real_engine):
    a = real_engine.ask("Which paper introduced the Transformer architecture?")
    assert not a.abstained and a.language == "en"
    assert "attention is all you need" in a.answer.lower()
    assert _cites_paragraph_with(a, "Attention is all you need")
    assert sum(ch.isascii() for ch in a.answer) > 0.9 * len(a.answer)


def test_a_question_about_a_binary_hwp_press_release_cites_it(tmp_path):
    # ../shared/data/hwp/noori.hwp: a government press release naming a launch vehicle.
    engine = indexed_engine(tmp_path, ROOT.parent / "shared" / "data" / "hwp" / "noori.hwp", ROOT / "corpus" / "deep_learning_and_chatgpt.ko.txt")
    a = engine.ask("국민 공모로 정한 한국형발사체의 새 이름은 무엇인가요?")
    assert not a.abstained and a.language == "ko"
    assert "누리" in a.answer
    assert {c.passage.chunk.doc_id for c in a.citations} == {"noori.hwp"}


def test_english_document_is_answered_in_both_languages(english_engine):
    # Its paragraphs are read sentence by sentence, "The" opening an answer is no borrowed
    # name, and "3 December 2008" supports a Korean "2008년 12월 3일".
    a = english_engine.ask("What was the name of the tool for converting Python 2 programs?")
    assert a.refusal is None
    assert not a.abstained and "2to3" in a.answer
    assert _cites_paragraph_with(a, "A tool called 2to3")
    b = english_engine.ask("파이썬 3.0이 나온 날짜는?")
    assert not b.abstained and b.language == "ko" and "2008" in b.answer
    assert _cites_paragraph_with(b, "3 December 2008")
    # A question far from every passage is refused before the model is asked.
    c = english_engine.ask("What is the boiling point of liquid nitrogen?")
    assert c.abstained and c.answer == REFUSAL["en"] and c.refusal == "evidence"


@pytest.mark.parametrize("question, lang", [("What is the capital of Australia?", "en"), ("GPT-4를 학습시키는 데 든 전기 요금은 얼마인가요?", "ko")])
def test_questions_the_essay_does_not_answer_are_refused(real_engine, question, lang):
    a = real_engine.ask(question)
    assert a.abstained and a.answer == REFUSAL[lang] and not a.citations and a.refusal


def test_follow_up_retrieves_the_paragraph_it_refers_to(real_engine):
    history = [{"role": "user", "content": "BERT는 무엇인가요?"},
               {"role": "assistant", "content": "BERT는 Transformer 기반의 언어 모델입니다."}]
    a = real_engine.ask("그건 누가 발표했나요?", history)
    assert "BERT" in a.query
    assert "BERT" in a.retrieved[0].chunk.text
    assert not a.abstained and ("Google" in a.answer or "구글" in a.answer)


def test_extractive_backend_answers_instantly_with_a_citation(real_engine):
    a = real_engine.ask("RLHF는 무엇을 활용하는 방법인가요?", generator="extractive")
    assert a.model == "extractive" and not a.abstained
    assert a.citations and "강화학습" in a.citations[0].passage.chunk.text
    assert a.answer.endswith("[1]")


def test_unloadable_generator_falls_back_to_extractive_with_a_notice(real_engine):
    engine = Engine(replace(real_engine.settings, generator_model="/nonexistent/model.gguf", hub=False))
    a = engine.ask("Tensorflow는 어느 회사가 몇 년에 내놓았나요?")
    assert a.model == "extractive" and a.notice and "could not be loaded" in a.notice
    assert not a.abstained and "2015" in a.answer and a.citations


def test_cli_ask_batch_echoes_ids_in_order(real_engine, tmp_path):
    import json
    import subprocess
    import sys

    from .conftest import ROOT

    batch = tmp_path / "questions.jsonl"
    lines = [
        {"id": "q1", "question": "In which year did Tensorflow come out?"},
        {"id": "q2", "question": "그건 누가 발표했나요?",
         "history": [{"role": "user", "content": "BERT는 무엇인가요?"}, {"role": "assistant", "content": "언어 모델입니다."}]},
        {"question": "What is the capital of Australia?"},
    ]
    batch.write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in lines) + "\n", encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "assistant", "ask", "--batch", str(batch), "--json", "--generator", "extractive",
         "--index", str(real_engine.settings.index_dir)],
        capture_output=True, text=True, cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr
    out = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [o.get("id") for o in out] == ["q1", "q2", None]
    assert out[0]["language"] == "en" and out[0]["citations"]
    assert "BERT" in out[1]["query"]
    assert out[2]["abstained"] and {"answer", "retrieved", "timings", "model"} <= set(out[2])


def test_cli_eval_indexes_a_corpus_asks_a_set_and_prints_figures_and_checks(tmp_path):
    import json
    import shutil
    import subprocess
    import sys

    from assistant.answer import CHECK_NAMES

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(ENGLISH_DOC, corpus / ENGLISH_DOC.name)
    items = [
        {"id": "fact", "lang": "en", "question": "To which newsgroup was the first public release of Python posted?",
         "answerable": True, "facts": [["alt.sources"]], "gold": "posted to the alt.sources newsgroup"},
        {"id": "absent", "lang": "en", "question": "Which city hosted the first Python conference?", "answerable": False},
        {"id": "after", "kind": "unrelated", "lang": "en", "question": "To which newsgroup was the first public release of Python posted?",
         "answerable": True, "facts": [["alt.sources"]], "gold": "posted to the alt.sources newsgroup",
         "before": "Which city hosted the first Python conference?"},
    ]
    answer_set = tmp_path / "set.jsonl"
    answer_set.write_text("".join(json.dumps(i) + "\n" for i in items), encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "assistant", "eval", "--set", str(answer_set), "--corpus", str(corpus),
         "--index", str(tmp_path / "index"), "--cold", "--json"],
        capture_output=True, text=True, cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr
    *rows, summary = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [r["id"] for r in rows] == ["fact", "absent", "after"]
    fact, absent, after = rows
    # An unrelated question asked after another turn carries what a new chat got.
    assert "fresh" not in fact and "fresh" not in absent and isinstance(after["as_fresh"], bool)
    assert after["fresh"]["refusal_reason"] is None and "alt.sources" in after["fresh"]["answer"]
    assert fact["fact_ok"] and fact["citation_ok"] and fact["refusal_reason"] is None
    assert absent["fact_ok"] is None and (absent["refusal_reason"] in CHECK_NAMES) == absent["abstained"]
    m, spread = summary["metrics"], summary["intervals"]
    assert m["fact_accuracy_en"] == (1 + bool(after["fact_ok"])) / 2 and m["refusal_rate_unanswerable_en"] == float(absent["abstained"])
    assert m["unrelated_as_fresh"] == float(after["as_fresh"])
    low, high, n = spread["fact_accuracy_en"]
    assert n == 2 and low < 1.0 and high == 1.0
    assert [name for name, _, _ in summary["checks"]] == list(CHECK_NAMES)
    assert sum(refused for _, refused, _ in summary["checks"]) == int(absent["abstained"]) + int(after["abstained"])


@pytest.mark.parametrize("reply", ["[1]", "  [1][2] ", "NOT_FOUND"])
def test_a_reply_with_no_answer_text_becomes_the_refusal(real_engine, monkeypatch, reply):
    monkeypatch.setattr(real_engine, "generator", lambda backend=None: FakeGenerator(reply))
    answer = real_engine.ask("In which year did Tensorflow come out?")
    assert answer.abstained and answer.answer == "I could not find the answer in the documents."


def test_a_reply_in_the_other_language_is_asked_for_again(real_engine, monkeypatch):
    fake = FakeGenerator("Google released TensorFlow around 2015. [1]", "Google이 2015년 경에 Tensorflow를 발표했습니다. [1]")
    monkeypatch.setattr(real_engine, "generator", lambda backend=None: fake)
    answer = real_engine.ask("Tensorflow는 누가 발표했나요?")
    assert len(fake.prompts) == 2 and fake.prompts[1].messages[-1]["content"].endswith(INSIST["ko"])
    assert fake.prompts[0].opening is None and fake.prompts[1].opening == "ko"  # must now begin in Korean
    assert not answer.abstained and answer.answer.startswith("Google이 2015년") and answer.citations
    fake = FakeGenerator("Google released TensorFlow around 2015. [1]")
    monkeypatch.setattr(real_engine, "generator", lambda backend=None: fake)
    assert not real_engine.ask("Who released TensorFlow?").abstained and len(fake.prompts) == 1


def test_a_question_in_another_script_is_answered_in_english_with_a_notice(real_engine, monkeypatch):
    fake = FakeGenerator("Google released TensorFlow around 2015. [1]")
    monkeypatch.setattr(real_engine, "generator", lambda backend=None: fake)
    answer = real_engine.ask("TensorFlowを最初に発表した会社はどこですか？")
    assert answer.language == "en" and answer.notice == OTHER_SCRIPT
    assert fake.prompts[0].messages[-1]["content"].endswith("Answer in English, citing passages like [1].")
    assert real_engine.ask("Who released TensorFlow?").notice is None


def test_the_llama_backend_begins_a_reply_in_the_language_it_is_told_to(real_engine):
    gen = real_engine.generator("llama")
    messages = [{"role": "user", "content": "Say hello to the world in English."}]
    for language, first in (("ko", "[가-힣]"), ("en", "[A-Za-z0-9]")):
        reply = "".join(gen.stream(Prompt(messages, "", language, max_tokens=6, opening=language)))
        assert re.match(first, reply), reply


SMALL_GGUF = "Qwen/Qwen2.5-Coder-0.5B-Instruct-GGUF/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"


def test_transformers_backend_loads_a_gguf_file_and_streams_an_answer(real_engine):
    # The small file keeps this short: transformers dequantizes it (gguf_file=) to float32.
    # The confirm check's threshold is calibrated for the default 1.5B model; the 0.5B one
    # judges more harshly, so the check is off here and its judge is asked directly below.
    engine = Engine(replace(real_engine.settings, generator_model=SMALL_GGUF, confirm_threshold=0.0))
    a = engine.ask("Tensorflow는 어느 회사가 몇 년에 내놓았나요?", generator="transformers")
    assert a.model == SMALL_GGUF and a.notice is None  # not the extractive fallback
    assert not a.abstained and "2015" in a.answer and a.citations and a.prompt_tokens
    gen = engine.generator("transformers")
    messages = [{"role": "user", "content": "Say hello to the world in English."}]
    assert re.match("[가-힣]", "".join(gen.stream(Prompt(messages, "", "ko", max_tokens=4, opening="ko"))))
    p = gen.judge([{"role": "user", "content": "Is Paris in France? Reply yes or no."}])
    assert p is not None and 0.0 <= p <= 1.0


def test_a_prompt_is_read_the_same_whatever_the_context_held(real_engine):
    # llama.cpp gives a token other logits when it reads it alone or in a batch off a
    # group of 4: a prompt asked right after itself (only its last token read again) or
    # after another one sharing its rules used to open with other probabilities.
    from assistant.answer.pipeline import CONFIRM, JUDGE

    gen = real_engine.generator()
    rules = {"role": "system", "content": "You answer questions using only the passages."}
    asked = [rules, {"role": "user", "content": "Passages:\n[1] The Danube flows from the Black Forest to the Black Sea.\n\nQuestion: Into which sea does the Danube flow?"}]
    other = [rules, {"role": "user", "content": "Passages:\n[1] Lima is the capital of Peru.\n\nQuestion: What is the capital of Peru?"}]
    judged = [{"role": "system", "content": JUDGE}, {"role": "user", "content": CONFIRM.format(text="Lima is the capital of Peru.", question="What is the capital of Peru?")}]

    def opening(messages):
        p = Prompt(messages, "", "en", max_tokens=8)
        return "".join(gen.stream(p)), p.observed["decline"]

    gen.llm.reset()
    cold, cold_judged = opening(asked), gen.judge(judged)
    again = opening(asked)
    opening(other)
    after_other, after_judged = opening(asked), gen.judge(judged)
    assert cold == again == after_other
    assert cold_judged == after_judged


def test_a_prepared_opening_is_restored_and_the_answer_is_still_grounded(real_engine):
    from assistant.answer.prompt import openings

    q = "Tensorflow는 어느 회사가 몇 년에 내놓았나요?"
    top = real_engine.search(q)[0]
    gen = real_engine.generator()
    assert gen.prepare(openings([top], real_engine.settings.excerpt_budget)) >= 1
    gen.llm.reset()  # nothing of the opening left in the context itself
    hits = gen.prepared.hits
    a = real_engine.ask(q)
    assert gen.prepared.hits > hits
    assert not a.abstained and "2015" in a.answer and _cites_paragraph_with(a, "2015년 경에 Google에서 Tensorflow")
