"""The ``openai`` generation backend against a real OpenAI-compatible server:
llama-cpp-python's own server running the default GGUF model in another process."""

from __future__ import annotations

import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import replace

import httpx
import pytest

from assistant import doctor
from assistant.answer.citations import strip_markers
from assistant.answer.remote import GenerationError
from assistant.engine import Engine
from assistant.text import analysis
from assistant.weights import resolve

from .conftest import free_port
from .test_openai_api import essay_questions

pytestmark = pytest.mark.real_models


@contextmanager
def upstream(model_path, port: int):
    """``python -m llama_cpp.server`` on ``port``, once it answers."""
    proc = subprocess.Popen([sys.executable, "-m", "llama_cpp.server", "--model", str(model_path), "--port", str(port),
                             "--n_ctx", "2048"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/v1/models", timeout=2)
                break
            except httpx.HTTPError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"llama_cpp.server did not start (exit {proc.poll()})")
                time.sleep(0.5)
        yield proc
    finally:
        proc.kill()
        proc.wait(timeout=30)


@pytest.fixture(scope="module")
def model_path(real_engine):
    return resolve(real_engine.settings.generator_model, real_engine.models)


def remote_engine(real_engine, port: int) -> Engine:
    return Engine(replace(real_engine.settings, generator="openai", openai_base_url=f"http://127.0.0.1:{port}/v1", request_timeout=60))


def test_a_remote_server_writes_the_answers_and_verification_stays_here(real_engine, model_path):
    port = free_port()
    with upstream(model_path, port):
        engine = remote_engine(real_engine, port)
        assert engine.generator().extras() == {"grammar": True}  # its OpenAPI schema names the field
        check = doctor.check_generation_server(engine.settings)
        assert check.status == doctor.OK and "takes the first-letter language grammar" in check.message, check
        for question in essay_questions(3):
            here = real_engine.ask(question)
            there = engine.ask(question)
            assert there.notice is None and there.model == engine.generator().model
            # Same model, greedy, same prompt; the in-process model may have restored a prepared
            # opening, whose numbers differ slightly, so the wording may differ, not the facts.
            assert there.abstained == here.abstained
            assert analysis.key_terms(strip_markers(there.answer)) == analysis.key_terms(strip_markers(here.answer))
            assert [c.passage.chunk.chunk_id for c in there.citations] == [c.passage.chunk.chunk_id for c in here.citations]
            if there.confidence is not None:  # the confirm check asked the server for log-probabilities
                assert there.confidence == pytest.approx(here.confidence, abs=0.02)


def test_a_server_that_dies_mid_answer_gives_a_clear_error_and_the_next_question_works(real_engine, model_path):
    port = free_port()
    question = essay_questions(1)[0]
    engine = remote_engine(real_engine, port)
    with upstream(model_path, port) as server:
        started = time.monotonic()
        with pytest.raises(GenerationError, match=f"the generation server at http://127.0.0.1:{port}/v1 failed"):
            for n, _ in enumerate(engine.answer_stream(question)):
                if n == 0:
                    server.kill()  # after the first piece of the answer
        assert time.monotonic() - started < 60
    with pytest.raises(GenerationError):
        engine.ask(question)  # nothing listens: refused at once
    check = doctor.check_generation_server(engine.settings)
    assert check.status == doctor.FAIL and "does not answer" in check.message and "serve_llama.sh" in check.fix
    with upstream(model_path, port):
        answer = engine.ask(question)
        assert answer.citations and not answer.abstained
