"""The ``openai`` generation backend against real OpenAI-compatible servers in other
processes: llama-cpp-python's own server on the default GGUF model, and a second app of
this project serving its in-process model on its ``/v1``."""

from __future__ import annotations

import os
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

from .conftest import ROOT, free_port
from .test_openai_api import essay_questions

pytestmark = pytest.mark.real_models


@contextmanager
def upstream(command: list[str], port: int, env: dict | None = None):
    """A server started with ``command``, once its ``/v1/models`` answers on ``port``."""
    proc = subprocess.Popen(command, cwd=ROOT, env={**os.environ, **(env or {})},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/v1/models", timeout=2).raise_for_status()
                break
            except httpx.HTTPError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"{command[1:3]} did not start (exit {proc.poll()})")
                time.sleep(0.5)
        yield proc
    finally:
        proc.kill()
        proc.wait(timeout=30)


def llama_cpp_server(model_path, port: int):
    return upstream([sys.executable, "-m", "llama_cpp.server", "--model", str(model_path), "--port", str(port),
                     "--n_ctx", "2048"], port)


def second_app(settings, port: int):
    """``app.py`` over a copy of the essay corpus and index, its model answering plainly on
    ``/v1`` (prompt openings not prepared: it starts in seconds)."""
    return upstream([sys.executable, "app.py", "--port", str(port)], port,
                    {"ASSISTANT_CORPUS_DIR": str(settings.corpus_dir), "ASSISTANT_INDEX_DIR": str(settings.index_dir),
                     "ASSISTANT_PREPARED_OPENINGS": "0", "ASSISTANT_GENERATOR": "llama"})


@pytest.fixture(scope="module")
def model_path(real_engine):
    return resolve(real_engine.settings.generator_model, real_engine.models)


def remote_engine(real_engine, port: int, timeout: int = 60) -> Engine:
    return Engine(replace(real_engine.settings, generator="openai", openai_base_url=f"http://127.0.0.1:{port}/v1", request_timeout=timeout))


def test_a_remote_server_writes_the_answers_and_verification_stays_here(real_engine, model_path):
    port = free_port()
    with llama_cpp_server(model_path, port):
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
    with llama_cpp_server(model_path, port) as server:
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
    with llama_cpp_server(model_path, port):
        answer = engine.ask(question)
        assert answer.citations and not answer.abstained


def test_a_second_app_serves_its_model_to_this_ones_openai_backend(real_engine, engine_copy):
    port = free_port()
    questions = essay_questions(3)
    engine = remote_engine(real_engine, port, timeout=120)  # the first request waits for its start-up
    with second_app(engine_copy, port) as server:
        listed = httpx.get(f"http://127.0.0.1:{port}/v1/models").json()["data"]
        assert engine.generator().model in [m["id"] for m in listed]
        for question in questions:
            answer = engine.ask(question)
            assert answer.notice is None and answer.citations and not answer.abstained, (question, answer.answer)
        assert engine.generator().extras() == {"grammar": False}  # it takes no grammar: said once in the log
        started = time.monotonic()
        with pytest.raises(GenerationError, match=f"the generation server at http://127.0.0.1:{port}/v1 failed"):
            for n, _ in enumerate(engine.answer_stream(questions[0])):
                if n == 0:
                    server.kill()
        assert time.monotonic() - started < 120
    with second_app(engine_copy, port):
        answer = engine.ask(questions[1])
        assert answer.citations and not answer.abstained
