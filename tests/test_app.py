"""The web app, launched for real, answering through gradio_client."""

import os
import socket
import subprocess
import sys
import time

import pytest

from .conftest import ROOT

pytestmark = pytest.mark.real_models


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def app_url(real_engine):
    port = _free_port()
    env = {**os.environ,
           "ASSISTANT_CORPUS_DIR": str(real_engine.settings.corpus_dir),
           "ASSISTANT_INDEX_DIR": str(real_engine.settings.index_dir)}
    proc = subprocess.Popen([sys.executable, "app.py", "--port", str(port)], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                break
        except OSError:
            if proc.poll() is not None:
                pytest.fail(f"app exited: {proc.stdout.read()[-2000:]}")
            time.sleep(1)
    yield url
    proc.terminate()
    proc.wait(timeout=30)


def test_gradio_client_round_trip(app_url):
    from gradio_client import Client

    client = Client(app_url, verbose=False)
    out = client.predict("When did Google release TensorFlow?", [], "", api_name="/ask")
    assert out["language"] == "en" and not out["abstained"]
    assert "2015" in out["answer"]
    assert out["citations"] and {"n", "doc", "paragraph", "start", "end", "text", "score"} <= set(out["citations"][0])
    refused = client.predict("What is the capital of Australia?", [], "", api_name="/ask")
    assert refused["abstained"] and refused["answer"] == "I could not find the answer in the documents."


def test_chat_turn_streams_an_answer_with_a_sources_panel(app_url):
    from gradio_client import Client

    client = Client(app_url, verbose=False)
    messages = [{"role": "user", "content": [{"type": "text", "text": "GPT-3는 GPT-2보다 얼마나 커졌나요?"}]}]
    out = client.predict(messages, "ko", api_name="/chat")
    texts = [m for m in out if m["role"] == "assistant"]
    answer = texts[0]["content"]
    answer = answer if isinstance(answer, str) else "".join(p.get("text", "") for p in answer)
    assert "100" in answer
    sources = [m for m in texts if (m.get("metadata") or {}).get("title", "").startswith("📚")]
    assert sources, out
