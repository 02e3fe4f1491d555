"""``python -m assistant doctor``: diagnose the setup and say how to fix what is wrong.

One line per check, ``OK``, ``WARN`` or ``FAIL``, and for every problem the command that
fixes it:

* models: each model in use (the embedding model and the configured generator's) is in
  the cache and its files match their pinned sha256. Hashing takes a while (about 2.3 GB
  for the defaults); ``--quick`` trusts the size and time recorded at verification.
* index: present, loads, built with the current model, chunking and format, internally
  consistent (manifest counts against chunks, sentence units, vectors, FAISS and BM25),
  up to date with the corpus folder, and free of what interrupted builds leave behind.
* resources: free disk where the model cache, index and corpus live, and available
  memory, against what the models need.

The doctor repairs nothing. The one thing it may write is what ``models verify`` writes:
after a full hash that matches, the size and time of the model's files are recorded again.
Exit status 1 when any check fails, else 0.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import shlex
import sys
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TextIO

import httpx
import numpy as np

from .config import Settings
from .weights import ModelSpec, ModelStore, VerificationError, sha256_file

log = logging.getLogger(__name__)

OK, WARN, FAIL = "OK", "WARN", "FAIL"
GiB = 1 << 30

#: What the default models need: bytes on disk (their files) and memory once loaded.
MODEL_NEEDS: dict[str, tuple[int, float]] = {
    "google/embeddinggemma-300m": (1_269_659_724, 0.75 * GiB),
    "Qwen/Qwen2.5-Coder-1.5B-Instruct-GGUF/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf": (1_117_325_052, 1.8 * GiB),
    "Qwen/Qwen2.5-Coder-0.5B-Instruct-GGUF/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf": (491_404_347, 0.8 * GiB),
}
SMALL_GENERATOR = "Qwen/Qwen2.5-Coder-0.5B-Instruct-GGUF/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"
MEMORY_MARGIN = 0.5 * GiB  # Python, torch, the index and the web app besides the weights
DISK_MARGIN = 1 * GiB


@dataclass
class Check:
    name: str
    status: str  # OK | WARN | FAIL
    message: str
    fix: str | None = None  # the command (or step) that fixes it

    def to_dict(self) -> dict:
        return asdict(self)


# -- entry point -------------------------------------------------------------------------


def run(settings: Settings, quick: bool = False, as_json: bool = False, flags: str = "",
        models: ModelStore | None = None, out: TextIO = sys.stdout, progress: TextIO | None = sys.stderr) -> int:
    """Run every check, print the report, return the exit status. ``flags`` are the
    ``--index``/``--corpus`` options to repeat in the suggested commands."""
    checks = diagnose(settings, quick=quick, flags=flags, models=models, progress=progress)
    failed = any(c.status == FAIL for c in checks)
    if as_json:
        counts = Counter(c.status for c in checks)
        print(json.dumps({"ok": not failed, "counts": {s: counts.get(s, 0) for s in (OK, WARN, FAIL)},
                          "checks": [c.to_dict() for c in checks]}, ensure_ascii=False), file=out)
    else:
        print(render(checks), file=out)
    return 1 if failed else 0


def diagnose(settings: Settings, quick: bool = False, flags: str = "", models: ModelStore | None = None,
             progress: TextIO | None = None) -> list[Check]:
    from .engine import Engine

    engine = Engine(settings)
    if models is not None:
        engine.models = models
    checks: list[Check] = []

    def add(name: str, fn, *args) -> None:
        try:
            result = fn(*args)
        except Exception as exc:  # a check that cannot run is itself a finding
            log.info("check %s failed", name, exc_info=True)
            result = Check(name, FAIL, f"could not be checked: {type(exc).__name__}: {exc}",
                           "python -m assistant --verbose doctor  # shows the traceback")
        checks.extend(result if isinstance(result, list) else [result])

    for role, ref in models_in_use(settings):
        add(f"model {ref} ({role})", check_model, role, ref, engine.models, settings, quick, progress)
    add("embedding backend", check_embedding_backend, engine)
    add("generator backend", check_generator_backend, settings)
    add("model cache", check_model_cache, engine.models)
    add(f"index {settings.index_dir}", check_index, engine, quick, flags)
    add("disk", check_disk, engine)
    add("memory", check_memory, settings, engine.models)
    return checks


def render(checks: list[Check]) -> str:
    lines = []
    for c in checks:
        lines.append(f"{c.status:<4}  {c.name}: {c.message}")
        if c.fix and c.status != OK:
            lines.append(f"      fix: {c.fix}")
    counts = Counter(c.status for c in checks)
    lines.append(f"{counts.get(FAIL, 0)} failed, {counts.get(WARN, 0)} warnings, {counts.get(OK, 0)} ok")
    return "\n".join(lines)


def models_in_use(settings: Settings) -> list[tuple[str, str]]:
    """(role, model reference) of every model the configured setup loads."""
    out = [("embedding", settings.embedding_model)]
    if settings.generator not in ("extractive", "openai"):  # a generation server holds its own model
        out.append((f"generator, {settings.generator}", settings.generator_model))
    return out


# -- models ------------------------------------------------------------------------------


def _env_var(role: str) -> str:
    return "ASSISTANT_EMBEDDING_MODEL" if role == "embedding" else "ASSISTANT_GENERATOR_MODEL"


def _fetch_cmd(ref: str) -> str:
    return f"python -m assistant models fetch {shlex.quote(ref)}"


def _hf_cached(ref: str) -> Path | None:
    """A copy of ``ref`` in the Hugging Face cache, looked up without the network."""
    try:
        from huggingface_hub import hf_hub_download, snapshot_download

        if ref.endswith(".gguf"):
            repo, _, filename = ref.rpartition("/")
            return Path(hf_hub_download(repo, filename, local_files_only=True))
        return Path(snapshot_download(ref, local_files_only=True))
    except Exception:
        return None


def _files(spec: ModelSpec, one: str, many: str) -> str:
    return f"its file {one}" if len(spec.pins) == 1 else f"{len(spec.pins)} files {many}"


def _size(n: float) -> str:
    return f"{n / GiB:.1f} GiB" if n >= GiB / 10 else f"{n / (1 << 20):.0f} MiB"


def check_model(role: str, ref: str, store: ModelStore, settings: Settings, quick: bool,
                progress: TextIO | None) -> Check:
    name = f"model {ref} ({role})"
    local = Path(ref).expanduser()
    if local.exists():
        return Check(name, OK, f"local path {local} (no pinned hashes to verify)")
    spec = store.registry.get(ref)
    if spec is None:
        if ref.startswith((".", "/", "~")) or ref.count("/") == 0:
            return Check(name, FAIL, f"{ref} does not exist",
                         f"export {_env_var(role)}=<an existing model folder or file> (built in: {', '.join(store.registry)})")
        cached = _hf_cached(ref)
        if cached is not None:
            return Check(name, OK, f"in the Hugging Face cache at {cached} (no pinned hashes to verify)")
        if settings.hub:
            return Check(name, WARN, "not downloaded yet; it will come from the Hugging Face Hub on first use (needs internet)",
                         f"export {_env_var(role)}=<a local model folder>  # to work offline")
        return Check(name, FAIL, "not available: not a local path, not in the Hugging Face cache, the Hub is off, and it has no built-in transport",
                     f"export ASSISTANT_HUB=true  # with internet; or export {_env_var(role)}=<a local model folder>")
    folder = store.folder(spec)
    if not folder.exists():
        cached = _hf_cached(ref) if settings.hub else None
        if cached is not None:
            return Check(name, WARN, f"not in the verified model cache; the unverified Hugging Face copy at {cached} will be used",
                         _fetch_cmd(ref))
        return Check(name, FAIL, f"not in the model cache ({store.root})", _fetch_cmd(ref))
    if quick:
        if store.is_ready(spec):
            return Check(name, OK, f"present; {_files(spec, 'has', 'have')} the size and time recorded when "
                                   "verified (--quick: not hashed again)")
        return Check(name, FAIL, "files are missing or changed since they were verified (size or time differ)", _fetch_cmd(ref))
    total = sum((folder / rel).stat().st_size for rel in spec.pins if (folder / rel).is_file())
    if progress is not None:
        print(f"doctor: hashing {ref} ({_size(total)}); --quick skips this", file=progress, flush=True)
    recorded = store.is_ready(spec)
    try:
        store.verify(spec)
    except VerificationError as exc:
        # A file that still has its recorded size and time passes the cheap check, so
        # `models fetch` would keep it: remove the folder first.
        fix = f"rm -rf {shlex.quote(str(folder))} && {_fetch_cmd(ref)}" if store.is_ready(spec) else _fetch_cmd(ref)
        return Check(name, FAIL, str(exc), fix)
    except OSError as exc:
        return Check(name, FAIL, f"cannot read its files ({exc})", f"rm -rf {shlex.quote(str(folder))} && {_fetch_cmd(ref)}")
    note = "" if recorded else " (their size and time had changed; recorded again)"
    return Check(name, OK, f"present; {_files(spec, 'matches its', 'match their')} pinned sha256{note}")


def check_embedding_backend(engine) -> Check:
    """What embeds, and why; never measures (the first index build does)."""
    name = "embedding backend"
    made = engine.known_embedding_choice()
    if made is None:
        return Check(name, WARN, "not measured on this machine yet; the first index build measures it (about a minute, "
                                 "plus a one-time export of a few minutes)", "python -m assistant index")
    if not made.trials:  # set, not measured
        return Check(name, OK, f"{made.backend} ({made.reason})")
    timings = ", ".join(f"{t.backend} {t.seconds:.1f} s" if t.error is None else f"{t.backend} failed" for t in made.trials)
    return Check(name, OK, f"{made.backend}: {made.reason} (sample: {timings})")


def check_generator_backend(settings: Settings) -> list[Check]:
    if settings.generator == "openai":
        return [check_generation_server(settings)]
    module = {"llama": "llama_cpp", "transformers": "transformers"}.get(settings.generator)
    if module is None:
        return []
    if importlib.util.find_spec(module) is None:
        return [Check(f"generator backend {settings.generator}", WARN,
                      f"the {module} package is not installed; answers fall back to extracted sentences",
                      "python -m pip install -r requirements.txt")]
    return [Check(f"generator backend {settings.generator}", OK, f"{module} is installed")]


def check_generation_server(settings: Settings) -> Check:
    from .answer.remote import GenerationError, OpenAIGenerator

    name = "generator backend openai"
    try:
        server = OpenAIGenerator(settings)
        models = server.http.get(f"{server.url}/models", timeout=10)
    except (GenerationError, httpx.HTTPError) as exc:
        return Check(name, FAIL, f"the generation server does not answer ({exc})",
                     "check ASSISTANT_OPENAI_BASE_URL, or start one: bash bench/serve_llama.sh start")
    if models.status_code != 200:
        return Check(name, FAIL, f"{server.url}/models answered {models.status_code}", "check ASSISTANT_OPENAI_API_KEY")
    grammar = "takes the first-letter language grammar" if server.extras().get("grammar") else \
        "takes no grammar (replies are not held to the question's language from their first letter)"
    return Check(name, OK, f"{server.url} answers, serving {server.model}; {grammar}; "
                            f"{settings.answer_slots} questions answered at once")


def _lock_held(path: Path) -> bool:
    """Whether a running process holds the lock at ``path`` (never creates it)."""
    if not path.exists():
        return False
    from filelock import FileLock, Timeout

    lock = FileLock(str(path), timeout=0)
    try:
        lock.acquire()
    except Timeout:
        return True
    except OSError:
        return False
    lock.release()
    return False


def check_model_cache(store: ModelStore) -> Check:
    name = "model cache"
    if not store.root.is_dir():
        return Check(name, OK, f"{store.root} does not exist yet (models are fetched into it)")
    busy = {p.name[1:-len(".lock")] for p in store.root.glob(".*.lock") if _lock_held(p)}
    stale = sorted(p for p in store.root.iterdir()
                   if p.name.startswith((".staging-", ".trash-")) and not any(b in p.name for b in busy))
    notes = [f"a fetch of {b} is running now" for b in sorted(busy)]
    if stale:
        size = sum(f.stat().st_size for p in stale for f in ([p] if p.is_file() else p.rglob("*")) if f.is_file())
        return Check(name, WARN, f"{len(stale)} leftover(s) of interrupted fetches ({_size(size)}): "
                                 + ", ".join(p.name for p in stale) + ("; " + "; ".join(notes) if notes else ""),
                     "rm -rf " + " ".join(shlex.quote(str(p)) for p in stale))
    if notes:
        return Check(name, WARN, "; ".join(notes), "wait for it to finish, then run the doctor again")
    return Check(name, OK, f"{store.root}: no leftovers of interrupted fetches")


# -- index -------------------------------------------------------------------------------


def _embedding_path(engine) -> Path | None:
    """The embedding model's path without fetching or downloading anything (None when
    it is not available locally); for a built-in model only its pins matter."""
    ref = engine.settings.embedding_model
    spec = engine.models.registry.get(ref)
    if spec is not None:
        return engine.models.path(spec)
    local = Path(ref).expanduser()
    if local.exists():
        return local
    return _hf_cached(ref)


def check_index(engine, quick: bool, flags: str = "") -> list[Check]:
    from .index.store import IndexIncompatible, IndexUnavailable, load_generation, manifest_of

    if engine.settings.index_backend == "milvus":
        return check_milvus_index(engine, quick, flags)
    store, settings = engine.store, engine.settings
    index_cmd, full_cmd = _index_commands(flags)
    checks: list[Check] = []
    name = f"index {store.root}"
    pointer = store.pointed()
    current = store.current_name()
    if current is None:
        if pointer:
            checks.append(Check(name, FAIL, f"CURRENT names {pointer}, which is missing or incomplete", index_cmd))
        else:
            checks.append(Check(name, FAIL, "no index has been built", index_cmd))
        checks.append(check_leftovers(store, None))
        return checks

    gen_path = store.root / current
    manifest = None
    try:
        gen = load_generation(gen_path)
        manifest = gen.manifest
    except IndexIncompatible as exc:
        checks.append(Check(name, FAIL, f"{current}: {_strip_hint(exc)}", full_cmd))
        gen = None
    except IndexUnavailable as exc:
        checks.append(Check(name, FAIL, f"{current} is damaged: {_strip_hint(exc)}", full_cmd))
        gen = None
    if gen is not None:
        problem = _inconsistency(gen)
        if problem:
            checks.append(Check(name, FAIL, f"{current} is inconsistent: {problem}", full_cmd))
        else:
            compat = _compatibility(engine, gen.manifest)
            if compat is not None:
                checks.append(Check(name, compat[0], compat[1], full_cmd if compat[0] == FAIL else None))
            else:
                c = gen.manifest["counts"]
                checks.append(Check(name, OK, f"{current}: {c['documents']} documents, {c['chunks']} chunks, "
                                              f"{c['units']} sentence vectors; built {gen.manifest.get('created_at', '?')} "
                                              "with the current model, chunking and format"))
    if manifest is None:
        try:
            manifest = manifest_of(gen_path)
        except (OSError, ValueError):
            manifest = None
    checks += check_corpus(settings, manifest, gen, quick, flags)
    checks.append(check_leftovers(store, current))
    return checks


def check_milvus_index(engine, quick: bool, flags: str = "") -> list[Check]:
    """The Milvus index: reachable, built, compatible, its rows as its version counts them,
    no leftovers of an interrupted update; then the corpus against it."""
    from .index.store import IndexUnavailable

    store = engine.store
    name = f"index {store.name!r} in Milvus at {store.uri}"
    index_cmd, full_cmd = _index_commands(flags)
    try:
        head = store.head()
    except Exception as exc:
        return [Check(name, FAIL, f"Milvus does not answer ({type(exc).__name__}: {exc})",
                      "start the Milvus server, or point ASSISTANT_MILVUS_URI at it (a file path runs milvus-lite)")]
    if head is None:
        return [Check(name, FAIL, "no index has been built", index_cmd)]
    try:
        view = store.load()
    except IndexUnavailable as exc:
        return [Check(name, FAIL, f"damaged: {_strip_hint(exc)}", full_cmd)]
    checks = []
    c = view.manifest["counts"]
    compat = _compatibility(engine, view.manifest)
    units = view.count_units()
    if compat is not None:
        checks.append(Check(name, compat[0], compat[1], full_cmd if compat[0] == FAIL else None))
    elif units != c["units"] or view.size != c["chunks"]:
        checks.append(Check(name, FAIL, f"{units} sentence units and {view.size} chunks visible; its version counts "
                                        f"{c['units']} and {c['chunks']}", full_cmd))
    else:
        checks.append(Check(name, OK, f"{view.name}: {c['documents']} documents, {c['chunks']} chunks, {c['units']} sentence "
                                      f"vectors; built {view.manifest.get('created_at', '?')} with the current model, chunking and format"))
    checks += check_corpus(engine.settings, view.manifest, None, quick, flags)
    if head["stale"]:
        checks.append(Check("index leftovers", WARN, f"an interrupted update left the rows of {len(head['stale'])} document "
                                                     "version(s), hidden from search (removed by the next build)", index_cmd))
    else:
        checks.append(Check("index leftovers", OK, "no leftovers of interrupted updates"))
    return checks


def check_corpus(settings, manifest: dict | None, gen, quick: bool, flags: str = "") -> list[Check]:
    """The corpus against the documents the index was built from (and, given the loaded
    file index ``gen``, their text against its chunks)."""
    from .ingest import load_document, scan_corpus

    index_cmd, full_cmd = _index_commands(flags)
    checks: list[Check] = []
    cname = f"corpus {settings.corpus_dir}"
    if not settings.corpus_dir.is_dir():
        checks.append(Check(cname, FAIL, "the corpus folder does not exist",
                            f"mkdir -p {shlex.quote(str(settings.corpus_dir))}  # and put your documents there"))
    elif manifest is not None and isinstance(manifest.get("documents"), dict):
        indexed = manifest["documents"]
        files, _ = scan_corpus(settings.corpus_dir)
        added = sorted(set(files) - set(indexed))
        removed = sorted(set(indexed) - set(files))
        changed = sorted(d for d in set(files) & set(indexed) if sha256_file(files[d]) != indexed[d].get("sha256"))
        unreadable = {}
        for doc in added:  # never indexed because they cannot be read? `index` would not help
            try:
                load_document(files[doc], doc)
            except Exception as exc:
                unreadable[doc] = str(exc)
        added = [d for d in added if d not in unreadable]
        if added or changed or removed:
            parts = [f"{len(v)} {k} ({_names(v)})" for k, v in (("new", added), ("changed", changed), ("removed", removed)) if v]
            checks.append(Check(cname, WARN, "the index is out of date: " + ", ".join(parts) + " since the last build",
                                index_cmd))
        else:
            mismatch = None if quick or gen is None else _text_mismatch(gen, files, load_document)
            if mismatch:
                checks.append(Check(cname, FAIL, mismatch, full_cmd))
            else:
                checks.append(Check(cname, OK, f"the index is up to date ({len(files) - len(unreadable)} documents)"))
        if unreadable:
            first = next(iter(unreadable.values()))
            more = f" (and {len(unreadable) - 1} more)" if len(unreadable) > 1 else ""
            checks.append(Check("unreadable documents", WARN, f"{len(unreadable)} file(s) cannot be indexed: {first}{more}",
                                "fix or remove: " + " ".join(shlex.quote(str(files[d])) for d in unreadable)))
    return checks


def _index_commands(flags: str) -> tuple[str, str]:
    """The commands that bring the index up to date, and that rebuild it whole."""
    return f"python -m assistant index{flags}", f"python -m assistant index --full{flags}"


def _names(items: list[str], n: int = 3) -> str:
    return ", ".join(items[:n]) + (f", … {len(items) - n} more" if len(items) > n else "")


def _strip_hint(exc: Exception) -> str:
    return str(exc).split("; rebuild it with")[0]


def _inconsistency(gen) -> str | None:
    """What ``load_generation`` does not check already; None when all agree."""
    m = gen.manifest
    docs, counts = m.get("documents", {}), m.get("counts", {})
    if counts.get("documents") != len(docs):
        return f"manifest lists {len(docs)} documents but counts {counts.get('documents')}"
    per_doc = Counter(c.doc_id for c in gen.chunks)
    for doc, rec in docs.items():
        if per_doc.get(doc, 0) != rec.get("chunks"):
            return f"{doc}: manifest says {rec.get('chunks')} chunks, chunks.jsonl has {per_doc.get(doc, 0)}"
    if set(per_doc) - set(docs):
        return f"chunks of documents the manifest does not list: {_names(sorted(set(per_doc) - set(docs)))}"
    if len(gen.terms) != len(gen.chunks):
        return f"{len(gen.terms)} lexical term lists for {len(gen.chunks)} chunks"
    bm25_docs = getattr(gen.lexical.retriever, "scores", {}).get("num_docs")
    if bm25_docs is not None and bm25_docs != len(gen.chunks):
        return f"the BM25 index has {bm25_docs} rows for {len(gen.chunks)} chunks"
    if gen.units.ndim != 2 or (len(gen.units) and gen.units.shape[1] != 3):
        return f"units.npy has shape {gen.units.shape}"
    if gen.vectors.ndim != 2 or (len(gen.vectors) and gen.vectors.shape[1] != gen.dense.d):
        return f"vectors are {gen.vectors.shape} but the FAISS index is {gen.dense.d}-dimensional"
    if len(gen.units):
        rows = gen.units[:, 0]
        if rows.min() < 0 or rows.max() >= len(gen.chunks) or (np.diff(rows) < 0).any():
            return "sentence units point outside their chunks"
        starts = np.array([c.start for c in gen.chunks])[rows]
        ends = np.array([c.end for c in gen.chunks])[rows]
        if ((gen.units[:, 1] < starts) | (gen.units[:, 2] > ends) | (gen.units[:, 1] >= gen.units[:, 2])).any():
            return "sentence units point outside their chunks"
        if gen.dense.ntotal and not np.array_equal(gen.dense.reconstruct_n(0, gen.dense.ntotal), gen.vectors):
            return "the FAISS index does not hold the vectors of vectors.npy"
        norms = np.linalg.norm(gen.vectors, axis=1)
        if not np.allclose(norms, 1, atol=1e-2):
            return "vectors are not normalized (damaged vectors.npy)"
    return None


def _compatibility(engine, manifest: dict) -> tuple[str, str] | None:
    """(status, message) when the index does not fit the current settings; None if it does."""
    from .index.store import IndexIncompatible

    path = _embedding_path(engine)
    if path is None:
        return WARN, "cannot check the index against the embedding model: the model is not available locally"
    made = engine.known_embedding_choice(path)
    # Never measured here: the first build measures (and rebuilds if the choice differs).
    backend = made.backend if made else manifest.get("embedding", {}).get("backend", "torch")
    try:
        engine.check_compatible(manifest, path, backend)  # the local path: nothing is fetched
    except IndexIncompatible as exc:
        return FAIL, _strip_hint(exc)
    return None


def _text_mismatch(gen, files: dict[str, Path], load_document) -> str | None:
    """A chunk whose text is not the slice of its (unchanged) document it claims."""
    for doc, rows in gen.rows_by_doc().items():
        try:
            text = load_document(files[doc], doc).text
        except Exception as exc:  # unreadable now: the index command reports it
            return f"{doc} cannot be read any more ({exc})"
        for i in rows:
            c = gen.chunks[i]
            if text[c.start : c.end] != c.text:
                return f"chunk {c.chunk_id} does not match its document at {c.start}:{c.end}"
    return None


def check_leftovers(store, current: str | None) -> Check:
    name = "index leftovers"
    if not store.root.is_dir():
        return Check(name, OK, "no index folder yet")
    if _lock_held(store.root / ".lock"):
        return Check(name, WARN, "a build is running now (the index lock is held)", "wait for it to finish, then run the doctor again")
    others = sorted(p for p in store.root.glob("gen-*") if p.is_dir() and p.name != current)
    older = [p for p in others if current is None or p.name < current]
    stale = sorted(p for p in store.root.iterdir() if p.name.startswith(".tmp-"))
    stale += older[:-1]  # the previous generation stays for readers that still use it
    stale += [p for p in others if p not in older]  # renamed by a killed build, never made current
    if not stale:
        return Check(name, OK, "no leftovers of interrupted builds")
    return Check(name, WARN, f"{len(stale)} leftover(s) of interrupted or old builds: {_names([p.name for p in stale])} "
                             "(removed by the next build that writes)",
                 "rm -rf " + " ".join(shlex.quote(str(p)) for p in stale))


# -- resources ---------------------------------------------------------------------------


def _existing(path: Path) -> Path:
    path = Path(path).expanduser().absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def _mount_point(path: Path) -> Path:
    path = _existing(path)
    dev = os.stat(path).st_dev
    while path != path.parent and os.stat(path.parent).st_dev == dev:
        path = path.parent
    return path


def _free_bytes(path: Path) -> int:
    st = os.statvfs(_existing(path))
    return st.f_bavail * st.f_frsize


def _folder_bytes(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) if path.is_dir() else 0


def _model_disk_need(store: ModelStore, spec: ModelSpec) -> int:
    """Bytes a fetch needs: the joined download and the extracted files side by side."""
    if store.is_ready(spec):
        return 0
    size = MODEL_NEEDS.get(spec.name, (0, 0))[0]
    return 2 * size if spec.transport.archive_folder else size + (size // spec.transport.parts if spec.transport.parts else 0)


def check_disk(engine) -> Check:
    settings, store = engine.settings, engine.models
    needs: dict[int, dict] = {}

    def add(label: str, path: Path, need: int, what: str | None) -> None:
        dev = os.stat(_existing(path)).st_dev
        entry = needs.setdefault(dev, {"labels": [], "path": _mount_point(path), "need": 0, "what": []})
        entry["labels"].append(label)
        entry["need"] += need
        if need and what:
            entry["what"].append(f"{_size(need)} {what}")

    model_need = 0
    for _, ref in models_in_use(settings):
        spec = store.registry.get(ref)
        if spec is not None and not Path(ref).expanduser().exists():
            model_need += _model_disk_need(store, spec)
    add("model cache", settings.model_cache, model_need, "to fetch missing models")
    current = engine.store.current_name()
    if settings.index_backend == "milvus":  # a new collection beside the old one (milvus-lite: in its folder)
        index_size = 0 if engine.store.is_server else _folder_bytes(Path(engine.store.uri))
    else:
        index_size = _folder_bytes(engine.store.root / current) if current else 0
    add("index", settings.index_dir, 2 * index_size + (50 << 20), "to write a new index generation")
    add("corpus", settings.corpus_dir, 0, None)
    worst, lines = OK, []
    for entry in needs.values():
        free = _free_bytes(entry["path"])
        status = FAIL if free < entry["need"] else WARN if free < entry["need"] + DISK_MARGIN else OK
        worst = max(worst, status, key=[OK, WARN, FAIL].index)
        need = f"; needs {' + '.join(entry['what'])}" if entry["what"] else ""
        lines.append(f"{' and '.join(entry['labels'])} on {entry['path']}: {_size(free)} free{need}")
    fix = None
    if worst != OK:
        fix = ("free space there, or move the cache or index to a larger disk "
               "(export ASSISTANT_MODEL_CACHE=<dir> / ASSISTANT_INDEX_DIR=<dir>); see: df -h "
               + " ".join(shlex.quote(str(e["path"])) for e in needs.values()))
    return Check("disk", worst, "; ".join(lines), fix)


def _available_memory() -> int | None:
    """Available memory in bytes: MemAvailable, capped by a cgroup (container) limit."""
    avail = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                avail = int(line.split()[1]) * 1024
                break
    except OSError:
        pass
    if avail is None:
        try:
            avail = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (OSError, ValueError, AttributeError):
            return None
    try:
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        used = int(Path("/sys/fs/cgroup/memory.current").read_text().strip())
        if limit != "max":
            avail = min(avail, int(limit) - used)
    except (OSError, ValueError):
        pass
    return avail


def _model_memory(ref: str, store: ModelStore) -> float | None:
    if ref in MODEL_NEEDS:
        return MODEL_NEEDS[ref][1]
    local = Path(ref).expanduser()
    spec = store.registry.get(ref)
    path = local if local.exists() else store.folder(spec) if spec is not None else _hf_cached(ref)
    return 1.2 * _folder_bytes(path) if path is not None and path.exists() else None


def check_memory(settings: Settings, store: ModelStore) -> Check:
    avail = _available_memory()
    if avail is None:
        return Check("memory", WARN, "cannot read the available memory on this system")
    need, unknown, parts = 0.0, [], []
    for role, ref in models_in_use(settings):
        m = _model_memory(ref, store)
        if m is None:
            unknown.append(ref)
        else:
            need += m
            parts.append(f"{role} {_size(m)}")
    msg = f"{_size(avail)} available; the models need about {_size(need)} ({', '.join(parts)}) plus {_size(MEMORY_MARGIN)}"
    if unknown:
        msg += f"; unknown for {', '.join(unknown)}"
    fix = None
    if settings.generator != "extractive" and settings.generator_model != SMALL_GENERATOR:
        fix = (f"close other programs, or use the smaller model: export ASSISTANT_GENERATOR_MODEL={SMALL_GENERATOR} "
               "(or export ASSISTANT_GENERATOR=extractive)")
    elif settings.generator != "extractive":
        fix = "close other programs, or answer without a language model: export ASSISTANT_GENERATOR=extractive"
    else:
        fix = "close other programs or use a machine with more memory"
    if avail < need:
        return Check("memory", FAIL, msg, fix)
    if avail < need + MEMORY_MARGIN:
        return Check("memory", WARN, msg, fix)
    return Check("memory", OK, msg)
