"""Searching keeps working on the previous index while a build embeds new documents,
and switches to the new index once it is swapped in."""

import threading

import pytest

pytestmark = pytest.mark.real_models


def test_search_during_a_build_uses_the_previous_index_then_the_new_one(real_engine, engine_copy):
    from assistant.engine import Engine

    engine = Engine(engine_copy)
    engine.embedder = real_engine.embedder  # share the loaded model
    sentences = [f"관측소 {i}번의 기록에 따르면 그날 밤 유성이 {i % 7 + 2}개 관측되었다." for i in range(400)]
    (engine.settings.corpus_dir / "meteors.txt").write_text(
        "유성 관측 기록\n\n" + "\n\n".join(" ".join(sentences[i : i + 4]) for i in range(0, 400, 4)) + "\n", encoding="utf-8")

    embedding = threading.Event()
    done = threading.Event()
    report = {}

    def build():
        report["build"] = engine.build_index(progress=lambda n, total: embedding.set())
        done.set()

    worker = threading.Thread(target=build)
    worker.start()
    assert embedding.wait(timeout=300), "the build never reached embedding"
    during = engine.search("Transformer 구조는 어떤 논문에서 소개되었나요?", k=3)
    searched_while_building = not done.is_set()
    worker.join(timeout=600)
    assert searched_while_building, "the search waited for the whole build"
    assert "Attention is all you need" in during[0].chunk.text
    assert all(p.chunk.doc_id != "meteors.txt" for p in during)
    assert report["build"].added == ["meteors.txt"]
    after = engine.search("관측소 17번의 기록", k=3)
    assert after[0].chunk.doc_id == "meteors.txt"
