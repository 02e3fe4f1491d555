"""PreparedPrompts, the llama.cpp prompt-state cache, with fake states (pure logic)."""

import numpy as np
import pytest

from assistant.prompt_cache import PreparedPrompts
from llama_cpp.llama import LlamaState


def fake_state(tokens: list[int], size: int = 100) -> LlamaState:
    """A stand-in for a llama.cpp state: the tokens it holds and ``size`` bytes."""
    return LlamaState(input_ids=np.array(tokens), scores=np.zeros((4, 8), dtype=np.single), n_tokens=len(tokens),
                      llama_state=bytes(size), llama_state_size=size, seed=0)


def record(cache: PreparedPrompts, tokens: list[int], size: int = 100) -> None:
    cache.recording = True
    cache[tokens] = fake_state(tokens, size)
    cache.recording = False


def test_the_opening_with_the_longest_common_prefix_is_found():
    cache = PreparedPrompts(10_000)
    cache.start_round()
    record(cache, [1, 2, 3, 4])
    record(cache, [1, 2, 5, 6, 7])
    cache.end_round()
    assert cache[[1, 2, 5, 6, 9]].input_ids.tolist() == [1, 2, 5, 6, 7]
    assert cache[[1, 2, 3, 9]].input_ids.tolist() == [1, 2, 3, 4]
    assert cache.hits == 2 and [1, 8] in cache
    with pytest.raises(KeyError):
        cache[[9, 9]]
    assert cache[[1, 2, 3, 4]].scores.shape == (1, 8)  # the logits are not kept


def test_only_openings_are_kept_and_a_round_drops_what_it_did_not_record():
    cache = PreparedPrompts(250)
    cache[[7, 7]] = fake_state([7, 7])  # a completion's state, offered after an answer
    assert len(cache) == 0 and bool(cache)
    cache.start_round()
    for tokens in ([1, 2], [3, 4], [5, 6], [8, 9]):
        record(cache, tokens)
    cache.end_round()
    assert len(cache) == 3 and cache.full  # the capacity (250 bytes) stopped the fourth
    cache.start_round()
    record(cache, [3, 4])
    cache.end_round()
    assert len(cache) == 1 and cache[[3, 4, 5]].input_ids.tolist() == [3, 4]


def test_background_work_waits_while_a_question_is_answered():
    """``Generator._idle`` (called before each prepared opening) returns only once no
    question is waiting for the model or being answered; a fake backend stands in."""
    import threading
    import time

    from assistant.generation import Generator, Prompt

    class SlowFake(Generator):
        def _stream(self, prompt):
            time.sleep(0.3)
            yield "done"

    gen = SlowFake()
    answering = threading.Thread(target=lambda: list(gen.stream(Prompt([], "q", "en"))))
    answering.start()
    time.sleep(0.05)
    started = time.perf_counter()
    gen._idle()
    assert time.perf_counter() - started > 0.15 and gen._waiting == 0
    answering.join()
