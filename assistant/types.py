"""Typed records that cross module lines: documents → chunks → passages."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class Block:
    """A blank-line separated block of a document, classified by ingestion."""

    paragraph: int  # 1-based position among the document's blocks
    start: int
    end: int
    kind: str  # "body", "heading", "title" or "boilerplate"
    text: str


@dataclass(frozen=True)
class OcrSummary:
    """What OCR made of a document: pages read, their mean word confidence (0-100), and
    the pages left out with why."""

    pages: int
    confidence: float
    dropped: tuple[tuple[int, str], ...] = ()

    def describe(self) -> str:
        left_out = "; ".join(f"page {p} left out: {why}" for p, why in self.dropped)
        return f"OCR, {self.pages} page(s), mean confidence {self.confidence:.0f}" + (f"; {left_out}" if left_out else "")


@dataclass(frozen=True)
class Document:
    """A decoded source file. Chunk offsets refer to ``text``."""

    doc_id: str  # path relative to the corpus folder, POSIX separators
    text: str
    sha256: str  # of the raw file bytes
    title: str
    blocks: tuple[Block, ...] = ()
    pages: tuple[int, ...] = ()  # paged formats (PDF): start offset in ``text`` of each page
    ocr: OcrSummary | None = None  # when some of the text was read by OCR


@dataclass(frozen=True)
class Chunk:
    """A retrievable span: whole sentences of one paragraph, with exact source offsets."""

    chunk_id: str
    doc_id: str
    paragraph: int
    start: int
    end: int
    text: str
    section: str  # nearest heading above the chunk (the document title if none)
    page: int | None = None  # 1-based page of a paged format (PDF); None otherwise

    def to_dict(self) -> dict:
        return asdict(self)

    def location(self, paragraph: str = "¶", page: str = "p.") -> str:
        """Where the chunk is, e.g. "report.pdf · p. 2 · ¶7"."""
        return " · ".join([self.doc_id, *([f"{page} {self.page}"] if self.page else []), f"{paragraph} {self.paragraph}"])


@dataclass(frozen=True)
class Passage:
    """A chunk returned by retrieval, with its fused score and the per-retriever evidence."""

    chunk: Chunk
    score: float
    dense_score: float | None = None
    lexical_score: float | None = None
    highlight: tuple[int, int] | None = None  # source span of the best-matching sentence
    rank: int = 0

    @classmethod
    def from_dict(cls, d: dict) -> "Passage":
        """The passage ``to_dict`` wrote (as saved with a conversation)."""
        chunk = Chunk(d["chunk_id"], d["doc"], d["paragraph"], d["start"], d["end"], d["text"], d["section"], d.get("page"))
        return cls(chunk, d["score"], d.get("dense_score"), d.get("lexical_score"), tuple(d["highlight"]) if d.get("highlight") else None)

    def among(self, passages: list["Passage"]) -> bool:
        """Whether ``passages`` hold this passage's chunk (found by any search, any score)."""
        return any(p.chunk.chunk_id == self.chunk.chunk_id for p in passages)

    def to_dict(self) -> dict:
        c = self.chunk
        return {
            "doc": c.doc_id,
            "chunk_id": c.chunk_id,
            "paragraph": c.paragraph,
            "start": c.start,
            "end": c.end,
            "section": c.section,
            "page": c.page,
            "text": c.text,
            "score": round(self.score, 6),
            "dense_score": None if self.dense_score is None else round(self.dense_score, 6),
            "lexical_score": None if self.lexical_score is None else round(self.lexical_score, 6),
            "highlight": list(self.highlight) if self.highlight else None,
        }


@dataclass
class BuildReport:
    """What one ``index`` run did."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)  # doc id -> reason
    notes: dict[str, str] = field(default_factory=dict)  # doc id -> what was left out of an indexed document
    chunks_embedded: int = 0
    units_embedded: int = 0  # sentence units embedded (the dense vectors)
    chunks_total: int = 0
    full_rebuild_reason: str | None = None
    seconds: float = 0.0
    embed_seconds: float = 0.0  # of which: embedding (model load included on first use)
    load_seconds: float = 0.0  # of which: loading the embedding model (0 when it was loaded)
    embedding: str = ""  # the embedding backend and why it was chosen, when something was embedded

    def lines(self) -> list[str]:
        """What the build did, one line per change or skipped file, then a summary."""
        out = [f"full rebuild: {self.full_rebuild_reason}"] if self.full_rebuild_reason else []
        for label, items in (("added", self.added), ("updated", self.updated), ("removed", self.removed)):
            out += [f"{label}: {doc}" for doc in items]
        out += [f"skipped: {doc}: {reason}" for doc, reason in self.skipped.items()]
        out += [f"note: {doc}: {note}" for doc, note in self.notes.items()]
        out.append(
            f"{len(self.added)} added, {len(self.updated)} updated, {len(self.removed)} removed, "
            f"{len(self.unchanged)} unchanged; {self.chunks_embedded} chunks embedded, "
            f"{self.chunks_total} in the index ({self.seconds:.1f} s"
            + (f", of which {self.load_seconds:.1f} s loading the embedding model)" if self.load_seconds >= 0.05 else ")")
        )
        if self.embedding:
            out.append(f"embedding backend: {self.embedding}")
        return out


@dataclass(frozen=True)
class Citation:
    """A numbered source of an answer: the passage behind marker ``[n]``."""

    n: int
    passage: Passage

    def to_dict(self) -> dict:
        return {"n": self.n, **self.passage.to_dict()}


@dataclass
class Answer:
    """A grounded answer (or an honest refusal) with its sources and timings."""

    question: str
    answer: str
    language: str  # "ko" or "en"
    abstained: bool
    citations: list[Citation]
    retrieved: list[Passage]
    timings: dict[str, float]
    model: str
    query: str = ""  # what was searched (a follow-up is made standalone first)
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    notice: str | None = None  # e.g. a fallback to the extractive backend
    refusal: str | None = None  # the check that refused (answer.checks.NAMES), None when answered
    refusal_detail: str = ""  # every finding of the verification stage, for a refused answer
    confidence: float | None = None  # the model's P("yes") that its evidence holds the answer, times its closeness
    closeness: float | None = None  # that closeness (``checks.Draft.closeness``), when the confirm check asked
    reply: str = ""  # the model's own reply, before verification and citation
    decline: float | None = None  # the probability the model gave declining (generation.DeclineFloor)
    excerpts: list[str] = field(default_factory=list)  # what the model read of each quoted passage, [1] first

    def to_dict(self) -> dict:
        return {
            "question": self.question,
            "answer": self.answer,
            "language": self.language,
            "abstained": self.abstained,
            "citations": [c.to_dict() for c in self.citations],
            "retrieved": [{"n": i, **p.to_dict()} for i, p in enumerate(self.retrieved, 1)],
            "timings": {k: round(v, 1) for k, v in self.timings.items()},
            "model": self.model,
            "query": self.query,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "notice": self.notice,
            "refusal_reason": self.refusal,
            "refusal_detail": self.refusal_detail,
            "confidence": None if self.confidence is None else round(self.confidence, 3),
            "closeness": None if self.closeness is None else round(self.closeness, 3),
            "reply": self.reply,
            "decline_probability": None if self.decline is None else round(self.decline, 3),
            "excerpts": self.excerpts,
        }
