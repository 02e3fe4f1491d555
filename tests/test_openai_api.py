"""The OpenAI-compatible API, driven by the official ``openai`` client against the launched
app (real models), and its request parsing as pure logic."""

from __future__ import annotations

import json

import httpx
import openai
import pytest

from assistant import openai_api
from assistant.access import AccessError, key_check, load_api_keys
from assistant.config import Settings

from .conftest import ROOT, launched_app

KEY = "a-test-key-0123456789"


def essay_questions(n: int) -> list[str]:
    items = [json.loads(line) for line in (ROOT / "bench/data/essay_answers.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]
    return [i["question"] for i in items if not i.get("before") and not i.get("history")][:n]


def client(url: str, key: str = "none") -> openai.OpenAI:
    return openai.OpenAI(base_url=url + "v1", api_key=key, max_retries=0, timeout=600)


def streamed(c: openai.OpenAI, question: str) -> tuple[str, object]:
    parts, last = [], None
    for chunk in c.chat.completions.create(model=openai_api.MODEL_ID, messages=[{"role": "user", "content": question}], stream=True):
        parts.append(chunk.choices[0].delta.content or "")
        last = chunk
    return "".join(parts), last


@pytest.mark.real_models
def test_the_api_answers_as_ask_does_streamed_or_not(real_engine):
    with launched_app(real_engine.settings, env={"ASSISTANT_GENERATOR": "extractive"}) as url:
        c = client(url)
        assert [m.id for m in c.models.list().data] == [openai_api.MODEL_ID]
        for question in essay_questions(6):
            expected = real_engine.ask(question, generator="extractive")
            reply = c.chat.completions.create(model=openai_api.MODEL_ID, messages=[{"role": "user", "content": question}])
            assert reply.choices[0].message.content == expected.answer
            assert reply.choices[0].finish_reason == "stop"
            details = reply.model_extra["assistant"]
            assert details["citations"] == expected.to_dict()["citations"]
            assert details["refusal_reason"] == expected.to_dict()["refusal_reason"]
            text, last = streamed(c, question)
            assert text == expected.answer
            assert last.choices[0].finish_reason == "stop" and last.model_extra["assistant"]["citations"] == details["citations"]


@pytest.mark.real_models
def test_the_api_reads_earlier_turns_as_history_with_the_language_model(real_engine):
    with launched_app(real_engine.settings) as url:
        question = essay_questions(1)[0]
        expected = real_engine.ask(question)
        reply = client(url).chat.completions.create(
            model=openai_api.MODEL_ID,
            messages=[{"role": "system", "content": "ignored"}, {"role": "user", "content": question}],
        )
        assert reply.choices[0].message.content == expected.answer
        assert reply.usage.prompt_tokens == (expected.prompt_tokens or 0)


@pytest.mark.real_models
def test_keys_and_errors(real_engine, tmp_path):
    log = tmp_path / "app.log"
    with launched_app(real_engine.settings, env={"ASSISTANT_API_KEYS": KEY, "ASSISTANT_GENERATOR": "extractive"}, log=log) as url:
        with pytest.raises(openai.AuthenticationError):
            client(url).models.list()
        with pytest.raises(openai.AuthenticationError):
            client(url, "wrong-key-0123456789").models.list()
        c = client(url, KEY)
        assert c.models.list().data
        with pytest.raises(openai.BadRequestError, match="too long"):
            c.chat.completions.create(model="x", messages=[{"role": "user", "content": "가" * 3000}])
        r = httpx.post(url + "v1/chat/completions", json={"messages": [{"role": "assistant", "content": "hi"}]},
                       headers={"Authorization": f"Bearer {KEY}"}, timeout=60)
        assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_messages"
        secret_question = "zebra-marker question about nothing"
        c.chat.completions.create(model="x", messages=[{"role": "user", "content": secret_question}])
    logged = log.read_text()
    assert KEY not in logged and "zebra-marker" not in logged


def test_exposed_without_keys_no_key_will_do():
    check = key_check("0.0.0.0", frozenset())
    assert not check(None) and not check("anything-at-all-12345")
    assert key_check("127.0.0.1", frozenset())(None)
    assert key_check("127.0.0.1", frozenset({KEY}))(KEY) and not key_check("127.0.0.1", frozenset({KEY}))(None)


def test_api_keys_come_from_the_environment_or_a_file(tmp_path):
    path = tmp_path / "keys"
    path.write_text(f"# keys\n{KEY}\nanother-key-0123456789\n", encoding="utf-8")
    assert load_api_keys({"ASSISTANT_API_KEY_FILE": str(path)}) == {KEY, "another-key-0123456789"}
    assert load_api_keys({"ASSISTANT_API_KEYS": f"{KEY}, "}) == {KEY}
    with pytest.raises(AccessError, match="at least 16"):
        load_api_keys({"ASSISTANT_API_KEYS": "short"})


@pytest.mark.parametrize(
    "body, expected",
    [
        ({"messages": [{"role": "user", "content": "q"}]}, ("q", [], False)),
        ({"messages": [{"role": "system", "content": "s"}, {"role": "user", "content": "a"}, {"role": "assistant", "content": "b"},
                       {"role": "user", "content": [{"type": "text", "text": "c"}]}], "stream": True},
         ("c", [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}], True)),
    ],
)
def test_the_last_user_message_is_the_question_and_the_rest_its_history(body, expected):
    assert openai_api.parse_request(body) == expected


@pytest.mark.parametrize("body", [{}, {"messages": []}, {"messages": [{"role": "assistant", "content": "a"}]}, {"messages": ["x"]}])
def test_malformed_requests_are_refused(body):
    with pytest.raises(openai_api.ApiError) as err:
        openai_api.parse_request(body)
    assert err.value.status == 400


def test_a_generation_server_answers_several_questions_at_once_the_in_process_model_one():
    assert Settings(generator="openai", generation_slots=3).answer_slots == 3
    assert Settings(generator="openai", generation_slots=0).answer_slots == 1
    assert Settings(generator="llama", generation_slots=3).answer_slots == 1
