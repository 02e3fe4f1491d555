"""The engine: one object that owns the models and the index. The CLI and the web app
only wrap it; Python users import it.

    from assistant import Engine
    engine = Engine()
    for passage in engine.search("Transformer 구조는 어떤 논문에서 소개되었나요?"):
        print(passage.chunk.doc_id, passage.chunk.paragraph, passage.score)
    answer = engine.ask("Which paper introduced the Transformer architecture?")
    print(answer.answer, [c.to_dict()["paragraph"] for c in answer.citations])
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from functools import cached_property
from pathlib import Path

import numpy as np
from tqdm import tqdm

from .answer import Pipeline
from .answer.backends import load_generator
from .answer.generation import Generator
from .answer.prompt import openings
from .config import Settings, apply_process_defaults
from .index.backends import open_store
from .index.builder import IndexConfig, build_index
from .index.choice import Choice, cached, choose
from .index.chunking import ChunkingConfig
from .index.embeddings import Embedder, backend_tag, resolve_backend
from .index.search import HybridRetriever
from .index.store import IndexIncompatible, IndexUnavailable
from .ingest.html import without_markup
from .ingest.library import AddResult, DocumentRow, Library
from .ingest.limits import Limits
from .ingest.ocr import OcrConfig, PageProgress
from .types import Answer, BuildReport, Passage
from .weights import ModelStore, fingerprint, resolve

log = logging.getLogger(__name__)

Progress = Callable[..., None]  # (done, total) or (done, total, what): OCR pages name their document
class Engine:
    def __init__(self, settings: Settings | None = None):
        apply_process_defaults()
        self.settings = settings or Settings.from_env()
        self.models = ModelStore(self.settings.model_cache, pip_args=self.settings.pip_args.split())
        self.store = open_store(self.settings)
        self._retriever: HybridRetriever | None = None
        self._lock = threading.Lock()

    # -- models --------------------------------------------------------------------
    @cached_property
    def embedding_path(self) -> Path:
        return resolve(self.settings.embedding_model, self.models, hub=self.settings.hub)

    @cached_property
    def embedding_choice(self) -> Choice:
        """The embedding backend in use and why: measured on this machine for ``auto``
        (once, then cached), else the setting."""
        s = self.settings
        return self.known_embedding_choice() or choose(self.embedding_path, self.export_dir, s.embedding_bf16, s.embedding_batch_size)

    def known_embedding_choice(self, embedding_path: Path | None = None) -> Choice | None:
        """The embedding backend without measuring anything: the setting, or the choice
        measured earlier for ``auto``; None while ``auto`` is not measured on this machine."""
        s = self.settings
        if s.embedding_backend.strip().lower() == "auto" and resolve_backend("auto", s.device) != "torch":
            return cached(embedding_path or self.embedding_path, self.export_dir, s.embedding_bf16)
        return Choice(resolve_backend(s.embedding_backend, s.device, s.embedding_bf16), f"set: {s.embedding_backend}")

    @property
    def export_dir(self) -> Path:
        return self.settings.model_cache / ".exports"

    @cached_property
    def embedder(self) -> Embedder:
        s = self.settings
        return Embedder(
            self.embedding_path, device=s.device, truncate_dim=s.embedding_dim, batch_size=s.embedding_batch_size,
            backend=self.embedding_choice.backend, export_dir=self.export_dir, allow_bf16=s.embedding_bf16,
        )

    @cached_property
    def chunking(self) -> ChunkingConfig:
        return ChunkingConfig(max_chars=self.settings.chunk_max_chars, min_unit_chars=self.settings.chunk_min_unit_chars)

    def index_config(self, embedding_path: Path | None = None, backend: str | None = None) -> IndexConfig:
        """What an index built now depends on, and what a loaded index must match.
        ``embedding_path``: the local embedding model, when known (else it is resolved);
        ``backend``: the embedding backend to assume (else the one in use)."""
        s = self.settings
        embedding = fingerprint(s.embedding_model, embedding_path or self.embedding_path, self.models)
        embedding["truncate_dim"] = s.embedding_dim
        tag = backend_tag(backend or self.embedding_choice.backend)
        if tag is not None:  # torch float32 vectors are recorded as before (no key)
            embedding["backend"] = tag
        return IndexConfig(embedding, self.chunking, s.bm25_k1, s.bm25_b, self.limits, OcrConfig.of(s))

    @cached_property
    def limits(self) -> Limits:
        return Limits.of(self.settings)

    # -- index ---------------------------------------------------------------------
    def build_index(self, full: bool = False, progress: Progress | bool = False) -> BuildReport:
        """Bring the index in line with the corpus. ``progress``: True for a progress bar
        on stderr, or a callable receiving (sentences embedded, sentences to embed)."""

        loading = {}

        def embed(texts: list[str], titles: list[str]):
            # In slices, so that searches (which share the model) are not held up for the
            # whole build, and so that progress can be reported.
            started = time.perf_counter()
            _ = self.embedder
            loading["seconds"] = time.perf_counter() - started
            report_to = progress if callable(progress) else None
            bar = tqdm(total=len(texts), unit="sentence", desc="embedding", disable=progress is not True)
            parts = []
            step = self.settings.embed_slice
            for i in range(0, len(texts), step):
                parts.append(self.embedder.embed_documents(texts[i : i + step], titles=titles[i : i + step]))
                bar.update(len(parts[-1]))
                if report_to:
                    report_to(bar.n, len(texts))
            bar.close()
            return np.concatenate(parts)

        report = build_index(self.settings.corpus_dir, self.store, self.index_config(), embed, full=full, on_page=_ocr_progress(progress))
        if loading:
            report.load_seconds = loading["seconds"]
            report.embedding = f"{self.embedding_choice.backend} ({self.embedding_choice.reason})"
        with self._lock:
            self._retriever = None  # pick up the new generation on next search
        return report

    def ensure_index(self, progress: Progress | bool = False) -> None:
        """Build the index when it is missing, or rebuild it when it cannot be used as it
        is (an older format, another model or other chunking settings)."""
        try:
            _ = self.retriever
        except IndexUnavailable as exc:
            log.warning("building the index: %s", str(exc).split(";")[0])
            self.build_index(progress=progress)

    # -- documents -----------------------------------------------------------------
    @cached_property
    def library(self) -> Library:
        return Library(self.settings.corpus_dir, self.limits, OcrConfig.of(self.settings), self.settings.data_folder / "trash")

    def documents(self) -> list[DocumentRow]:
        """The corpus files with their index status."""
        return self.library.rows(self.store.read_manifest())

    def add_documents(self, paths: list[Path], names: list[str] | None = None, progress: Progress | bool = False) -> tuple[list[AddResult], BuildReport | None]:
        """Copy files into the corpus and index them (see ``Library.add``); the index is
        rebuilt only when something was added or replaced."""
        results = self.library.add(paths, names, on_page=_ocr_progress(progress))
        changed = any(r.status in ("added", "replaced") for r in results)
        return results, self.build_index(progress=progress) if changed else None

    def remove_documents(self, names: list[str], progress: Progress | bool = False) -> BuildReport:
        """Delete documents from the corpus (into the data folder's trash, see
        ``undo_remove``) and drop all their chunks from the index."""
        self.library.remove(names)
        return self.build_index(progress=progress)

    def undo_remove(self, progress: Progress | bool = False) -> BuildReport:
        """Put the documents of the latest removal back and index them again."""
        self.library.undo_remove()
        return self.build_index(progress=progress)

    @property
    def retriever(self) -> HybridRetriever:
        with self._lock:
            current = self.store.current_name()
            if self._retriever is None or self._retriever.view.name != current:
                view = self.store.load()
                self.check_compatible(view.manifest)
                self._retriever = HybridRetriever(view, self.embedder, self.settings)
            return self._retriever

    def check_compatible(self, manifest: dict, embedding_path: Path | None = None, backend: str | None = None) -> None:
        """Raise IndexIncompatible when an index's manifest does not fit the settings."""
        expected = self.index_config(embedding_path, backend).manifest()
        for key in ("embedding", "lexical", "chunking"):
            if manifest.get(key) != expected[key]:
                built = manifest.get(key, {}).get("model", manifest.get(key))
                raise IndexIncompatible(
                    f"the index was built with a different {key} setting ({built}); "
                    f"rebuild it with: python -m assistant index --full"
                )

    # -- search --------------------------------------------------------------------
    def search(self, query: str, k: int | None = None) -> list[Passage]:
        """The best passages for ``query`` (Korean or English). Raises ValueError for a blank
        or over-long query."""
        query = self._validate(query, "query")
        return self.retriever.search(query, k or self.settings.top_k)

    @staticmethod
    def asked(text: str | None) -> str:
        """What a typed question or query asks: the text without pasted HTML or outer spaces."""
        return without_markup(text or "")

    def _validate(self, text: str, what: str) -> str:
        text = self.asked(text)
        if not text:
            raise ValueError(f"the {what} is empty")
        if len(text) > self.settings.max_query_chars:
            raise ValueError(f"the {what} is too long ({len(text)} characters; the limit is {self.settings.max_query_chars})")
        return text

    # -- answers -------------------------------------------------------------------
    def generator(self, backend: str | None = None) -> Generator:
        """The process-wide generator for ``backend`` (default: the configured one)."""
        backend = backend or self.settings.generator
        return load_generator(backend, self.settings, lambda ref: resolve(ref, self.models, hub=self.settings.hub))

    def prepare_answers(self, progress: Progress | bool = False) -> int:
        """Read ahead, with the configured generator, every prompt opening a question can
        get from this index (the rules and the top passage's excerpt: ``answer.prompt.openings``),
        so that a question's prompt is read only from the other passages on. Takes about 4 s
        per opening on 2 CPU cores; none are prepared when the index has more than
        ``settings.prepared_openings``. ``progress``: as for ``build_index``. Returns how
        many openings are held (0 for a backend that cannot hold them)."""
        passages = [Passage(chunk=c, score=1.0, highlight=(s, e)) for c, s, e in self.retriever.view.unit_passages()]
        heads = openings(passages, self.settings.excerpt_budget)
        if not heads or len(heads) > self.settings.prepared_openings:
            log.info("not preparing prompt openings: %d (limit %d)", len(heads), self.settings.prepared_openings)
            return 0
        try:
            gen = self.generator()
        except Exception as exc:  # answers will fall back to the extractive backend
            log.warning("not preparing prompt openings: %s", exc)
            return 0
        bar = tqdm(total=len(heads), unit="opening", desc="preparing answers", disable=progress is not True)

        def step(done: int, total: int) -> None:
            bar.update(done - bar.n)
            if callable(progress):
                progress(done, total)

        held = gen.prepare(heads, step)
        bar.close()
        return held

    def ask(self, question: str, history: list[dict] | None = None, generator: str | None = None) -> Answer:
        """Answer ``question`` from the documents (see ``answer_stream``)."""
        answer = None
        for _, answer in self.answer_stream(question, history, generator):
            pass
        return answer

    def answer_stream(
        self,
        question: str,
        history: list[dict] | None = None,
        generator: str | None = None,
        stop: threading.Event | None = None,
        on_sources: Callable[[list[Passage]], None] | None = None,
    ) -> Iterator[tuple[str, Answer | None]]:
        """Yield the answer text as it grows, then ``(text, Answer)`` once it is complete
        (or nothing more once ``stop`` is set). ``on_sources`` receives the passages the
        answer may cite (its markers number them) as soon as retrieval is done, before the
        first token.

        The answer is in the question's language, cites the passages it used, and is the
        fixed refusal sentence (``abstained``, with the ``refusal`` reason) when the passages
        do not hold it. If the generator cannot be loaded, the extractive backend answers
        with a notice.
        """
        question = self._validate(question, "question")
        notice = None
        try:
            gen = self.generator(generator)
        except Exception as exc:  # no generator: fall back, visibly
            log.warning("generator unavailable (%s); using the extractive backend", exc)
            notice = f"The language model could not be loaded ({exc}); showing extracted sentences instead."
            gen = self.generator("extractive")
        yield from self.pipeline.stream(question, history, gen, stop, notice, on_sources)

    @cached_property
    def pipeline(self) -> Pipeline:
        return Pipeline(self.settings, self.search)


def _ocr_progress(progress: Progress | bool) -> PageProgress | None:
    """OCR page progress: a bar per document on stderr (``True``), or ``progress(done,
    total, "OCR <name>")``."""
    if callable(progress):
        return lambda name, done, total: progress(done, total, f"OCR {name}")
    if progress is not True:
        return None
    bars: dict[str, tqdm] = {}

    def on_page(name: str, done: int, total: int) -> None:
        bar = bars.setdefault(name, tqdm(total=total, unit="page", desc=f"OCR {name}"))
        bar.total = total
        bar.update(done - bar.n)
        if done >= total:
            bar.close()

    return on_page

