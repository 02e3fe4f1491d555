"""llama.cpp states of prompt openings, computed ahead of the questions.

On a CPU, reading the prompt is most of the wait for the first token (about 31 prompt
tokens/s for the 1.5B model on 2 cores). Every prompt opens with the fixed rules and the
top passage's excerpt, and the excerpts a question can get are known once the index is
built: the excerpt is centred on the passage's best-matching sentence, so there is one per
sentence at most. With their states held, a prompt that opens with one is read only from
there on: the other passages and the question.

Before a prompt is read, the state with the longest common prefix is restored when that
covers more than what the context already holds; llama-cpp-python then reads only the
tokens after the common prefix. The result is the same computation, not an approximation.
"""

from __future__ import annotations

from collections.abc import Sequence

from llama_cpp.llama import Llama, LlamaState


class PreparedPrompts:
    """Prompt states, looked up by longest common prefix. A round (``start_round`` ...
    ``end_round``) keeps what it added and drops the rest (openings of passages that are
    gone); adding an opening already held costs a restore and a few tokens."""

    def __init__(self, capacity_bytes: int):
        self.capacity_bytes = capacity_bytes
        self._states: dict[tuple[int, ...], LlamaState] = {}
        self._round: set[tuple[int, ...]] = set()
        self.hits = 0  # restores (for tests and benchmarks)

    def __len__(self) -> int:
        return len(self._states)

    @property
    def full(self) -> bool:
        """Whether this round's states have reached the capacity."""
        return sum(self._states[k].llama_state_size for k in self._round) >= self.capacity_bytes

    def add(self, state: LlamaState) -> None:
        """Keep ``state`` (``Llama.save_state()`` after reading an opening) in this round."""
        if self.full:
            return
        key = tuple(state.input_ids.tolist())
        self._round.add(key)
        # The logits are not needed: llama-cpp-python reads at least one token after a
        # restore. Kept whole they are n_batch x vocabulary floats (155 MB) per state.
        self._states[key] = LlamaState(
            input_ids=state.input_ids, scores=state.scores[-1:].copy(), n_tokens=state.n_tokens,
            llama_state=state.llama_state, llama_state_size=state.llama_state_size, seed=state.seed,
        )

    def restore(self, llm: Llama, tokens: Sequence[int]) -> bool:
        """Load into ``llm`` the state sharing the longest prefix with ``tokens``, when it
        shares more of them than what ``llm`` holds now."""
        tokens = list(tokens)
        held = Llama.longest_token_prefix(llm.input_ids[: llm.n_tokens].tolist(), tokens)
        best, length = None, held
        for key in self._states:
            n = Llama.longest_token_prefix(key, tokens)
            if n > length:
                best, length = key, n
        if best is None:
            return False
        llm.load_state(self._states[best])
        self.hits += 1
        return True

    def start_round(self) -> None:
        self._round = set()

    def end_round(self) -> None:
        self._states = {k: v for k, v in self._states.items() if k in self._round}
