"""How long Stop takes to end an answer: the time from setting ``stop`` to the end of
``Engine.answer_stream``, as the web chat's Stop button sets it.

    python bench/stop.py [--runs 2] [--after 3]

Over the web chat's example questions, answered cold from the repository's index, Stop is
set once the answer has shown ``--after`` pieces of text. Prints the median and spread of
the delay, and how many stops came too late (the answer was already complete). For
comparison, the same stream left to finish: the time from that point to its end.
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time

from assistant.engine import Engine
from assistant.ui import EXAMPLES


def stop_delay(engine: Engine, question: str, after: int, stop_it: bool) -> float | None:
    """Seconds from the ``after``-th piece of text to the end of the stream (Stop set at
    that piece when ``stop_it``); None when the answer was complete before it."""
    stop = threading.Event()
    shown, marked = 0, None
    for text, done in engine.answer_stream(question, None, stop=stop):
        if text and done is None and marked is None:
            shown += 1
            if shown >= after:
                marked = time.perf_counter()
                if stop_it:
                    stop.set()
    return None if marked is None else time.perf_counter() - marked


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2, help="rounds over the example questions")
    parser.add_argument("--after", type=int, default=3, help="pieces of text shown before Stop")
    args = parser.parse_args()
    engine = Engine()
    engine.ask(EXAMPLES[0])  # load the models
    for stop_it, label in ((True, "Stop set"), (False, "left to finish")):
        delays = [stop_delay(engine, q, args.after, stop_it) for _ in range(args.runs) for q in EXAMPLES]
        timed = [d for d in delays if d is not None]
        late = len(delays) - len(timed)
        if timed:
            print(f"{label:15s} to the end of the stream: median {statistics.median(timed):.2f} s, "
                  f"min {min(timed):.2f}, max {max(timed):.2f} (n={len(timed)}; {late} complete before)")
        else:
            print(f"{label:15s}: every answer was complete before (n={late})")


if __name__ == "__main__":
    main()
