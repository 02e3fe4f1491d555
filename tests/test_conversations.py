"""Saved conversations (SQLite): owners only, newest first, Markdown export, schema
migrations, and a writer killed mid-turn never costs an earlier turn or the file."""

import signal
import sqlite3
import subprocess
import sys
import textwrap
import time

import pytest

from assistant.conversations import MIGRATIONS, ConversationError, Conversations, title_of, to_markdown

CITED = {
    "n": 1, "doc": "notes.txt", "chunk_id": "c1", "paragraph": 3, "start": 10, "end": 40, "section": "Notes",
    "page": 2, "text": "The lizard sleeps nineteen hours.", "score": 0.9, "highlight": None,
}


def test_each_user_sees_only_their_own_conversations_newest_first(tmp_path):
    store = Conversations(tmp_path / "data" / "c.sqlite3")
    a1 = store.start("alice", "first question of alice")
    b1 = store.start("bob", "bob asks")
    time.sleep(0.01)
    a2 = store.start("alice", "second " * 30)
    assert [c.id for c in store.list("alice")] == [a2, a1]
    assert [c.id for c in store.list("bob")] == [b1]
    assert store.list("alice")[0].title.endswith("…") and len(store.list("alice")[0].title) == 80
    time.sleep(0.01)
    store.add_turn("alice", a1, "q", "a [1]", {"citations": [CITED]})
    assert [c.id for c in store.list("alice")] == [a1, a2]  # a new turn moves it up
    for action in (lambda: store.get("bob", a1), lambda: store.add_turn("bob", a1, "q", "a", {}),
                   lambda: store.rename("bob", a1, "mine"), lambda: store.delete("bob", a1)):
        with pytest.raises(ConversationError):
            action()
    assert len(store.get("alice", a1).turns) == 1 and store.get("alice", a1).title == "first question of alice"
    store.rename("alice", a1, "  renamed\n title ")
    assert store.get("alice", a1).title == "renamed title"
    with pytest.raises(ValueError):
        store.rename("alice", a1, "   ")
    store.delete("alice", a1)
    assert [c.id for c in store.list("alice")] == [a2]
    with pytest.raises(ConversationError):
        store.get("alice", a1)
    assert sqlite3.connect(store.path).execute("SELECT COUNT(*) FROM turns").fetchone()[0] == 0  # turns went with it


def test_turns_keep_their_order_and_records(tmp_path):
    store = Conversations(tmp_path / "c.sqlite3")
    cid = store.start("u", "q1")
    record = {"answer": "a [1]", "citations": [CITED], "retrieved": [CITED], "timings": {"total_ms": 5.0}, "refusal_reason": None}
    assert store.add_turn("u", cid, "q1", "a [1]", record) == 1
    assert store.add_turn("u", cid, "q2", "partial", {"retrieved": []}, stopped=True) == 2
    turns = store.get("u", cid).turns
    assert [(t.n, t.question, t.stopped) for t in turns] == [(1, "q1", False), (2, "q2", True)]
    assert turns[0].record == record


def test_markdown_export_has_questions_answers_and_cited_sources(tmp_path):
    store = Conversations(tmp_path / "c.sqlite3")
    cid = store.start("u", "Where does it sleep?")
    store.add_turn("u", cid, "Where does it sleep?", "Nineteen hours a day [1].", {"citations": [CITED]})
    text = to_markdown(store.get("u", cid), "Sources", "paragraph", "page")
    assert text.startswith("# Where does it sleep?")
    assert "## 1. Where does it sleep?" in text and "Nineteen hours a day [1]." in text
    assert "- [1] notes.txt · page 2 · paragraph 3" in text and "> The lizard sleeps nineteen hours." in text


def test_a_first_version_file_is_migrated_and_a_newer_one_refused(tmp_path):
    path = tmp_path / "c.sqlite3"
    conn = sqlite3.connect(path)  # a file as the first schema version wrote it
    conn.executescript(MIGRATIONS[0] + "PRAGMA user_version = 1;")
    conn.execute("INSERT INTO conversations VALUES ('c1', 'u', 'kept', 1.0, 1.0)")
    conn.execute("INSERT INTO turns VALUES ('c1', 1, 'q', 'a', '{}', 0, 1.0)")
    conn.commit()
    conn.close()
    store = Conversations(path)
    (turn,) = store.get("u", "c1").turns
    assert (turn.question, turn.feedback) == ("q", None)
    store.rate("u", "c1", 1, -1)
    assert store.get("u", "c1").turns[0].feedback == -1
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS) == 2
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    conn.commit()
    conn.close()
    with pytest.raises(RuntimeError, match="newer"):
        Conversations(path).list("u")


def test_ratings_are_kept_per_turn_and_listed_with_the_questions_before(tmp_path):
    store = Conversations(tmp_path / "c.sqlite3")
    cid = store.start("alice", "q1")
    for q in ("q1", "q2", "q3"):
        store.add_turn("alice", cid, q, f"answer to {q}", {"query": q})
    store.rate("alice", cid, 3, -1)
    store.rate("alice", cid, 1, 1)
    with pytest.raises(ConversationError):
        store.rate("bob", cid, 2, 1)
    rated = store.rated()
    assert [(r["n"], r["feedback"], r["earlier"]) for r in rated] == [(1, 1, []), (3, -1, ["q1", "q2"])]
    assert rated[1]["user"] == "alice" and rated[1]["record"] == {"query": "q3"}
    store.rate("alice", cid, 1, None)
    store.drop_last_turn("alice", cid)
    assert store.rated() == [] and [t.n for t in store.get("alice", cid).turns] == [1, 2]


def test_a_writer_killed_mid_turn_loses_at_most_that_turn(tmp_path):
    """A process appending turns as fast as it can is SIGKILLed; every turn it reported as
    written is there, the file passes SQLite's integrity check and takes new turns."""
    path = tmp_path / "c.sqlite3"
    cid = Conversations(path).start("u", "q")
    writer = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import sys
        from assistant.conversations import Conversations
        store = Conversations({str(path)!r})
        for i in range(100000):
            store.add_turn("u", {cid!r}, f"q{{i}}", "a" * 2000, {{"i": i, "pad": "x" * 5000}})
            print(i, flush=True)
    """)], stdout=subprocess.PIPE, text=True)
    reported = -1
    deadline = time.monotonic() + 60
    while reported < 50 and time.monotonic() < deadline:
        reported = int(writer.stdout.readline())
    writer.send_signal(signal.SIGKILL)
    writer.wait()
    assert reported >= 50
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()
    store = Conversations(path)
    turns = store.get("u", cid).turns
    assert len(turns) >= reported + 1
    assert [t.record["i"] for t in turns] == list(range(len(turns)))
    assert store.add_turn("u", cid, "after", "fine", {}) == len(turns) + 1


def test_titles_are_one_short_line():
    assert title_of("  two\nlines  ") == "two lines"
