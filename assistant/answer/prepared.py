"""llama.cpp states of prompt openings, computed ahead of the questions.

On a CPU, reading the prompt is most of the wait for the first token (about 31 prompt
tokens/s for the 1.5B model on 2 cores). Every prompt opens with the fixed rules and the
top passage's excerpt, and the excerpts a question can get are known once the index is
built: the excerpt is centred on the passage's best-matching sentence, so there is one per
sentence at most. With their states held, a prompt that opens with one is read only from
there on: the other passages and the question.

Before a prompt is read, the state with the longest common prefix is restored when that
covers more than what the context already holds; the prompt is then read from there on as
an empty context would read it (``LlamaGenerator._read``). The result is the same
computation, not an approximation.

Given a folder, each state is also written there (one file per opening, replaced
atomically) and the folder's states are held again when the next process starts, so a
restart re-reads no opening; a round deletes the files of the openings it dropped.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from llama_cpp.llama import Llama, LlamaState

log = logging.getLogger(__name__)


def held(llm: Llama, tokens: Sequence[int]) -> int:
    """How many leading tokens of ``tokens`` the context of ``llm`` holds."""
    return Llama.longest_token_prefix(llm.input_ids[: llm.n_tokens].tolist(), list(tokens))


class PreparedPrompts:
    """Prompt states, looked up by longest common prefix. A round (``start_round`` ...
    ``end_round``) keeps what it added and drops the rest (openings of passages that are
    gone); adding an opening already held costs a restore and a few tokens."""

    def __init__(self, capacity_bytes: int, folder: Path | None = None):
        self.capacity_bytes = capacity_bytes
        self.folder = folder
        self._states: dict[tuple[int, ...], LlamaState] = {}
        self._round: set[tuple[int, ...]] = set()
        self.hits = 0  # restores (for tests and benchmarks)
        if folder is not None:
            self._load()

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
        if key in self._states:  # held (read from the folder): the same computation
            return
        # The logits are not needed: at least MIN_ROWS tokens are read after a restore
        # (``generation.read_batches``). Kept whole they are n_batch x vocabulary floats
        # (155 MB) per state.
        self._states[key] = LlamaState(
            input_ids=state.input_ids, scores=state.scores[-1:].copy(), n_tokens=state.n_tokens,
            llama_state=state.llama_state, llama_state_size=state.llama_state_size, seed=state.seed,
        )
        if self.folder is not None:
            self._save(key, self._states[key])

    def keep(self, tokens: Sequence[int]) -> bool:
        """Keep in this round a held state that has read all of ``tokens`` (one read from
        the folder): True, and the opening need not be read again."""
        tokens = tuple(tokens)
        key = next((k for k in self._states if k[: len(tokens)] == tokens), None)
        if key is not None:
            self._round.add(key)
        return key is not None

    def restore(self, llm: Llama, tokens: Sequence[int]) -> int:
        """Load into ``llm`` the state sharing the longest prefix with ``tokens``, when it
        shares more of them than what ``llm`` holds now; the number of tokens it holds (0
        when none was loaded)."""
        tokens = list(tokens)
        best, length = None, held(llm, tokens)
        for key in self._states:
            n = Llama.longest_token_prefix(key, tokens)
            if n > length:
                best, length = key, n
        if best is None:
            return 0
        llm.load_state(self._states[best])
        self.hits += 1
        return self._states[best].n_tokens

    def start_round(self) -> None:
        self._round = set()

    def end_round(self) -> None:
        for key in set(self._states) - self._round:
            if self.folder is not None:
                self._file(key).unlink(missing_ok=True)
        self._states = {k: v for k, v in self._states.items() if k in self._round}

    def _file(self, key: tuple[int, ...]) -> Path:
        return self.folder / (hashlib.sha256(np.asarray(key, dtype=np.int64).tobytes()).hexdigest()[:32] + ".npz")

    def _save(self, key: tuple[int, ...], state: LlamaState) -> None:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            path = self._file(key)
            part = path.with_name(path.stem + ".part.npz")
            np.savez(part, input_ids=state.input_ids, scores=state.scores, n_tokens=state.n_tokens, seed=state.seed,
                     llama_state=np.frombuffer(state.llama_state, dtype=np.uint8), llama_state_size=state.llama_state_size)
            os.replace(part, path)
        except OSError as exc:  # a full or read-only disk costs the next start time, nothing else
            log.warning("prepared prompts: cannot keep a state on disk (%s)", exc)

    def _load(self) -> None:
        """Hold the folder's states (up to the capacity); unreadable files are removed."""
        held = 0
        for path in sorted(self.folder.glob("*.npz")) if self.folder.is_dir() else []:
            if path.name.endswith(".part.npz"):
                path.unlink(missing_ok=True)
                continue
            try:
                with np.load(path) as z:
                    state = LlamaState(input_ids=z["input_ids"], scores=z["scores"], n_tokens=int(z["n_tokens"]),
                                       llama_state=z["llama_state"].tobytes(), llama_state_size=int(z["llama_state_size"]), seed=int(z["seed"]))
            except (OSError, ValueError, KeyError) as exc:
                log.warning("prepared prompts: dropping %s (%s)", path.name, exc)
                path.unlink(missing_ok=True)
                continue
            held += state.llama_state_size
            if held > self.capacity_bytes:
                break
            self._states[tuple(state.input_ids.tolist())] = state
