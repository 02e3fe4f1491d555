"""Retrieval with the real embedding model over the essay."""

import json
import subprocess
import sys

import pytest

from .conftest import ROOT

pytestmark = pytest.mark.real_models

TRANSFORMER_PARAGRAPH = "Attention is all you need"


@pytest.mark.parametrize(
    "question, expected",
    [
        ("Transformer 구조는 어떤 논문에서 소개되었나요?", TRANSFORMER_PARAGRAPH),
        ("Which paper introduced the Transformer architecture?", TRANSFORMER_PARAGRAPH),
        ("구글이 텐서플로를 공개한 것은 언제인가요?", "2015년 경에 Google에서 Tensorflow"),
        ("In which year did Tensorflow come out?", "2015년 경에 Google에서 Tensorflow"),
        ("RLHF는 어떤 방식으로 모델을 개선하나요?", "(RLHF)"),
        ("How much bigger was GPT-3 than GPT-2?", "100배"),
    ],
)
def test_questions_rank_the_right_paragraph_first(real_engine, question, expected):
    top = real_engine.search(question, k=3)[0]
    assert expected in top.chunk.text, (question, top.chunk.text[:80])


def test_boilerplate_is_never_retrieved(real_engine):
    for query in ("도입 문의하기", "컴퓨터비전 플랫폼 데이터 중심 인터페이스", "슈퍼브 블로그 외부 기고", "뼛속까지 개발자"):
        for p in real_engine.search(query, k=10):
            for leftover in ("도입 문의하기", "인터페이스 알아보기", "슈퍼브 블로그", "뼛속까지"):
                assert leftover not in p.chunk.text


def test_title_heading_gives_no_duplicate_hits(real_engine):
    hits = real_engine.search("딥러닝 기술의 발전과 ChatGPT", k=10)
    assert len({p.chunk.chunk_id for p in hits}) == len(hits)
    assert all(p.chunk.text.strip() != "딥러닝 기술의 발전과 ChatGPT" for p in hits)


def test_passages_carry_exact_offsets(real_engine):
    source = (real_engine.settings.corpus_dir / "deep_learning_and_chatgpt.ko.txt").read_text(encoding="utf-8")
    for p in real_engine.search("BERT fine-tuning downstream task", k=5):
        c = p.chunk
        assert source[c.start : c.end] == c.text


def test_second_index_run_embeds_nothing(real_engine):
    report = real_engine.build_index()
    assert report.chunks_embedded == 0 and report.unchanged == ["deep_learning_and_chatgpt.ko.txt"]


def test_bad_queries_are_refused(real_engine):
    with pytest.raises(ValueError, match="empty"):
        real_engine.search("   ")
    with pytest.raises(ValueError, match="too long"):
        real_engine.search("가" * 10_000)
    with pytest.raises(ValueError, match="empty"):
        real_engine.search("<script>alert('x')</script><p> </p>")


def test_markup_pasted_with_a_question_is_not_searched(real_engine):
    plain = "Which paper introduced the Transformer architecture?"
    pasted = "<div class='q'><script>alert('x')</script>Which paper introduced the <b>Transformer</b> architecture?</div>"
    assert [p.chunk.chunk_id for p in real_engine.search(pasted, k=5)] == [p.chunk.chunk_id for p in real_engine.search(plain, k=5)]


def _cli(*args, **kw):
    return subprocess.run([sys.executable, "-m", "assistant", *args], capture_output=True, text=True, cwd=ROOT, **kw)


def test_cli_search_json_and_batch(real_engine, tmp_path):
    index = str(real_engine.settings.index_dir)
    proc = _cli("search", "Which paper introduced the Transformer architecture?", "--json", "--k", "3", "--index", index)
    assert proc.returncode == 0, proc.stderr
    hits = json.loads(proc.stdout)
    assert len(hits) == 3
    assert {"doc", "chunk_id", "paragraph", "start", "end", "text", "score"} <= set(hits[0])
    assert TRANSFORMER_PARAGRAPH in hits[0]["text"]

    batch = tmp_path / "queries.txt"
    batch.write_text("Transformer 구조는 어떤 논문에서 소개되었나요?\nIn which year did Tensorflow come out?\n", encoding="utf-8")
    proc = _cli("search", "--batch", str(batch), "--json", "--index", index)
    assert proc.returncode == 0, proc.stderr
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    assert len(lines) == 2 and TRANSFORMER_PARAGRAPH in lines[0][0]["text"] and "2015" in lines[1][0]["text"]


def test_cli_bad_input_exits_non_zero_with_one_line(real_engine, tmp_path):
    index = str(real_engine.settings.index_dir)
    for args in (["search", "", "--index", index], ["search", "x", "--k", "0", "--index", index],
                 ["search", "--batch", str(tmp_path / "missing.txt"), "--json"], ["index", "--corpus", str(tmp_path / "nope")],
                 ["search", "anything", "--index", str(tmp_path / "no-index")]):
        proc = _cli(*args)
        assert proc.returncode != 0, args
        assert len(proc.stderr.strip().splitlines()) == 1 and proc.stderr.startswith("error: "), proc.stderr


def test_index_built_with_other_embedding_settings_is_refused(real_engine):
    from dataclasses import replace

    from assistant.engine import Engine
    from assistant.index.store import IndexIncompatible

    other = Engine(replace(real_engine.settings, embedding_dim=256))
    with pytest.raises(IndexIncompatible, match="index --full"):
        other.search("BERT")
