
import pytest

from assistant.index.chunking import ChunkingConfig, chunk_document
from assistant.ingest import IngestError, load_document
from assistant.text import analysis

from .conftest import ESSAY


@pytest.fixture(scope="module")
def essay():
    return load_document(ESSAY, ESSAY.name)


@pytest.mark.parametrize("max_chars", [120, 300, 800, 5000])
def test_offsets_round_trip_to_the_source(essay, max_chars):
    source = ESSAY.read_text(encoding="utf-8")
    chunks = chunk_document(essay, ChunkingConfig(max_chars=max_chars))
    assert chunks
    for c in chunks:
        assert source[c.start : c.end] == c.text
        block = essay.blocks[c.paragraph - 1]
        assert block.start <= c.start < c.end <= block.end


def test_long_paragraphs_split_only_at_sentence_ends(essay):
    chunks = chunk_document(essay, ChunkingConfig(max_chars=150))
    split = [c for c in chunks if c.chunk_id.count(".") > 1 or "." in c.chunk_id.split("#p")[1]]
    assert split, "the essay has paragraphs longer than 150 characters"
    for c in chunks:
        assert c.text.rstrip()[-1] in ".!?)" or c.text.rstrip().endswith("다"), c.text[-20:]


def test_english_prose_is_split_into_sentences_and_korean_is_left_to_kiwi():
    text = 'Adolphe A. Chaillet designed it. The U.S. Army used it in 1998. He said "Yes." Then Dr. Kim left. Python 3.0 came out.'
    assert [text[s:e] for s, e in analysis.sentences(text)] == [
        "Adolphe A. Chaillet designed it.", "The U.S. Army used it in 1998.", 'He said "Yes."', "Then Dr. Kim left.", "Python 3.0 came out."]
    korean = "그러다가 2015년 경에 Google에서 Tensorflow를 발표했습니다. BERT는 GPT-3.5보다 작습니다."
    assert [korean[s:e] for s, e in analysis.sentences(korean)] == [
        "그러다가 2015년 경에 Google에서 Tensorflow를 발표했습니다.", "BERT는 GPT-3.5보다 작습니다."]
    # An English title inside a Korean sentence is not a sentence end: Kiwi decides there.
    title = "방탄소년단은 첫 콘서트 ‘BTS 2014 LIVE TRILOGY: EPISODE Ⅱ. THE RED BULLET’를 시작으로 투어를 열었다."
    assert analysis.sentences(title) == [(s.start, s.end) for s in analysis.kiwi().split_into_sents(title)]


def test_the_last_word_of_an_english_sentence_is_a_search_term():
    # Kiwi alone turns "Google." into "G" + "oogle." and "Armstrong." into "Arms" + "trong.".
    assert analysis.terms("It was built by Google.") == ["built", "google"]
    assert analysis.terms_batch(["He met Armstrong.", "Google에서 발표했습니다."]) == [["met", "armstrong"], ["google", "발표"]]
    assert "u.s." in analysis.terms("the U.S. army")  # initials keep their periods


def test_web_leftovers_are_not_content(essay):
    kinds = [b.kind for b in essay.blocks]
    chunks = chunk_document(essay, ChunkingConfig())
    text = "\n".join(c.text for c in chunks)
    for leftover in ("도입 문의하기", "컴퓨터비전 플랫폼", "인터페이스 알아보기", "뼛속까지 개발자", "슈퍼브 블로그"):
        assert leftover not in text
    assert kinds[:2] == ["title", "title"]  # the title and the heading repeating it
    assert essay.title == "딥러닝 기술의 발전과 ChatGPT"
    # the repeated title is not a chunk of its own
    assert not any(c.text.strip() == essay.title for c in chunks)


def test_sections_follow_headings(essay):
    chunks = chunk_document(essay, ChunkingConfig())
    by_text = {c.text[:10]: c.section for c in chunks}
    assert by_text["최근에 ChatGP"] == "딥러닝 기술의 발전과 ChatGPT"
    assert any(s == "Transformer와 HuggingFace" for s in by_text.values())
    assert "OpenAI/MS가 승리한 것일까?" in by_text.values()


def test_markdown_headings_and_plain_paragraphs(tmp_path):
    p = tmp_path / "notes.md"
    p.write_text("# Notes\n\n## Setup\n\nInstall the package first.\nThen run it.\n\n## Usage\n\nCall the engine.\n", encoding="utf-8")
    doc = load_document(p, "notes.md")
    chunks = chunk_document(doc, ChunkingConfig())
    assert doc.title == "Notes"
    assert [(c.section, c.text) for c in chunks] == [
        ("Setup", "Install the package first.\nThen run it."),
        ("Usage", "Call the engine."),
    ]


def test_cp949_text_is_decoded(tmp_path):
    p = tmp_path / "legacy.txt"
    p.write_bytes("한국어 문서입니다. 인코딩은 CP949입니다.".encode("cp949"))
    assert load_document(p, p.name).text.startswith("한국어 문서입니다")


@pytest.mark.parametrize(
    "content, reason",
    [(b"", "empty"), (b"   \n\n", "empty"), (b"\x89PNG\r\n\x1a\n\x00\x00\x00binary", "binary")],
)
def test_bad_files_get_a_clear_reason(tmp_path, content, reason):
    p = tmp_path / "bad.txt"
    p.write_bytes(content)
    with pytest.raises(IngestError, match=reason):
        load_document(p, "bad.txt")
