"""Does the app's memory grow with use? A fresh process does what the web app does
(``warmup.Startup``: models, index, prompt openings prepared), then rounds of use: each
round answers questions from two threads (half of them follow-ups) and adds then removes
a document (an index build and a preparation round each time). Resident memory (VmRSS) is
printed after start-up and after every round, with the growth per round over the last
half of the rounds.

    python -m bench.memory                       # the shipped essay, 6 rounds x 8 questions
    python -m bench.memory --rounds 10 --questions 12
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from assistant.config import Settings
from assistant.engine import Engine
from assistant.warmup import Startup

ROOT = Path(__file__).resolve().parent.parent
EXTRA = ROOT / "tests" / "fixtures" / "formats" / "bees.pdf"


def rss_mb() -> float:
    status = Path("/proc/self/status").read_text()
    return int(status.split("VmRSS:")[1].split()[0]) / 1024


def questions(n: int, rng: random.Random) -> list[tuple[str, list[dict]]]:
    """Questions made of the essay's own words (some with an earlier turn as history)."""
    words = (ROOT / "corpus" / "deep_learning_and_chatgpt.ko.txt").read_text(encoding="utf-8").split()
    out = []
    for k in range(n):
        q = " ".join(rng.sample(words, rng.randint(3, 25))) + "?"
        history = [{"role": "user", "content": " ".join(rng.sample(words, 6)) + "?"}, {"role": "assistant", "content": "…"}] if k % 2 else []
        out.append((q, history))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--questions", type=int, default=8, help="per round")
    args = parser.parse_args()
    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        shutil.copytree(ROOT / "corpus", work / "corpus")
        engine = Engine(Settings.from_env(corpus_dir=work / "corpus", index_dir=work / "index", data_dir=work / "data"))
        started = time.perf_counter()
        startup = Startup(engine).start()
        startup.wait()
        while not startup.settled:
            time.sleep(0.2)
        print(f"ready and prepared in {time.perf_counter() - started:.0f} s: {rss_mb():.0f} MB")
        pool = ThreadPoolExecutor(2)
        marks = []
        for r in range(1, args.rounds + 1):
            list(pool.map(lambda qh: engine.ask(*qh), questions(args.questions, rng)))
            engine.add_documents([EXTRA])
            startup.prepare_later()
            engine.remove_documents([EXTRA.name])
            startup.prepare_later()
            while not startup.settled:
                time.sleep(0.2)
            marks.append(rss_mb())
            print(f"round {r}: {marks[-1]:.0f} MB", flush=True)
        late = marks[len(marks) // 2 :]
        steps = [b - a for a, b in zip(late, late[1:])]
        print(f"growth per round over the last {len(late)} rounds: median {statistics.median(steps) if steps else 0:.1f} MB "
              f"(min {min(steps, default=0):.1f}, max {max(steps, default=0):.1f}); held openings {len(engine.generator().prepared)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
