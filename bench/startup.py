"""How long the web app's start-up takes, first and again: each run is a fresh process
doing what ``app.py`` starts with (``warmup.Startup``: models, index, then the prompt
openings prepared), timed to ready (the chat answers) and to settled (every opening
prepared). The first run starts with an empty data folder; the later ones find the
prepared states it kept on disk.

    python -m bench.startup                 # the shipped corpus and index, 3 restarts
    python -m bench.startup --restarts 5
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CHILD = """
import json, sys, time
from pathlib import Path
started = time.perf_counter()
from assistant.config import Settings
from assistant.engine import Engine
from assistant.warmup import Startup
startup = Startup(Engine(Settings.from_env(data_dir=Path(sys.argv[1])))).start()
startup.wait()
ready = time.perf_counter() - started
while not startup.settled:
    time.sleep(0.05)
held = len(startup.engine.generator().prepared)
print(json.dumps({"ready": ready, "settled": time.perf_counter() - started, "held": held}))
"""


def once(data: Path) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD, str(data)], cwd=ROOT, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def spread(xs: list[float]) -> str:
    return f"median {statistics.median(xs):.1f} s (min {min(xs):.1f}, max {max(xs):.1f})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--restarts", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as data:
        first = once(Path(data))
        again = [once(Path(data)) for _ in range(args.restarts)]
        size = sum(f.stat().st_size for f in Path(data).rglob("*.npz")) / 2**20
    print(f"first start: ready {first['ready']:.1f} s, all {first['held']} openings prepared {first['settled']:.1f} s")
    print(f"restarts ({args.restarts}): ready {spread([r['ready'] for r in again])}, "
          f"openings prepared {spread([r['settled'] for r in again])} ({again[-1]['held']} held, {size:.0f} MB on disk)")
    print(f"ratio restart / first start to prepared: {statistics.median(r['settled'] for r in again) / first['settled']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
