"""How the dense and lexical evidence are fused (pure logic, fake candidates)."""

from dataclasses import replace

import numpy as np

from assistant.index.search import Candidates, fuse
from assistant.types import Chunk


def _chunk(n: int, text: str) -> Chunk:
    return Chunk(f"doc#{n}", "doc", n, 0, len(text), text, "doc")


def _fake_candidates(language: str) -> Candidates:
    """An English paragraph that shares the question's words but is about something else
    (low cosine, the best BM25 hit), and a Korean one that answers it (high cosine, no
    shared words)."""
    chunks = [
        _chunk(1, "The museum opened a new wing in the same year, and its director was later appointed."),
        _chunk(2, "그는 1962년 고등학교 3학년 때 미국을 방문했다."),
    ]
    return Candidates(chunks, [(0, 1), (0, 1)], np.array([0.30, 0.68]), np.array([12.0, 0.0]), coverage=1.0, language=language)


def test_a_passage_in_another_language_is_not_outranked_for_sharing_no_words():
    english_question = _fake_candidates("en")
    assert np.argmax(fuse(english_question, 0.4)) == 1
    # Read without the query's language, the shared words win as before.
    assert np.argmax(fuse(replace(english_question, language=""), 0.4)) == 0


def test_within_the_querys_language_the_fusion_is_unchanged():
    korean = replace(_fake_candidates("ko"), chunks=[_chunk(1, "첫 문단은 박물관 이야기다."), _chunk(2, "그는 1962년에 미국을 방문했다.")])
    assert np.allclose(fuse(korean, 0.4), 0.4 * np.array([1.0, 0.0]) + 0.6 * korean.dense)
    assert np.allclose(fuse(korean, 0.4), fuse(replace(korean, language=""), 0.4))
