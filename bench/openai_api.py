"""The OpenAI-compatible API against ``ask``: the official ``openai`` client, streamed and
not, asks every standalone question of an answer set through the launched app's ``/v1``;
the same question is asked of an ``Engine`` in this process over the same corpus and index.

    python -m bench.openai_api [--generator extractive|llama] [--set FILE]

Prints how many answers are identical (text, citations, refusal reason) and lists the
rest, with the time per answer on each side.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import openai

from assistant.config import Settings
from assistant.engine import Engine
from assistant.openai_api import MODEL_ID
from bench.load import free_port, prepare_copy

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--generator", default="extractive", choices=["extractive", "llama"])
    ap.add_argument("--set", type=Path, default=ROOT / "bench/data/essay_answers.jsonl")
    args = ap.parse_args()
    items = [json.loads(line) for line in args.set.read_text(encoding="utf-8").splitlines() if line.strip()]
    questions = [i["question"] for i in items if not i.get("before") and not i.get("history")]

    corpus, index, _ = prepare_copy(Path(tempfile.mkdtemp(prefix="bench-api-")), copy_index=True)
    # The app would prepare prompt openings, whose restored llama.cpp states give slightly
    # other numbers than a prompt read whole (and so, at times, other words); both cold here.
    env = {**os.environ, "ASSISTANT_CORPUS_DIR": str(corpus), "ASSISTANT_INDEX_DIR": str(index),
           "ASSISTANT_GENERATOR": args.generator, "ASSISTANT_PREPARED_OPENINGS": "0"}
    engine = Engine(Settings.from_env(corpus_dir=corpus, index_dir=index, generator=args.generator))
    engine.ensure_index()
    port = free_port()
    app = subprocess.Popen([sys.executable, "app.py", "--port", str(port)], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while socket.socket().connect_ex(("127.0.0.1", port)) != 0:
            time.sleep(0.5)
        client = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="none", timeout=900, max_retries=0)
        same = {"plain": 0, "stream": 0}
        ours, api = [], []
        for q in questions:
            t = time.perf_counter()
            expected = engine.ask(q).to_dict()
            ours.append(time.perf_counter() - t)
            t = time.perf_counter()
            reply = client.chat.completions.create(model=MODEL_ID, messages=[{"role": "user", "content": q}])
            api.append(time.perf_counter() - t)
            extra = reply.model_extra["assistant"]
            got = (reply.choices[0].message.content, extra["citations"], extra["refusal_reason"])
            parts, last = [], None
            for chunk in client.chat.completions.create(model=MODEL_ID, messages=[{"role": "user", "content": q}], stream=True):
                parts.append(chunk.choices[0].delta.content or "")
                last = chunk
            streamed = ("".join(parts), last.model_extra["assistant"]["citations"], last.model_extra["assistant"]["refusal_reason"])
            want = (expected["answer"], expected["citations"], expected["refusal_reason"])
            for name, result in (("plain", got), ("stream", streamed)):
                if result == want:
                    same[name] += 1
                else:
                    print(f"differs ({name}): ask {want[0]!r} ({want[2]}) | api {result[0]!r} ({result[2]})")
    finally:
        app.terminate()
        app.wait(timeout=30)
    n = len(questions)
    print(f"{args.generator}: {n} questions of {args.set.name}")
    print(f"identical to ask: {same['plain']}/{n} not streamed, {same['stream']}/{n} streamed")
    print(f"seconds per answer: ask in-process median {statistics.median(ours):.2f}, API median {statistics.median(api):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
