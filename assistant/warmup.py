"""The start-up sequence the web app, ``eval``, ``ask --prepare`` and the benches share:
the embedding model fetched and loaded, the index built or loaded, the language model
loaded, then the prompt openings prepared (``Engine.prepare_answers``)."""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Callable

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
        self.error: str | None = None
        self.ready = threading.Event()
        self.prepared = (0, 0)  # openings prepared, of how many
        self._preparing = threading.Lock()

    def start(self) -> "Startup":
        threading.Thread(target=self._run, name="startup", daemon=True).start()
        return self

    def _run(self) -> None:
        try:
            warm_up(self.engine, on_stage=lambda stage: setattr(self, "stage", stage))
            self.stage = len(STAGES)
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

    def prepare_later(self) -> None:
        threading.Thread(target=self.prepare, name="prepare", daemon=True).start()

    def wait(self, timeout: float = 600) -> bool:
        """Block until ready (True), start-up failed or ``timeout`` passed (False)."""
        deadline = time.monotonic() + timeout
        while not self.ready.wait(timeout=0.5):
            if self.error or time.monotonic() > deadline:
                return False
        return True
