"""Saved conversations and click-through citations in the running app, in a real browser
(Debian's chromium driven by Playwright). Answers come from the extractive backend (real
retrieval, no generation wait): these tests are about what is kept and what is served."""

import json
import os
import shutil
import signal
import subprocess
import sys
import urllib.parse
from contextlib import contextmanager

import httpx
import pytest

from .conftest import ROOT, launched_app, start_app, stop_app, until

pytestmark = pytest.mark.real_models

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
if CHROMIUM is None and not os.environ.get("CI"):
    pytest.skip("Debian's chromium is not installed here (.ci/run installs it)", allow_module_level=True)

FAST = {"ASSISTANT_GENERATOR": "extractive", "ASSISTANT_PREPARED_OPENINGS": "0"}
WIDE = {"width": 1280, "height": 900}
FIRST = ["Which library did Google announce around 2015?", "Was it stable when it first came out?", "누가 그것의 개발에 기여했나요?"]
SECOND = ["트랜스포머 구조의 핵심 아이디어는 무엇인가요?", "그 구조를 처음 소개한 논문의 제목은?", "What came after GPT-2?"]
FOLLOW_UP = "Which company made it?"


def ask(page, question: str | None) -> None:
    """Send ``question`` (None: it is being answered again) and wait until its answer is
    complete (Stop is off again)."""
    users = page.locator('[data-testid="user"]')
    if question is None:
        question = users.last.inner_text().strip()
    else:
        box = page.get_by_placeholder("질문을 입력하세요", exact=False)
        box.fill(question)
        box.press("Enter")
    for _ in range(600):
        page.wait_for_timeout(200)
        if users.count() and users.last.inner_text().strip() == question and page.get_by_role("button", name="중지").is_disabled():
            return
    raise AssertionError(f"no complete answer to {question!r}")


def questions_shown(page, expected: list[str], seconds: float = 20) -> list[str]:
    """The questions shown in the chat once they are ``expected``, or as they stand after
    ``seconds`` (a reopened or new conversation renders when the app gets to it)."""
    users = page.locator('[data-testid="user"]')
    return until(page, users.all_inner_texts, lambda got: got == expected, seconds)


def listed(page) -> list[str]:
    """The conversation titles in the sidebar."""
    return [x.strip() for x in page.locator("label", has=page.locator('input[type="radio"][name]')).all_inner_texts()
            if x.strip() not in ("한국어", "English")]


@contextmanager
def chat_page(url: str):
    """A wide browser page on the chat, once it is ready."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport=WIDE)
        open_chat(page, url)
        yield page
        browser.close()


def open_chat(page, url: str | None):
    """Open the chat (None: it is opening) and wait until it is ready."""
    if url:
        page.goto(url)
    page.get_by_text("준비 완료", exact=False).first.wait_for(timeout=300_000)
    page.wait_for_timeout(500)


def test_conversations_survive_a_reload_and_a_killed_app(engine_copy):
    """Two conversations of three turns: listed and reopened with their sources after a
    reload and after the app was SIGKILLed and started again; a follow-up asked in the
    reopened conversation is searched as it would have been before the kill."""
    from gradio_client import Client

    proc, url = start_app(engine_copy, env=FAST)
    try:
        with chat_page(url) as page:
            for question in FIRST:
                ask(page, question)
            client = Client(url, verbose=False)
            (conv,) = client.predict(api_name="/conversations")
            before = client.predict(conv["id"], api_name="/conversation")["turns"][-1]["record"]["timings"]
            page.get_by_role("button", name="Dislike").nth(2).click()  # the second answer (each has its sources too)
            page.wait_for_timeout(500)
            page.get_by_role("button", name="Retry").click()  # the last answer, written again
            # saved once written (an extractive answer may be done before Stop shows)
            until(page, lambda: client.predict(conv["id"], api_name="/conversation")["turns"][-1]["record"]["timings"],
                  lambda timings: timings != before)
            ask(page, None)
            assert page.locator('[data-testid="user"]').all_inner_texts() == FIRST
            assert client.predict(conv["id"], api_name="/conversation")["turns"][-1]["record"]["timings"] != before
            page.get_by_role("button", name="새 대화").click()
            assert questions_shown(page, []) == []
            for question in SECOND:
                ask(page, question)
            page.reload()
            open_chat(page, url)
            assert listed(page) == [SECOND[0], FIRST[0]]  # newest first
            for questions in (FIRST, SECOND):
                page.get_by_label(questions[0]).check()
                assert questions_shown(page, questions) == questions
                assert page.get_by_text("📚", exact=False).count() == 3  # each answer's sources
        first = next(c for c in client.predict(api_name="/conversations") if c["title"] == FIRST[0])
        saved = client.predict(first["id"], api_name="/conversation")["turns"]
        assert [(t["question"], t["feedback"]) for t in saved] == [(FIRST[0], None), (FIRST[1], -1), (FIRST[2], None)]
        rated = subprocess.run([sys.executable, "-m", "assistant", "feedback", "--json", "--index", str(engine_copy.index_dir)],
                               cwd=ROOT, capture_output=True, text=True, check=True).stdout.splitlines()
        assert [(r["question"], r["feedback"], r["earlier"]) for r in map(json.loads, rated)] == [(FIRST[1], -1, FIRST[:1])]
        history = [m for t in saved
                   for m in ({"role": "user", "content": t["question"]}, {"role": "assistant", "content": t["answer"]})]
        expected = client.predict(FOLLOW_UP, history, "extractive", api_name="/ask")["query"]
        assert expected != FOLLOW_UP  # a follow-up: searched with the earlier question
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()

    proc, url = start_app(engine_copy, env=FAST)
    try:
        with chat_page(url) as page:
            assert listed(page) == [SECOND[0], FIRST[0]]
            page.get_by_label(FIRST[0]).check()
            assert questions_shown(page, FIRST) == FIRST
            ask(page, FOLLOW_UP)
        turns = Client(url, verbose=False).predict(first["id"], api_name="/conversation")["turns"]
        assert [t["question"] for t in turns] == FIRST + [FOLLOW_UP]
        assert turns[-1]["record"]["query"] == expected
    finally:
        stop_app(proc)


def login(client: httpx.Client, user: str, password: str) -> httpx.Client:
    assert client.post("login", data={"username": user, "password": password}).status_code == 200
    return client


def test_users_never_reach_each_others_conversations_and_routes_need_a_login(engine_copy, tmp_path):
    """With a login file of two users, under --expose: B neither sees, opens, renames,
    exports nor deletes A's conversation, in the UI or through any endpoint; without a
    login every source and export route answers 401."""
    from gradio_client import Client
    from playwright.sync_api import sync_playwright

    users = tmp_path / "users"
    users.write_text("alice:alice-password\nbob:bob-password\n", encoding="utf-8")
    with launched_app(engine_copy, "--expose", env={**FAST, "ASSISTANT_AUTH_FILE": str(users)}, host="0.0.0.0") as url:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            for user, question in (("alice", FIRST[0]), ("bob", SECOND[0])):
                page = browser.new_context(viewport=WIDE).new_page()
                page.goto(url)
                page.locator('input[type="text"]').first.fill(user)
                page.locator('input[type="password"]').fill(f"{user}-password")
                with page.expect_navigation():
                    page.locator('input[type="password"]').press("Enter")
                open_chat(page, None)
                ask(page, question)
                page.reload()
                open_chat(page, url)
                assert listed(page) == [question]  # one's own only
            browser.close()

        alice = Client(url, auth=("alice", "alice-password"), verbose=False)
        bob = Client(url, auth=("bob", "bob-password"), verbose=False)
        (mine,) = alice.predict(api_name="/conversations")
        assert [c["title"] for c in bob.predict(api_name="/conversations")] == [SECOND[0]]
        for args, name in (((mine["id"],), "/conversation"), ((mine["id"], "taken"), "/rename_conversation"),
                           ((mine["id"],), "/delete_conversation")):
            with pytest.raises(Exception, match="No such conversation"):
                bob.predict(*args, api_name=name)
        with httpx.Client(base_url=url) as web:
            assert web.get(f"conversations/{mine['id']}.md").status_code == 401
            assert web.get("source/text/deep_learning_and_chatgpt.ko.txt?start=0&end=10").status_code == 401
            assert web.get("source/file/deep_learning_and_chatgpt.ko.txt").status_code == 401
            login(web, "bob", "bob-password")
            assert web.get(f"conversations/{mine['id']}.md").status_code == 404
            assert web.get("source/text/deep_learning_and_chatgpt.ko.txt?start=0&end=10").status_code == 200
        with httpx.Client(base_url=url) as web:
            login(web, "alice", "alice-password")
            exported = web.get(f"conversations/{mine['id']}.md")
            assert exported.status_code == 200 and exported.text.startswith(f"# {FIRST[0]}")
        kept = alice.predict(mine["id"], api_name="/conversation")
        assert kept["title"] == FIRST[0] and len(kept["turns"]) == 1


def test_citations_open_their_source(engine_copy, tmp_path):
    """A PDF citation opens the PDF at the cited page; a text citation opens the document
    with the cited text highlighted; paths out of the corpus and unknown names are 404; a
    removed document says so."""
    import pypdfium2
    from gradio_client import Client

    pdf = ROOT / "tests" / "fixtures" / "formats" / "bees.pdf"
    shutil.copy(pdf, engine_copy.corpus_dir / "bees.pdf")
    (tmp_path / "secret.txt").write_text("a file outside the corpus", encoding="utf-8")
    (engine_copy.corpus_dir / "link.txt").symlink_to(tmp_path / "secret.txt")
    with launched_app(engine_copy, env=FAST) as url:
        client = Client(url, verbose=False)
        client.predict("en", api_name="/reindex")
        with chat_page(url) as page:
            ask(page, "Who found out what the dance of the bees means?")
            answer = page.locator('[data-testid="bot"]').first
            marker = answer.locator("a").first
            href = marker.get_attribute("href")
            assert href.startswith("/source/file/bees.pdf") and href.endswith("#page=2"), href
            served = page.request.get(url.rstrip("/") + href.split("#")[0])
            assert served.status == 200 and served.headers["content-type"] == "application/pdf"
            assert served.body() == pdf.read_bytes()
            assert "Frisch" in pypdfium2.PdfDocument(served.body())[1].get_textpage().get_text_range()

            ask(page, "In which year did Google publish TensorFlow?")
            with page.context.expect_page() as opened:
                page.locator('[data-testid="bot"]').nth(2).locator("a").first.click()
            source = opened.value
            source.wait_for_load_state()
            (conv,) = [c for c in client.predict(api_name="/conversations")]
            cited = client.predict(conv["id"], api_name="/conversation")["turns"][-1]["record"]["citations"][0]
            assert source.locator("mark#cited").inner_text() == cited["text"]
            assert source.evaluate("() => { const r = document.getElementById('cited').getBoundingClientRect(); return scrollY > 0 && r.top >= 0 && r.top < innerHeight; }")
            link = source.url.removeprefix(url.rstrip("/"))

            client.predict("en", api_name="/reindex")  # nothing changed: the link still leads there
            again = page.request.get(url.rstrip("/") + link)
            assert again.status == 200 and '<mark id="cited">' in again.text()
            for bad in ("../secret.txt", "/etc/passwd", str(tmp_path / "secret.txt"), "link.txt", "nothing.txt"):
                for route in ("text", "file"):
                    got = page.request.get(f"{url}source/{route}/{urllib.parse.quote(bad, safe='')}")
                    assert got.status == 404, (route, bad, got.status)
                    assert "outside the corpus" not in got.text()
            page.reload()
            open_chat(page, url)
            assert "bees.pdf" in page.get_by_text("📄", exact=False).inner_text()  # answers use more than the essay
            client.predict(["bees.pdf"], "en", api_name="/remove_documents")
            gone = page.request.get(url.rstrip("/") + href.split("#")[0] + "&lang=en")
            assert gone.status == 404 and "not among the documents any more" in gone.text()
            _, _, message = client.predict("en", api_name="/undo_delete")  # deleted by mistake: put back
            assert "1 added" in message
            assert page.request.get(url.rstrip("/") + href.split("#")[0]).status == 200
