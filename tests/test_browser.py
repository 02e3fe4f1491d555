"""Hostile documents in a real browser (Debian's chromium driven by Playwright): markup in
a document's text or name is shown as text in the sources panel and the document list; no
script runs and no dialog opens."""

import os
import shutil

import pytest

from .conftest import launched_app

pytestmark = pytest.mark.real_models

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
if CHROMIUM is None and not os.environ.get("CI"):
    pytest.skip("Debian's chromium is not installed here (.ci/run installs it)", allow_module_level=True)

NAME = "hostile<img src=x onerror=alert('name')>.md"
HOSTILE = """# Zorblax field notes <script>alert('title')</script>

The Zorblax is a small blue lizard of the island of Quellmoor. <script>window.__pwned = 'script'; alert('script')</script> It eats only moonflowers.

<img src="x" onerror="window.__pwned = 'img'; alert('img')"> The Zorblax sleeps nineteen hours a day. [Read more](javascript:window.__pwned='link';alert('link')) <b onmouseover="alert('b')">**bold**</b> <iframe src="javascript:alert('frame')"></iframe>
"""


def test_hostile_markup_is_shown_as_text_and_never_runs(engine_copy):
    assert CHROMIUM, "chromium is required in CI (see .ci/run)"
    from gradio_client import Client
    from playwright.sync_api import sync_playwright

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
            page.wait_for_timeout(1000)
            shown = page.inner_text("body")
            assert "nineteen" in shown
            # the passage, its section and the document name, as text
            assert "<img src=\"x\" onerror=\"window.__pwned = 'img'; alert('img')\">" in shown
            assert "javascript:window.__pwned='link'" in shown
            assert "<script>alert('title')</script>" in shown
            assert NAME in shown

            page.get_by_role("tab", name="문서").click()
            # inner_text holds only what is visible: the list, no longer the chat
            for _ in range(60):
                if NAME in page.inner_text("body"):
                    break
                page.wait_for_timeout(500)
            assert NAME in page.inner_text("body")

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
        page.wait_for_timeout(500)
        listed = {int(n) for n in re.findall(r"^\[(\d+)\]", page.inner_text("body"), flags=re.M)}
        assert listed == set(range(1, int(title.group(1)) + 1))
        markers = {int(n) for n in re.findall(r"\[(\d+)\]", answer)}
        assert markers <= listed, (answer, listed)
        browser.close()
