"""The web app, launched for real, answering through gradio_client."""

import pytest

from .conftest import ROOT, launched_app

pytestmark = pytest.mark.real_models


@pytest.fixture(scope="module")
def app_url(real_engine):
    with launched_app(real_engine.settings) as url:
        yield url


def test_gradio_client_round_trip(app_url):
    from gradio_client import Client

    client = Client(app_url, verbose=False)
    out = client.predict("In which year did Tensorflow come out?", [], "", api_name="/ask")
    assert out["language"] == "en" and not out["abstained"]
    assert "2015" in out["answer"]
    assert out["citations"] and {"n", "doc", "paragraph", "start", "end", "text", "score"} <= set(out["citations"][0])
    refused = client.predict("What is the capital of Australia?", [], "", api_name="/ask")
    assert refused["abstained"] and refused["answer"] == "I could not find the answer in the documents."


def test_chat_turn_streams_an_answer_with_a_sources_panel(app_url):
    from gradio_client import Client

    client = Client(app_url, verbose=False)
    messages = [{"role": "user", "content": [{"type": "text", "text": "GPT-3는 GPT-2보다 얼마나 커졌나요?"}]}]
    out = client.predict(messages, "ko", api_name="/chat")
    texts = [m for m in out if m["role"] == "assistant"]
    answer = texts[0]["content"]
    answer = answer if isinstance(answer, str) else "".join(p.get("text", "") for p in answer)
    assert "100" in answer
    sources = [m for m in texts if (m.get("metadata") or {}).get("title", "").startswith("📚")]
    assert sources, out


def test_uploaded_pdf_is_searchable_and_cited_with_its_page(engine_copy):
    """Documents tab flow: upload a two-page PDF, ask about page 2, get it cited; delete it."""
    from gradio_client import Client, handle_file

    pdf = ROOT / "tests" / "fixtures" / "formats" / "bees.pdf"
    with launched_app(engine_copy) as url:
        client = Client(url, verbose=False)
        table, _, message, _ = client.predict([handle_file(str(pdf))], "en", api_name="/add_documents")
        assert "added: bees.pdf" in message
        assert ["bees.pdf", "pdf"] == table["value"]["data"][0][:2] and table["value"]["data"][0][-1] == "indexed"
        answer = client.predict("Who decoded the waggle dance of bees?", [], "", api_name="/ask")
        assert not answer["abstained"] and "Frisch" in answer["answer"]
        assert (answer["citations"][0]["doc"], answer["citations"][0]["page"]) == ("bees.pdf", 2)

        _, _, message, _ = client.predict([handle_file(str(pdf))], "en", api_name="/add_documents")
        assert "unchanged: bees.pdf" in message
        _, _, message = client.predict(["bees.pdf"], "en", api_name="/remove_documents")
        assert "1 removed" in message
        gone = client.predict("Who decoded the waggle dance of bees?", [], "", api_name="/ask")
        assert all(c["doc"] != "bees.pdf" for c in gone["retrieved"])


def test_the_start_up_line_says_fetching_only_the_first_time(real_engine, tmp_path):
    from dataclasses import replace

    from assistant.engine import Engine
    from assistant.ui import startup_status
    from assistant.warmup import Startup

    startup = Startup(real_engine)  # models cached, index built: everything is only loaded
    assert startup.first_time == (False, False, False)
    assert startup_status(startup, "ko") == "⏳ 준비 중 (1/3): 임베딩 모델 불러오는 중…"
    fresh = Startup(Engine(replace(real_engine.settings, index_dir=tmp_path / "none", model_cache=tmp_path / "cache")))
    assert fresh.first_time == (True, True, True)
    fresh.stage = 1
    assert startup_status(fresh, "en") == "⏳ Preparing (2/3): Building the index…"


def test_turns_answer_one_question_at_a_time_per_session():
    from assistant.ui import Turns

    turns = Turns()
    # an answer event of an earlier send that runs late names another question, or none
    assert turns.offer("a", "first") and not turns.claim("a", "") and not turns.claim("a", "earlier")
    turn = turns.claim("a", "first")
    assert turn is not None and turns.claim("a", "first") is None
    assert not turns.offer("a", "second") and not turns.offer("a", "third")
    assert turns.offer("b", "other session") and turns.waiting("b") == []
    assert turns.waiting("a") == ["second", "third"]
    assert turns.next("a", turn) == "second" and turns.next("a", turn) == "third" and turns.next("a", turn) is None
    assert not turns.busy("a") and turns.claim("a", "third") is None  # idle: nothing kept
    turns.end("b")
    assert turns.offer("b", "again")


def test_a_dropped_turn_leaves_the_sessions_next_one_alone():
    """New chat ends the turn being answered and tells its answer to stop; that answer no
    longer holds the turn (so shows nothing more) and, ending late, neither takes nor ends
    the turn of a question asked in the new chat."""
    from assistant.ui import Turns

    turns = Turns()
    turns.offer("a", "first")
    old = turns.claim("a", "first")
    assert turns.holds("a", old) and not old.is_set()
    turns.end("a")  # New chat
    assert old.is_set() and not turns.holds("a", old)
    assert turns.offer("a", "new") and not turns.offer("a", "waiting")
    new = turns.claim("a", "new")
    assert turns.holds("a", new) and not turns.holds("a", old)
    assert turns.next("a", old) is None and turns.waiting("a") == ["waiting"]
    turns.end("a", old)
    assert turns.busy("a") and turns.next("a", new) == "waiting"
    turns.end("a", new)
    assert not turns.busy("a")


def test_document_reports_and_reasons_speak_korean_in_the_korean_interface(tmp_path):
    """The Documents tab's report lines, statuses and refusals, as our modules write them,
    read in Korean (figures and names kept); in English they are left as written."""
    import re

    from assistant.ingest.library import AddResult, Library, LibraryError
    from assistant.types import BuildReport, OcrSummary
    from assistant.ui import report_text, status_text
    from assistant.ui_text import in_language

    report = BuildReport(added=["a.txt"], updated=["b.pdf"], removed=["c.md"], skipped={"d.txt": "same content as a.txt; not indexed twice"},
                         notes={"scan.pdf": OcrSummary(2, 71.0, ((2, "OCR confidence 31 (below 50)"),)).describe()},
                         chunks_embedded=3, chunks_total=40, seconds=2.5, load_seconds=1.2, full_rebuild_reason="chunking changed")
    results = [AddResult("x.hwp", "x.hwp", "refused", "the document is password-protected; save an unprotected copy"),
               AddResult("s.png", "s.png", "refused", "OCR found no text it could trust (page 1: OCR took over 60 s)"),
               AddResult("y.txt", "y.txt", "added")]
    errors = []
    for action in (lambda: Library(tmp_path).remove(["nope.txt"]), lambda: Library(tmp_path, trash=tmp_path / "t").undo_remove()):
        try:
            action()
        except LibraryError as exc:
            errors.append(str(exc))
    english = "\n".join([report_text(results, report), *errors, "skipped: file too large (61.0 MB; the limit is 50 MB)"])
    korean = in_language(english, "ko")
    assert in_language(english, "en") == english
    leftovers = re.findall(r"\b(added|updated|removed|unchanged|skipped|note|refused|chunks|embedded|index|same content|"
                           r"password|library|removal|page|confidence|too large|limit)\b", korean)
    assert not leftovers, korean
    for kept in ("a.txt", "b.pdf", "c.md", "x.hwp", "61.0 MB", "2.5초", "1.2초", "40개", "71"):
        assert kept in korean, (kept, korean)
    assert status_text("skipped: file is empty", "ko") == "건너뜀: 빈 파일입니다"
