"""The start-up sequence the web app, ``eval``, ``ask --prepare`` and the benches share:
the embedding model fetched and loaded, the index built or loaded, the language model
loaded, then the prompt openings prepared (``Engine.prepare_answers``)."""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from .engine import Engine

log = logging.getLogger(__name__)

STAGES = ("embedding model", "index", "language model")


def warm_up(engine: Engine, progress: bool = False, on_stage: Callable[[int], None] = lambda stage: None) -> None:
    """Load everything an answer needs; ``on_stage(i)`` before ``STAGES[i]``. A language
    model that cannot be loaded is logged, not raised: answers fall back to the extractive
    backend."""
    on_stage(0)
    _ = engine.embedder
    on_stage(1)
    engine.ensure_index(progress=progress)
    _ = engine.retriever
    on_stage(2)
    try:
        engine.generator()
    except Exception as exc:
        log.warning("language model unavailable: %s", exc)


def first_time(engine: Engine) -> tuple[bool, bool, bool]:
    """Per stage of ``warm_up``: whether it fetches (a model not in the cache yet) or
    builds (no index yet) rather than only loads. Cheap: nothing is hashed."""
    s = engine.settings

    def missing(ref: str) -> bool:
        spec = engine.models.registry.get(ref)
        return spec is not None and not Path(ref).expanduser().exists() and not engine.models.is_ready(spec)

    try:
        no_index = engine.store.current_name() is None
    except Exception:  # an unreachable index says so when it is loaded
        no_index = False
    return missing(s.embedding_model), no_index, s.generator == "llama" and missing(s.generator_model)


def prepare(engine: Engine) -> int:
    """Prepare the prompt openings with a progress bar; say on stderr how long it took."""
    started = time.perf_counter()
    held = engine.prepare_answers(progress=True)
    print(f"prepared {held} prompt openings in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return held


class Startup:
    """``warm_up`` in the background, so the web page answers at once on a fresh machine;
    then the prompt openings are prepared while the chat already answers, and again after
    each change to the documents."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self.stage = 0
        self.first_time = first_time(engine)  # per stage: is something fetched or built?
        self.error: str | None = None
        self.ready = threading.Event()
        self.prepared = (0, 0)  # openings prepared, of how many
        self._preparing = threading.Lock()
        self._rounds = 0  # preparation rounds asked for and not finished

    def start(self) -> "Startup":
        threading.Thread(target=self._run, name="startup", daemon=True).start()
        return self

    def _run(self) -> None:
        try:
            warm_up(self.engine, on_stage=lambda stage: setattr(self, "stage", stage))
            self.stage = len(STAGES)
            self._rounds += 1
            self.ready.set()
        except Exception as exc:
            log.exception("start-up failed")
            self.error = str(exc)
            return
        self.prepare()

    def prepare(self) -> None:
        """Prepare the prompt openings of the current index (one round at a time)."""
        with self._preparing:
            try:
                self.engine.prepare_answers(progress=lambda done, total: setattr(self, "prepared", (done, total)))
            except Exception:  # only answers' speed depends on it
                log.exception("preparing prompt openings failed")
            finally:
                self.prepared = (0, 0)
                self._rounds -= 1

    def prepare_later(self) -> None:
        self._rounds += 1
        threading.Thread(target=self.prepare, name="prepare", daemon=True).start()

    @property
    def settled(self) -> bool:
        """Nothing left to report: start-up failed, or it is done and no preparation is
        running or asked for."""
        return self.error is not None or (self.ready.is_set() and self._rounds <= 0)

    def wait(self, timeout: float = 600) -> bool:
        """Block until ready (True), start-up failed or ``timeout`` passed (False)."""
        deadline = time.monotonic() + timeout
        while not self.ready.wait(timeout=0.5):
            if self.error or time.monotonic() > deadline:
                return False
        return True
