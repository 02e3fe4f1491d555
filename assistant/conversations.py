"""Saved conversations: one SQLite file (WAL), every turn written in its own transaction,
each conversation owned by one user. Every read and write names the user, so one user
never reaches another's conversations."""

from __future__ import annotations

import json
import sqlite3
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from .types import Passage

LOCAL_USER = "local"  # the one user of an app without a login
TITLE_CHARS = 80

# The schema, one script per version: a file made by any earlier version is brought up to
# date by running the scripts after its ``PRAGMA user_version``, in one transaction.
MIGRATIONS = (
    """
    CREATE TABLE conversations (
        id TEXT PRIMARY KEY,
        user TEXT NOT NULL,
        title TEXT NOT NULL,
        created REAL NOT NULL,
        updated REAL NOT NULL
    );
    CREATE INDEX conversations_by_user ON conversations (user, updated DESC);
    CREATE TABLE turns (
        conversation TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
        n INTEGER NOT NULL,
        question TEXT NOT NULL,
        answer TEXT NOT NULL,
        record TEXT NOT NULL,  -- the Answer as JSON: citations, retrieved passages, timings, refusal
        stopped INTEGER NOT NULL DEFAULT 0,
        created REAL NOT NULL,
        PRIMARY KEY (conversation, n)
    );
    """,
    # A comment here would end up inside the table's stored definition.
    "ALTER TABLE turns ADD COLUMN feedback INTEGER",  # 1 thumbs up, -1 thumbs down
)


class ConversationError(LookupError):
    """No such conversation for this user."""


@dataclass(frozen=True)
class Turn:
    n: int
    question: str
    answer: str  # as shown, with its citation markers
    record: dict  # Answer.to_dict(), or the passages found for a stopped answer
    stopped: bool
    created: float
    feedback: int | None = None  # 1 thumbs up, -1 thumbs down


@dataclass(frozen=True)
class Conversation:
    id: str
    title: str
    created: float
    updated: float
    turns: tuple[Turn, ...] = ()


def title_of(question: str) -> str:
    """A conversation's title: its first question on one line, shortened."""
    line = " ".join(question.split())
    return line if len(line) <= TITLE_CHARS else line[: TITLE_CHARS - 1] + "…"


class Conversations:
    """The conversations in ``path`` (created with its folder on first use)."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._ready = False

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        """One connection per operation (handlers run on many threads), committed on success."""
        if not self._ready:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        try:
            conn.execute("PRAGMA foreign_keys = ON")
            if not self._ready:
                conn.execute("PRAGMA journal_mode = WAL")
                migrate(conn)
                self._ready = True
            conn.execute("PRAGMA synchronous = FULL")
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        finally:
            conn.close()

    def list(self, user: str) -> list[Conversation]:
        """The user's conversations, newest first (without their turns)."""
        with self._db() as db:
            rows = db.execute("SELECT id, title, created, updated FROM conversations WHERE user = ? ORDER BY updated DESC", (user,)).fetchall()
        return [Conversation(*row) for row in rows]

    def get(self, user: str, cid: str) -> Conversation:
        """One of the user's conversations with its turns; ConversationError otherwise."""
        with self._db() as db:
            head = db.execute("SELECT id, title, created, updated FROM conversations WHERE id = ? AND user = ?", (cid, user)).fetchone()
            if head is None:
                raise ConversationError(cid)
            rows = db.execute("SELECT n, question, answer, record, stopped, created, feedback FROM turns WHERE conversation = ? ORDER BY n", (cid,)).fetchall()
        turns = tuple(Turn(n, q, a, json.loads(r), bool(s), c, f) for n, q, a, r, s, c, f in rows)
        return Conversation(*head, turns=turns)

    def start(self, user: str, first_question: str) -> str:
        """A new, empty conversation titled by its first question; its id."""
        cid, now = uuid.uuid4().hex, time.time()
        with self._db() as db:
            db.execute("INSERT INTO conversations VALUES (?, ?, ?, ?, ?)", (cid, user, title_of(first_question), now, now))
        return cid

    def add_turn(self, user: str, cid: str, question: str, answer: str, record: dict, stopped: bool = False) -> int:
        """Append a turn (one transaction: a crash keeps every earlier turn); its number."""
        now = time.time()
        with self._db() as db:
            self._own(db, user, cid)
            n = db.execute("SELECT COALESCE(MAX(n), 0) + 1 FROM turns WHERE conversation = ?", (cid,)).fetchone()[0]
            db.execute("INSERT INTO turns (conversation, n, question, answer, record, stopped, created) VALUES (?, ?, ?, ?, ?, ?, ?)",
                       (cid, n, question, answer, json.dumps(record, ensure_ascii=False), int(stopped), now))
            db.execute("UPDATE conversations SET updated = ? WHERE id = ?", (now, cid))
        return n

    def drop_last_turn(self, user: str, cid: str) -> None:
        """Remove the conversation's last turn (its answer is being written again)."""
        with self._db() as db:
            self._own(db, user, cid)
            db.execute("DELETE FROM turns WHERE conversation = ? AND n = (SELECT MAX(n) FROM turns WHERE conversation = ?)", (cid, cid))

    def rate(self, user: str, cid: str, n: int, feedback: int | None) -> None:
        """Thumbs up (1), down (-1) or neither (None) for turn ``n``."""
        with self._db() as db:
            self._own(db, user, cid)
            db.execute("UPDATE turns SET feedback = ? WHERE conversation = ? AND n = ?", (feedback, cid, n))

    def rated(self) -> list[dict]:
        """Every rated turn of every user (for ``python -m assistant feedback``), oldest
        first: who, which conversation, the questions before it, the question, the answer
        and its record, and the rating."""
        with self._db() as db:
            rows = db.execute(
                "SELECT c.user, c.id, c.title, t.n, t.question, t.answer, t.record, t.feedback,"
                " (SELECT json_group_array(e.question) FROM (SELECT question FROM turns e WHERE e.conversation = t.conversation"
                "  AND e.n < t.n ORDER BY e.n) e)"
                " FROM turns t JOIN conversations c ON c.id = t.conversation WHERE t.feedback IS NOT NULL ORDER BY t.created"
            ).fetchall()
        keys = ("user", "conversation", "title", "n", "question", "answer", "record", "feedback", "earlier")
        return [dict(zip(keys, (*row[:6], json.loads(row[6]), row[7], json.loads(row[8])))) for row in rows]

    def rename(self, user: str, cid: str, title: str) -> None:
        title = title_of(title)
        if not title:
            raise ValueError("a title cannot be blank")
        with self._db() as db:
            self._own(db, user, cid)
            db.execute("UPDATE conversations SET title = ? WHERE id = ?", (title, cid))

    def delete(self, user: str, cid: str) -> None:
        with self._db() as db:
            self._own(db, user, cid)
            db.execute("DELETE FROM conversations WHERE id = ?", (cid,))

    @staticmethod
    def _own(db: sqlite3.Connection, user: str, cid: str) -> None:
        if db.execute("SELECT 1 FROM conversations WHERE id = ? AND user = ?", (cid, user)).fetchone() is None:
            raise ConversationError(cid)


def migrate(conn: sqlite3.Connection) -> int:
    """Bring the schema up to date; the version it is now at."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > len(MIGRATIONS):
            raise RuntimeError(f"the conversations file has schema version {version}, newer than this program knows ({len(MIGRATIONS)})")
        for n, script in enumerate(MIGRATIONS[version:], version + 1):
            for statement in script.split(";"):
                if statement.strip():
                    conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {n}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return len(MIGRATIONS)


def to_markdown(conv: Conversation, sources: str = "Sources", paragraph: str = "¶", page: str = "p.") -> str:
    """A conversation as Markdown: each question, its answer with the markers, and the
    sources those markers name (document, page, paragraph and the cited text)."""
    out = [f"# {conv.title}", ""]
    for turn in conv.turns:
        out += [f"## {turn.n}. {turn.question}", "", turn.answer, ""]
        cited = turn.record.get("citations") or []
        if cited:
            out += [f"**{sources}**", ""]
            for c in cited:
                chunk = Passage.from_dict(c).chunk
                quote = "\n".join(f"  > {line}" for line in chunk.text.splitlines() if line.strip())
                out += [f"- [{c['n']}] {chunk.location(paragraph, page)}", quote]
            out.append("")
    return "\n".join(out).rstrip() + "\n"
