"""Hostile documents in a real browser (Debian's chromium driven by Playwright): markup in
a document's text or name is shown as text in the sources panel and the document list; no
script runs and no dialog opens."""

import os
import shutil

import pytest

from .conftest import launched_app, until

pytestmark = pytest.mark.real_models

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
if CHROMIUM is None and not os.environ.get("CI"):
    pytest.skip("Debian's chromium is not installed here (.ci/run installs it)", allow_module_level=True)

NAME = "hostile<img src=x onerror=alert('name')>.md"
HOSTILE = """# Zorblax field notes <script>alert('title')</script>

The Zorblax is a small blue lizard of the island of Quellmoor. <script>window.__pwned = 'script'; alert('script')</script> It eats only moonflowers.

<img src="x" onerror="window.__pwned = 'img'; alert('img')"> The Zorblax sleeps nineteen hours a day. [Read more](javascript:window.__pwned='link';alert('link')) <b onmouseover="alert('b')">**bold**</b> <iframe src="javascript:alert('frame')"></iframe>
"""


def answers(page) -> list[str]:
    """The answers shown in the chat, without their Sources panels."""
    return [t.strip() for t in page.locator('[data-testid="bot"]').all_inner_texts() if not t.strip().startswith("📚")]


def test_hostile_markup_is_shown_as_text_and_never_runs(engine_copy):
    assert CHROMIUM, "chromium is required in CI (see .ci/run)"
    from gradio_client import Client
    from playwright.sync_api import expect, sync_playwright

    (engine_copy.corpus_dir / NAME).write_text(HOSTILE, encoding="utf-8")
    with launched_app(engine_copy) as url:
        _, _, message = Client(url, verbose=False).predict("en", api_name="/reindex")
        assert "1 added" in message, message
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            page = browser.new_page()
            dialogs: list[str] = []
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            page.goto(url)
            box = page.get_by_placeholder("질문을 입력하세요", exact=False)
            box.fill("How many hours a day does the Zorblax sleep?")
            box.press("Enter")
            page.get_by_text("📚", exact=False).first.wait_for(timeout=180_000)
            page.get_by_text("📚", exact=False).first.click()
            expect(page.locator("body")).to_contain_text("nineteen", timeout=20_000)
            shown = page.inner_text("body")
            assert "nineteen" in shown
            # the passage, its section and the document name, as text
            assert "<img src=\"x\" onerror=\"window.__pwned = 'img'; alert('img')\">" in shown
            assert "javascript:window.__pwned='link'" in shown
            assert "<script>alert('title')</script>" in shown
            assert NAME in shown

            page.get_by_role("tab", name="문서").click()
            # inner_text holds only what is visible: the list, no longer the chat
            assert NAME in until(page, lambda: page.inner_text("body"), lambda body: NAME in body, 30)

            assert dialogs == []
            assert page.evaluate("window.__pwned") is None
            assert page.locator('img[src="x"]').count() == 0
            assert page.locator("iframe[src^='javascript']").count() == 0
            browser.close()


def test_sources_show_before_the_answer_and_are_numbered_as_its_markers(engine_copy):
    """The passages appear (collapsed) as soon as they are found, before the first token of
    the answer, numbered as the answer's markers number them; every quoted one is listed."""
    assert CHROMIUM, "chromium is required in CI (see .ci/run)"
    import re
    import time

    from playwright.sync_api import sync_playwright

    with launched_app(engine_copy) as url, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page()
        page.goto(url)
        page.get_by_text("준비 완료", exact=False).first.wait_for(timeout=300_000)
        box = page.get_by_placeholder("질문을 입력하세요", exact=False)
        question = "In which year did Google publish TensorFlow?"
        box.fill(question)
        box.press("Enter")

        def shown() -> tuple[str, bool]:
            """The answer bubble's text and whether the Sources panel is there."""
            texts = [t.strip() for t in page.locator('[data-testid="bot"]').all_inner_texts()]
            return next((t for t in texts if not t.startswith("📚")), ""), any(t.startswith("📚") for t in texts)

        seen_panel = first_token = None
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and first_token is None:
            answer, has_panel = shown()
            if has_panel and seen_panel is None:
                seen_panel = time.monotonic()
            if answer not in ("", "…"):
                first_token = time.monotonic()
            page.wait_for_timeout(25)
        assert seen_panel is not None and first_token is not None
        assert seen_panel < first_token, "the sources came after the answer had begun"
        # once the answer is complete: each marker names a listed passage
        previous = None
        for _ in range(400):
            page.wait_for_timeout(500)
            if shown()[0] == previous:
                break
            previous = shown()[0]
        answer = shown()[0]
        title = re.search(r"📚 출처 \((\d+)\)", page.inner_text("body"))
        assert title, page.inner_text("body")[-2000:]
        page.get_by_text("📚", exact=False).first.click()
        expected = set(range(1, int(title.group(1)) + 1))
        listed = until(page, lambda: {int(n) for n in re.findall(r"^\[(\d+)\]", page.inner_text("body"), flags=re.M)},
                       lambda got: got == expected)
        assert listed == expected
        markers = {int(n) for n in re.findall(r"\[(\d+)\]", answer)}
        assert markers <= listed, (answer, listed)
        browser.close()


def test_the_chat_behaves_as_people_expect(engine_copy):
    """Asked before start-up is done: answered once ready. Blank sends add nothing; a
    too-long question stays in the box with a Korean message; a question sent while an
    answer streams waits visibly and is answered next; Stop is enabled only while answering
    and marks what it stopped; Delete asks first."""
    assert CHROMIUM, "chromium is required in CI (see .ci/run)"
    from playwright.sync_api import expect, sync_playwright

    shutil.rmtree(engine_copy.index_dir)  # a first start: the index is built before the app is ready
    with launched_app(engine_copy) as url, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page()
        page.goto(url)
        box = page.get_by_placeholder("질문을 입력하세요", exact=False)
        stop = page.get_by_role("button", name="중지")
        users = page.locator('[data-testid="user"]')

        def settled(n: int, timeout: float = 240) -> list[str]:
            """The answers once there are ``n`` and none is still being written."""
            for _ in range(int(timeout * 4)):
                shown = answers(page)
                if len(shown) >= n and not stop.is_enabled() and all(a not in ("…", "") for a in shown):
                    return shown
                page.wait_for_timeout(250)
            raise AssertionError(f"answers: {answers(page)}")

        # asked during start-up
        assert "준비 완료" not in page.inner_text("body")
        box.fill("In which year did Tensorflow come out?")
        box.press("Enter")
        assert "2015" in settled(1)[0]

        # blank sends
        for blank in ("", "   ", "<p> </p><script>alert('x')</script>"):
            box.fill(blank)
            box.press("Enter")
            page.get_by_role("button", name="보내기").click()
        page.wait_for_timeout(1500)
        assert users.count() == 1 and len(answers(page)) == 1

        # too long: kept, told in Korean
        long_question = "가나다라 " * 750
        box.fill(long_question)
        box.press("Enter")
        page.get_by_text("질문이 너무 깁니다", exact=False).first.wait_for(timeout=10_000)
        assert box.input_value() == long_question and users.count() == 1

        # sent while an answer streams: waits, then is answered next
        assert not stop.is_enabled()
        box.fill("Who developed BERT?")
        box.press("Enter")
        expect(stop).to_be_enabled(timeout=10_000)  # the answer has begun; a busy server may take a while
        box.fill("When was GPT-3 released?")
        box.press("Enter")
        page.get_by_text("대기 중인 질문 (1)", exact=False).first.wait_for(timeout=10_000)
        shown = settled(3)
        assert [t.strip() for t in users.all_inner_texts()][1:] == ["Who developed BERT?", "When was GPT-3 released?"]
        assert "대기 중인 질문" not in page.inner_text("body")

        # Stop marks the stopped answer and is disabled again. Clicked as soon as the
        # answer's bubble shows (passages found, the reply not yet verified): an answer
        # already complete would leave nothing to stop.
        box.fill("How is ChatGPT trained with human feedback?")
        box.press("Enter")
        for _ in range(400):
            if len(answers(page)) == 4:
                break
            page.wait_for_timeout(50)
        stop.click()
        page.get_by_text("중지됨", exact=False).first.wait_for(timeout=10_000)
        assert "중지됨" in answers(page)[-1] and not stop.is_enabled()
        assert shown[:3] == answers(page)[:3]

        # Delete asks first; dismissed, nothing is deleted
        dialogs: list[str] = []
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.get_by_role("tab", name="문서").click()
        page.get_by_label("삭제할 문서").click()
        page.get_by_role("option").first.click()
        page.keyboard.press("Escape")
        page.get_by_role("button", name="삭제", exact=True).click()
        page.wait_for_function("() => [...document.querySelectorAll('textarea')].some(t => t.value.includes('삭제를 취소했습니다'))",
                               timeout=20_000)
        assert dialogs and "삭제할까요" in dialogs[0]
        assert any(engine_copy.corpus_dir.iterdir())
        browser.close()


def test_new_chat_while_an_answer_is_read_leaves_the_new_chat_answered(engine_copy):
    """New chat clicked while an answer is still being prepared drops it; the question asked
    next in the new chat, and one sent while that is answered, are both answered there. The
    dropped answer's step may outlast the click by seconds: the next question must not wait
    on it, nor be lost to it. New chat clicked again while that next answer streams leaves
    the chat empty."""
    assert CHROMIUM, "chromium is required in CI (see .ci/run)"
    from playwright.sync_api import expect, sync_playwright

    with launched_app(engine_copy, env={"ASSISTANT_PREPARED_OPENINGS": "0"}) as url, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page()
        page.goto(url)
        page.get_by_text("준비 완료", exact=False).first.wait_for(timeout=300_000)
        box = page.get_by_placeholder("질문을 입력하세요", exact=False)
        stop = page.get_by_role("button", name="중지")
        new_chat = page.get_by_role("button", name="새 대화")
        users = page.locator('[data-testid="user"]')
        bots = page.locator('[data-testid="bot"]')

        def ask(question: str) -> None:
            box.fill(question)
            box.press("Enter")
            expect(stop).to_be_enabled(timeout=10_000)

        def dropped_then(question: str, delay: int) -> None:
            """Ask, and ``delay`` ms later (passages being found, or the prompt read) start a
            new chat and ask ``question`` there."""
            ask("Who developed BERT?")
            page.wait_for_timeout(delay)
            new_chat.click()
            page.wait_for_timeout(200)
            ask(question)

        asked = ["When was GPT-3 released?", "In which year did Google publish TensorFlow?"]
        for delay in (300, 700):
            dropped_then(asked[0], delay)
            page.wait_for_timeout(500)
            box.fill(asked[1])
            box.press("Enter")
            expect(stop).to_be_disabled(timeout=180_000)
            page.wait_for_timeout(1000)
            assert [t.strip() for t in users.all_inner_texts()] == asked, delay
            assert len(answers(page)) == 2 and "2015" in answers(page)[1], (delay, answers(page))
            new_chat.click()
            expect(users).to_have_count(0)

        dropped_then(asked[0], 700)
        for _ in range(1200):  # until the answer's words stream in
            if any(a not in ("", "…") for a in answers(page)) or not stop.is_enabled():
                break
            page.wait_for_timeout(50)
        new_chat.click()
        for _ in range(8):
            page.wait_for_timeout(1000)
            assert users.count() == 0 and bots.count() == 0 and not stop.is_enabled()
        ask(asked[1])
        expect(stop).to_be_disabled(timeout=180_000)
        assert [t.strip() for t in users.all_inner_texts()] == [asked[1]] and "2015" in answers(page)[0]
        browser.close()


def test_an_idle_page_stops_asking_the_server(engine_copy):
    """Once start-up is done and nothing is being prepared, the page sends no requests."""
    assert CHROMIUM, "chromium is required in CI (see .ci/run)"
    from playwright.sync_api import sync_playwright

    with launched_app(engine_copy, env={"ASSISTANT_PREPARED_OPENINGS": "0"}) as url, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page()
        requests: list[str] = []
        page.on("request", lambda r: requests.append(r.url))
        page.goto(url)
        page.get_by_text("준비 완료", exact=False).first.wait_for(timeout=300_000)
        page.wait_for_timeout(3000)
        before = len(requests)
        page.wait_for_timeout(10_000)
        assert requests[before:] == []
        browser.close()


def test_on_a_phone_the_question_box_is_in_view_and_examples_send(engine_copy):
    """At 390x844 the question box is visible without scrolling; it is announced by its
    name; an example question is sent when picked."""
    assert CHROMIUM, "chromium is required in CI (see .ci/run)"
    from playwright.sync_api import sync_playwright

    with launched_app(engine_copy, env={"ASSISTANT_PREPARED_OPENINGS": "0"}) as url, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 390, "height": 844})
        page.goto(url)
        page.get_by_text("준비 완료", exact=False).first.wait_for(timeout=300_000)
        box = page.get_by_role("textbox", name="질문")
        place = box.bounding_box()
        assert place["y"] + place["height"] <= 844, place
        example = page.get_by_text("What is RLHF used for?", exact=True).first
        example.scroll_into_view_if_needed()
        example.click()
        page.locator('[data-testid="user"]').first.wait_for(timeout=20_000)
        assert page.locator('[data-testid="user"]').first.inner_text().strip() == "What is RLHF used for?"
        browser.close()
