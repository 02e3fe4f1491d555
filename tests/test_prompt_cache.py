"""PreparedPrompts, the llama.cpp prompt-state cache, with fake states (pure logic)."""

import numpy as np
from llama_cpp.llama import LlamaState

from assistant.answer.generation import MIN_ROWS, read_batches, reusable
from assistant.answer.prepared import PreparedPrompts


def fake_state(tokens: list[int], size: int = 100) -> LlamaState:
    """A stand-in for a llama.cpp state: the tokens it holds and ``size`` bytes."""
    return LlamaState(input_ids=np.array(tokens), scores=np.zeros((4, 8), dtype=np.single), n_tokens=len(tokens),
                      llama_state=bytes(size), llama_state_size=size, seed=0)


class FakeLlama:
    """Holds tokens and records the state loaded into it, as ``Llama`` does."""

    def __init__(self, tokens=()):
        self.input_ids, self.n_tokens, self.loaded = np.array(tokens, dtype=np.intc), len(tokens), None

    def load_state(self, state: LlamaState) -> None:
        self.loaded, self.input_ids, self.n_tokens = state, state.input_ids.copy(), state.n_tokens


def restored(cache: PreparedPrompts, tokens: list[int], held=()) -> list[int] | None:
    llm = FakeLlama(held)
    return llm.loaded.input_ids.tolist() if cache.restore(llm, tokens) else None


def test_the_opening_with_the_longest_common_prefix_is_restored():
    cache = PreparedPrompts(10_000)
    cache.start_round()
    cache.add(fake_state([1, 2, 3, 4]))
    cache.add(fake_state([1, 2, 5, 6, 7]))
    cache.end_round()
    assert restored(cache, [1, 2, 5, 6, 9]) == [1, 2, 5, 6, 7]
    assert restored(cache, [1, 2, 3, 9]) == [1, 2, 3, 4]
    assert cache.hits == 2
    assert restored(cache, [9, 9]) is None
    # Nothing is restored when the context already holds as much of the prompt.
    assert restored(cache, [1, 2, 3, 9], held=[1, 2, 3, 8]) is None
    llm = FakeLlama()
    assert cache.restore(llm, [1, 2, 3, 4]) == 4  # the tokens the loaded state holds
    assert llm.loaded.scores.shape == (1, 8)  # the logits are not kept


def test_a_round_drops_what_it_did_not_add_and_stops_at_the_capacity():
    cache = PreparedPrompts(250)
    assert len(cache) == 0
    cache.start_round()
    for tokens in ([1, 2], [3, 4], [5, 6], [8, 9]):
        cache.add(fake_state(tokens))
    cache.end_round()
    assert len(cache) == 3 and cache.full  # the capacity (250 bytes) stopped the fourth
    cache.start_round()
    cache.add(fake_state([3, 4]))
    cache.end_round()
    assert len(cache) == 1 and restored(cache, [3, 4, 5]) == [3, 4]


def test_background_work_waits_while_a_question_is_answered():
    """``Generator._idle`` (called before each prepared opening) returns only once no
    question is waiting for the model or being answered; a fake backend stands in."""
    import threading
    import time

    from assistant.answer.generation import Generator, Prompt

    class SlowFake(Generator):
        answered = False

        def _stream(self, prompt):
            time.sleep(0.3)
            self.answered = True
            yield "done"

    gen = SlowFake()
    answering = threading.Thread(target=lambda: list(gen.stream(Prompt([], "q", "en"))))
    answering.start()
    while not gen._waiting:  # the question is being answered (a fixed sleep could miss it)
        time.sleep(0.005)
    gen._idle()
    assert gen.answered and gen._waiting == 0  # returned after the answer, not on a clock
    answering.join()


def test_states_kept_in_a_folder_are_held_by_the_next_process(tmp_path):
    """Each added state is written to the folder; a new cache over it holds them without
    adding them again; a round deletes the files of what it dropped; a torn or unreadable
    file is removed, not loaded."""
    first = PreparedPrompts(10_000, tmp_path)
    first.start_round()
    first.add(fake_state([1, 2, 3]))
    first.add(fake_state([4, 5]))
    first.end_round()
    assert len(list(tmp_path.glob("*.npz"))) == 2
    (tmp_path / "broken.npz").write_bytes(b"not a state")
    (tmp_path / "torn.part.npz").write_bytes(b"half")

    second = PreparedPrompts(10_000, tmp_path)
    assert len(second) == 2 and restored(second, [1, 2, 3, 9]) == [1, 2, 3]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(first._file(k).name for k in ((1, 2, 3), (4, 5)))
    second.start_round()
    second.add(fake_state([4, 5]))
    second.end_round()
    assert [p.name for p in tmp_path.iterdir()] == [second._file((4, 5)).name]
    assert len(PreparedPrompts(150, tmp_path)) == 1
    assert len(PreparedPrompts(50, tmp_path)) == 0  # over the capacity: not held


def test_a_held_state_that_read_an_opening_is_kept_without_reading_it_again():
    cache = PreparedPrompts(10_000)
    cache.start_round()
    cache.add(fake_state([1, 2, 3, 4]))
    cache.end_round()
    cache.start_round()
    assert cache.keep([1, 2, 3]) and not cache.keep([1, 2, 5])
    cache.end_round()
    assert len(cache) == 1


def test_a_prompt_is_reusable_but_for_a_short_last_batch():
    # A last batch of fewer than MIN_ROWS tokens is read alone; a longer prompt's read
    # from an empty context reads those positions within a larger batch.
    assert reusable(300, 256) == 300
    assert reusable(256 + MIN_ROWS - 1, 256) == 256
    assert reusable(256 + MIN_ROWS, 256) == 256 + MIN_ROWS
    assert reusable(MIN_ROWS - 1, 256) == 0
    assert reusable(512, 256) == 512


def test_a_prompt_is_read_in_the_batches_an_empty_context_would_use():
    assert read_batches(0, 318, 256) == [(0, 256), (256, 318)]
    # What the context holds is kept up to a multiple of 4 ...
    assert read_batches(97, 318, 256) == [(96, 256), (256, 318)]
    # ... never into the last MIN_ROWS tokens (a prompt held in full is read from there) ...
    assert read_batches(318, 318, 256) == [(308, 318)]
    # ... nor leaving fewer than MIN_ROWS before a batch end that a longer batch would span.
    assert read_batches(253, 260, 256) == [(256 - MIN_ROWS, 256), (256, 260)]
    assert read_batches(511, 700, 256) == [(512 - MIN_ROWS, 512), (512, 700)]
    assert read_batches(256, 600, 256) == [(256, 512), (512, 600)]
    assert read_batches(3, 5, 256) == [(0, 5)]
