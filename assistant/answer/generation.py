"""Generation backends behind one small interface: ``stream(prompt)`` yields text pieces.

* ``llama``: llama-cpp-python with a GGUF file (default: Qwen2.5-Coder-1.5B-Instruct Q4_K_M);
* ``transformers``: any causal LM by Hugging Face id or folder (a GGUF file loads through
  ``gguf_file=``), with the model's chat template, token streaming, GPU when present;
* ``extractive``: no language model; the best-supported sentences of the passages;
* ``openai``: an OpenAI-compatible server (``remote``).

One model instance per process and backend (``backends.load_generator``); calls are
serialized with a lock, since neither llama.cpp contexts nor a model's KV cache may be
shared by two generations at once.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import re
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..config import Settings
from ..text.lexicon import SENTINEL
from ..types import Passage

log = logging.getLogger(__name__)

# Greedy decoding without a repetition penalty: a grounded answer copies names, dates and
# figures from the passages and the question, which a penalty pushes the model away from
# (1.05 gave a wrong date from the same paragraph on KorQuAD; 1.0 changed nothing else).
NO_REPEAT_PENALTY = 1.0

# llama.cpp's CPU kernels give a token slightly other logits (up to 0.6 here) when it is
# read in a batch that starts off a multiple of 4 or holds fewer than 8 tokens, as when a
# context that holds a prompt reads its last token again. A greedy reply could then change
# with what was asked before (an unrelated question, or the same one). So every prompt is
# read as into an empty context (``LlamaGenerator._read``); these two figures were
# measured with the default model on x86 (tests/test_answers_real.py).
ROW_GROUP, MIN_ROWS = 4, 8


def read_batches(held: int, n: int, batch: int) -> list[tuple[int, int]]:
    """The batches (start, end) in which a prompt of ``n`` tokens is read when the context
    holds its first ``held`` as an empty context's read would: from a multiple of
    ``ROW_GROUP`` with at least ``MIN_ROWS`` tokens left, in batches that end where an
    empty context's end (multiples of ``batch``), none of fewer than ``MIN_ROWS`` tokens
    that such a read reads within a larger one."""
    start = max(0, min(held, n - MIN_ROWS)) // ROW_GROUP * ROW_GROUP
    boundary = (start // batch + 1) * batch
    if start % batch and boundary < n:
        start = min(start, boundary - MIN_ROWS)
    ends = [*range(boundary, n, batch), n]
    return list(zip([start, *ends], ends))


def reusable(n: int, batch: int) -> int:
    """Of a prompt of ``n`` tokens read as ``LlamaGenerator._read`` reads it, how many
    leading tokens another prompt may keep: all but a last batch of fewer than
    ``MIN_ROWS``, which an empty context reads within a larger one for a longer prompt."""
    last = (n - 1) // batch * batch
    return last if n - last < MIN_ROWS else n


# The letters a reply may begin with when it must be in a given language: Hangul, or a
# Latin letter or digit (GBNF / regex character-class ranges).
OPENING = {"ko": "가-힣", "en": "A-Za-z0-9"}


def opening_grammar(language: str) -> str:
    """GBNF for a reply whose first letter is one of ``OPENING[language]``."""
    return f"root ::= [{OPENING[language]}] [^\\x00]*"


@dataclass(frozen=True)
class Prompt:
    """What a backend needs: chat messages for a language model, and the structured
    question and passages for the extractive backend. ``opening``: a language whose
    letters (``OPENING``) the reply must begin with. ``decline_floor``: the reply may open
    with the decline sentinel only when the model gives that at least this probability
    (``DeclineFloor``)."""

    messages: list[dict]
    question: str
    language: str
    passages: list[Passage] = field(default_factory=list)
    excerpts: list[str] = field(default_factory=list)  # what the messages quote of each passage
    max_tokens: int = 160
    opening: str | None = None
    decline_floor: float = 0.0
    # What the backend saw while answering: "decline", the probability it gave declining.
    observed: dict = field(default_factory=dict, compare=False)


class Generator:
    name = "base"
    model = ""

    def __init__(self):
        self._lock = threading.Lock()
        self._count_lock = threading.Lock()
        self._waiting = 0  # questions waiting for the lock or being answered

    def stream(self, prompt: Prompt, stop: threading.Event | None = None) -> Iterator[str]:
        self._count(1)
        try:
            with self._lock:
                for piece in self._stream(prompt):
                    if stop is not None and stop.is_set():
                        break
                    yield piece
        finally:
            self._count(-1)

    def _count(self, step: int) -> None:
        with self._count_lock:
            self._waiting += step

    def _idle(self) -> None:
        """Wait while questions wait or are answered: a lock is not fair, and background
        work that takes it again at once could keep a question waiting for many turns."""
        while self._waiting:
            time.sleep(0.05)

    def count_tokens(self, prompt: Prompt) -> int | None:
        return None

    def prepare(self, openings: list[list[dict]], progress=None) -> int:
        """Read ahead prompts that will open with each of ``openings`` (chat messages, the
        last one the beginning of a future user message); returns how many are held.
        Only the llama backend can keep such states."""
        return 0

    def judge(self, messages: list[dict]) -> float | None:
        """The probability that the reply to ``messages`` begins with "yes" rather than
        "no" (None where a backend has no model to ask)."""
        return None

    def _stream(self, prompt: Prompt) -> Iterator[str]:
        raise NotImplementedError


def yes_share(candidates: dict[str, float]) -> float | None:
    """P(yes) / (P(yes) + P(no)) over first-token candidates (token text -> probability)."""
    yes = sum(p for t, p in candidates.items() if t.strip().lower() in ("yes", "y"))
    no = sum(p for t, p in candidates.items() if t.strip().lower() in ("no", "n"))
    return yes / (yes + no) if yes + no > 0 else None


def probabilities(logits) -> np.ndarray:
    """Softmax of one token's logits, in float64."""
    z = np.asarray(logits, dtype=np.float64)
    p = np.exp(z - z.max())
    return p / p.sum()


class DeclineFloor:
    """A logits processor for the first new token: records the probability of the tokens
    that begin the decline sentinel and, when it is below ``floor``, takes them away with
    the sentinel's other spellings (``variants``: a model kept from "NOT" writes
    "Not_FOUND"), so a model that only half-declines answers and the checks judge that
    answer."""

    def __init__(self, ids: list[int], floor: float, observed: dict, variants: Iterable[int] = ()):
        self.ids, self.floor, self.observed = ids, floor, observed
        self.blocked = [*ids, *variants]

    def __call__(self, input_ids, scores):
        if "decline" in self.observed:
            return scores
        share = float(probabilities(scores)[self.ids].sum())
        self.observed["decline"] = share
        if share < self.floor:
            scores[self.blocked] = -np.inf
        return scores


def sentinel_ids(vocabulary: Iterable[tuple[int, str]]) -> tuple[list[int], list[int]]:
    """Token ids whose text (spaces aside) begins the decline sentinel, "NO" at least; and
    those that begin it in other letter case, "Not" at least ("No" is a word answers begin with)."""
    exact, variants = [], []
    for i, text in vocabulary:
        t = text.strip()
        if len(t) >= 2 and SENTINEL.startswith(t):
            exact.append(i)
        elif len(t) >= 3 and SENTINEL.startswith(t.upper()):
            variants.append(i)
    return exact, variants


class LlamaGenerator(Generator):
    name = "llama"

    def __init__(self, path: Path, model: str, settings: Settings):
        super().__init__()
        import llama_cpp
        from llama_cpp import Llama

        from .prepared import PreparedPrompts

        self.model = model
        self.llm = Llama(
            model_path=str(path),
            n_ctx=settings.llama_context,
            n_threads=settings.llama_threads or max(1, os.cpu_count() or 1),
            n_batch=settings.llama_batch,
            verbose=False,
        )
        # Found once at load (about 1 s: the whole vocabulary is read), not by the first question.
        self._sentinel_ids, self._sentinel_variants = sentinel_ids((i, self.llm.detokenize([i]).decode("utf-8", "ignore")) for i in range(self.llm.n_vocab()))
        # States are kept on disk per model file, llama.cpp version, context shape and the
        # way a prompt is read (``read_batches``).
        shape = f"{path.name}:{path.stat().st_size}:{llama_cpp.__version__}:{settings.llama_context}:{settings.llama_batch}:{ROW_GROUP}:{MIN_ROWS}"
        folder = settings.data_folder / "prepared" / hashlib.sha256(shape.encode()).hexdigest()[:16]
        self.prepared = PreparedPrompts(settings.prepared_mb * 1024 * 1024, folder)
        self._reusable = 0  # how much of what the context holds a prompt may keep (``reusable``)

    def prepare(self, openings: list[list[dict]], progress=None) -> int:
        """Read each opening and keep its llama.cpp state (``prepared``), one at a time
        under the lock, so that questions asked meanwhile wait for one opening at most."""
        self.prepared.start_round()
        for n, messages in enumerate(openings, 1):
            self._idle()
            with self._lock:
                if self.prepared.keep(self.prompt_tokens(messages)):
                    pass
                elif self.prepared.full:
                    log.warning("prepared prompts: capacity reached after %d of %d openings", n - 1, len(openings))
                    break
                else:
                    for _ in self._complete(messages, max_tokens=1):
                        pass
                    self.prepared.add(self.llm.save_state())
            if progress:
                progress(n, len(openings))
        with self._lock:
            self.prepared.end_round()
        return len(self.prepared)

    def _read(self, tokens: list[int]) -> None:
        """Put ``tokens`` into the context with the logits reading them into an empty one
        gives (``ROW_GROUP``), keeping what it holds of them (``read_batches``)."""
        from .prepared import held

        llm = self.llm
        batches = read_batches(min(held(llm, tokens), self._reusable), len(tokens), llm.n_batch)
        llm.n_tokens = batches[0][0]
        for start, end in batches:
            llm.eval(tokens[start:end])
        self._reusable = reusable(len(tokens), llm.n_batch)

    def _complete(self, messages: list[dict], **options):
        """``create_chat_completion``, streamed, from the prepared opening that covers most
        of the prompt (``prepared``); the prompt is read first (``_read``), so llama.cpp
        finds it all in the context and samples at once."""
        tokens = self.prompt_tokens(messages)
        if loaded := self.prepared.restore(self.llm, tokens):
            self._reusable = reusable(loaded, self.llm.n_batch)
        self._read(tokens)
        return self.llm.create_chat_completion(messages=messages, temperature=0.0, top_k=1, stream=True, **options)

    def _stream(self, prompt: Prompt) -> Iterator[str]:
        from llama_cpp import LogitsProcessorList

        floor = DeclineFloor(self._sentinel_ids, prompt.decline_floor, prompt.observed, self._sentinel_variants)
        for part in self._complete(
            prompt.messages,
            max_tokens=prompt.max_tokens,
            repeat_penalty=NO_REPEAT_PENALTY,
            grammar=self._grammar(prompt.opening) if prompt.opening else None,
            logits_processor=LogitsProcessorList([floor]),
        ):
            text = part["choices"][0]["delta"].get("content")
            if text:
                yield text

    @functools.cache
    def _grammar(self, language: str):
        from llama_cpp import LlamaGrammar

        return LlamaGrammar.from_string(opening_grammar(language), verbose=False)

    def prompt_tokens(self, messages: list[dict]) -> list[int]:
        """The prompt's tokens (ChatML, as the model's chat template writes it)."""
        from llama_cpp.llama_chat_format import format_chatml

        return self.llm.tokenize(format_chatml(messages).prompt.encode("utf-8"), add_bos=False, special=True)

    def count_tokens(self, prompt: Prompt) -> int:
        return len(self.prompt_tokens(prompt.messages))

    def judge(self, messages: list[dict]) -> float | None:
        tokens = self.prompt_tokens(messages)
        with self._lock:
            # The context goes back to what it held, so the next question's prompt, which
            # opens with the same rules, is not read again from the start.
            before, kept = self.llm.save_state(), self._reusable
            self._read(tokens)
            logits = np.ctypeslib.as_array(self.llm._ctx.get_logits(), shape=(self.llm.n_vocab(),))
            probs = probabilities(logits)
            self.llm.load_state(before)
            self._reusable = kept
        top = np.argsort(-probs)[:20]
        return yes_share({self.llm.detokenize([int(i)]).decode("utf-8", "ignore"): float(probs[i]) for i in top})


class TransformersGenerator(Generator):
    name = "transformers"

    def __init__(self, ref: str, path: Path, gguf_file: str | None = None):
        super().__init__()
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.model = ref
        kwargs = {"gguf_file": gguf_file} if gguf_file else {}
        self.device = "cuda" if torch.cuda.is_available() else "cpu"
        self.tokenizer = AutoTokenizer.from_pretrained(str(path), **kwargs)
        self.lm = AutoModelForCausalLM.from_pretrained(
            str(path), dtype=torch.bfloat16 if self.device == "cuda" else torch.float32, **kwargs
        ).to(self.device)
        self.lm.eval()

    def _inputs(self, prompt: Prompt):
        return self.tokenizer.apply_chat_template(
            prompt.messages, add_generation_prompt=True, return_tensors="pt", return_dict=True
        ).to(self.device)

    def count_tokens(self, prompt: Prompt) -> int:
        return int(self._inputs(prompt)["input_ids"].shape[1])

    def judge(self, messages: list[dict]) -> float | None:
        import torch

        with self._lock, torch.no_grad():
            inputs = self.tokenizer.apply_chat_template(messages, add_generation_prompt=True, return_tensors="pt", return_dict=True).to(self.device)
            probs = torch.softmax(self.lm(**inputs).logits[0, -1].float(), dim=-1)
            top = torch.topk(probs, 20)
            return yes_share({self.tokenizer.decode([int(i)]): float(p) for p, i in zip(top.values, top.indices)})

    @functools.cache
    def _opening_ids(self, language: str) -> list[int]:
        """Token ids whose text begins with a letter of ``language``."""
        first = re.compile(f"[{OPENING[language]}]")
        return [i for i in range(len(self.tokenizer)) if first.match(self.tokenizer.decode([i]))]

    def _stream(self, prompt: Prompt) -> Iterator[str]:
        from transformers import LogitsProcessorList, TextIteratorStreamer

        streamer = TextIteratorStreamer(self.tokenizer, skip_prompt=True, skip_special_tokens=True)
        inputs = self._inputs(prompt)
        extra = {}
        if prompt.opening:
            extra["logits_processor"] = LogitsProcessorList([_Opening(self._opening_ids(prompt.opening), inputs["input_ids"].shape[1])])
        worker = threading.Thread(
            target=self.lm.generate,
            kwargs={
                **inputs, "streamer": streamer, "max_new_tokens": prompt.max_tokens, "do_sample": False,
                "repetition_penalty": NO_REPEAT_PENALTY,  # overrides a model's generation_config
                **extra,
            },
            daemon=True,
        )
        worker.start()
        for text in streamer:
            if text:
                yield text
        worker.join()


class _Opening:
    """A logits processor that allows only ``allowed`` token ids as the first new token."""

    def __init__(self, allowed: list[int], prompt_length: int):
        self.allowed, self.prompt_length = allowed, prompt_length

    def __call__(self, input_ids, scores):
        if input_ids.shape[1] != self.prompt_length:
            return scores
        masked = scores.new_full(scores.shape, float("-inf"))
        masked[:, self.allowed] = scores[:, self.allowed]
        return masked


class ExtractiveGenerator(Generator):
    """Answers with the passages' best-matching sentences: instant, never invents."""

    name = "extractive"
    model = "extractive"

    def _stream(self, prompt: Prompt) -> Iterator[str]:
        for n, p in enumerate(prompt.passages[:1], 1):
            start, end = p.highlight or (p.chunk.start, p.chunk.end)
            text = p.chunk.text[start - p.chunk.start : end - p.chunk.start].strip()
            yield f"{text} [{n}]"
