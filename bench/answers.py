"""Answer latency: time to first token and tokens/s of the whole pipeline, against bare
llama.cpp answering the very same prompt, in the same process and state.

    python bench/answers.py [--runs 3] [--questions 8] [--cold]

The prompt openings are prepared first (``Engine.prepare_answers``, as the web app does
after start-up; ``--cold`` skips it). Before every measured call the model is put in the
same state: its context holds only the fixed prefix of the prompt, so neither side profits
from the other's last prompt; both may restore a prepared opening. Bare llama.cpp is also
timed without the prepared openings, which shows what they save.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from assistant import warmup
from assistant.answer.prompt import SYSTEM
from assistant.engine import Engine
from assistant.text.language import detect_language

ROOT = Path(__file__).resolve().parent.parent


def prime(llm) -> None:
    """Leave only the fixed prefix (the rules) in the KV cache."""
    llm.reset()
    llm.create_chat_completion(
        messages=[{"role": "system", "content": SYSTEM}, {"role": "user", "content": "."}],
        max_tokens=1,
    )


def bare_first_token(gen, messages, max_tokens: int, prepared: bool = True) -> tuple[float, float, int]:
    """Bare llama.cpp on ``messages``; with ``prepared``, from the prepared opening our
    pipeline would restore (the restore is timed too)."""
    llm = gen.llm
    t = time.perf_counter()
    if prepared:
        gen.prepared.restore(llm, gen.prompt_tokens(messages))
    first, n = None, 0
    for part in llm.create_chat_completion(messages=messages, max_tokens=max_tokens, temperature=0.0, top_k=1, stream=True):
        if part["choices"][0]["delta"].get("content"):
            n += 1
            if first is None:
                first = time.perf_counter() - t
    return first or 0.0, time.perf_counter() - t, n


def summary(xs: list[float]) -> str:
    xs = sorted(xs)
    return f"median {statistics.median(xs):.2f}, p95 {xs[int(0.95 * (len(xs) - 1))]:.2f}, min {xs[0]:.2f}, max {xs[-1]:.2f}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--questions", type=int, default=8)
    ap.add_argument("--set", type=Path, default=ROOT / "bench/data/essay_answers.jsonl")
    ap.add_argument("--cold", action="store_true", help="do not prepare the prompt openings")
    args = ap.parse_args()

    items = [json.loads(line) for line in args.set.read_text(encoding="utf-8").splitlines() if line.strip()]
    items = [i for i in items if i.get("answerable", True) and not i.get("history")]
    by_lang = {lang: [i for i in items if i["lang"] == lang] for lang in ("ko", "en")}
    picked = [q for pair in zip(by_lang["ko"], by_lang["en"]) for q in pair][: args.questions]

    engine = Engine()
    warmup.warm_up(engine, progress=True)
    gen = engine.generator("llama")
    llm = gen.llm
    held = 0 if args.cold else warmup.prepare(engine)
    ours_ttft, bare_ttft, cold_ttft, ratios, ours_rate, prompt_tokens = [], [], [], [], [], []
    for _ in range(args.runs):
        for item in picked:
            q = item["question"]
            prime(llm)
            answer = engine.ask(q)
            if answer.prompt_tokens is None:
                continue  # refused before generation: nothing to compare
            pipeline = engine.pipeline  # the very prompt the engine built
            messages = pipeline.prompt(q, detect_language(q), pipeline.quoted(answer.retrieved)).messages
            prime(llm)
            first, _, _ = bare_first_token(gen, messages, engine.settings.max_new_tokens)
            prime(llm)
            cold_ttft.append(bare_first_token(gen, messages, engine.settings.max_new_tokens, prepared=False)[0])
            ttft = answer.timings["first_token_ms"] / 1000
            ours_ttft.append(ttft)
            bare_ttft.append(first)
            ratios.append(ttft / first)
            prompt_tokens.append(answer.prompt_tokens)
            gen_s = (answer.timings["total_ms"] - answer.timings["first_token_ms"]) / 1000
            if answer.completion_tokens and answer.completion_tokens > 1 and gen_s > 0:
                ours_rate.append(answer.completion_tokens / gen_s)
    print(f"model: {gen.model}; prompt openings prepared: {held}")
    print(f"{len(ours_ttft)} answers ({args.runs} runs x {len(picked)} questions, Korean and English)")
    print(f"prompt tokens:                    {summary(prompt_tokens)}")
    print(f"time to first token, ours (s):    {summary(ours_ttft)}")
    print(f"time to first token, bare (s):    {summary(bare_ttft)}")
    print(f"  bare, no prepared openings (s): {summary(cold_ttft)}")
    print(f"ratio ours/bare:                  {summary(ratios)}")
    print(f"generation speed, ours (tok/s):   {summary(ours_rate)}")


if __name__ == "__main__":
    main()
