"""llama.cpp states of prompt openings, computed ahead of the questions.

On a CPU, reading the prompt is most of the wait for the first token (about 31 prompt
tokens/s for the 1.5B model on 2 cores). Every prompt opens with the fixed rules and the
top passage's excerpt, and the excerpts a question can get are known once the index is
built: the excerpt is centred on the passage's best-matching sentence, so there is one per
sentence at most. With their states held, a prompt that opens with one is read only from
there on: the other passages and the question.

llama-cpp-python looks up ``Llama.cache`` with a prompt's tokens before reading it,
restores the state with the longest common prefix when that covers more than what the
context already holds, and reads only the tokens after it; the result is the same
computation, not an approximation. This cache holds the prepared openings only: the
states llama-cpp-python offers after each completion are dropped.
"""

from __future__ import annotations

from collections.abc import Sequence

from llama_cpp.llama import Llama, LlamaState
from llama_cpp.llama_cache import BaseLlamaCache


class PreparedPrompts(BaseLlamaCache):
    """Prompt states recorded while ``recording`` is set, looked up by longest common
    prefix. A round (``start_round`` ... ``end_round``) keeps what it recorded and drops
    the rest (openings of passages that are gone); recording an opening already held
    costs a restore and a few tokens."""

    def __init__(self, capacity_bytes: int):
        super().__init__(capacity_bytes)
        self._states: dict[tuple[int, ...], LlamaState] = {}
        self._round: set[tuple[int, ...]] = set()
        self.recording = False  # set only around the completions that prepare an opening
        self.hits = 0  # lookups that found an opening (for tests and benchmarks)

    def __len__(self) -> int:
        return len(self._states)

    def __bool__(self) -> bool:  # llama-cpp-python asks ``if self.cache:``, even when empty
        return True

    @property
    def cache_size(self) -> int:
        return sum(s.llama_state_size for s in self._states.values())

    def _longest(self, key: Sequence[int]) -> tuple[int, ...] | None:
        best, length, key = None, 0, list(key)
        for tokens in self._states:
            n = Llama.longest_token_prefix(tokens, key)
            if n > length:
                best, length = tokens, n
        return best

    def __getitem__(self, key: Sequence[int]) -> LlamaState:
        best = self._longest(key)
        if best is None:
            raise KeyError("no prepared opening")
        self.hits += 1
        return self._states[best]

    def __contains__(self, key: Sequence[int]) -> bool:
        return self._longest(key) is not None

    def __setitem__(self, key: Sequence[int], value: LlamaState) -> None:
        if not self.recording or self.full:
            return
        key = tuple(key)
        self._round.add(key)
        # The logits are not needed: llama-cpp-python reads at least one token after a
        # restore. Kept whole they are n_batch x vocabulary floats (155 MB) per state.
        self._states[key] = LlamaState(
            input_ids=value.input_ids, scores=value.scores[-1:].copy(), n_tokens=value.n_tokens,
            llama_state=value.llama_state, llama_state_size=value.llama_state_size, seed=value.seed,
        )

    @property
    def full(self) -> bool:
        """Whether this round's states have reached the capacity."""
        return sum(self._states[k].llama_state_size for k in self._round) >= self.capacity_bytes

    def start_round(self) -> None:
        self._round = set()

    def end_round(self) -> None:
        self._states = {k: v for k, v in self._states.items() if k in self._round}
