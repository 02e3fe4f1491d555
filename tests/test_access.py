"""Exposure: loopback by default; another address only with --expose and a login from the
environment; nothing reachable without it; no secrets, questions or document text in the
logs at the default level."""

import subprocess
import sys
import urllib.error
import urllib.request

import pytest

from assistant.access import AccessError, authenticator, is_loopback, load_credentials

from .conftest import ROOT, launched_app

USER, PASSWORD = "alice", "correct-horse-battery"


@pytest.mark.parametrize("host, loopback", [("127.0.0.1", True), ("localhost", True), ("::1", True), ("0.0.0.0", False), ("192.168.1.5", False), ("example.com", False)])
def test_is_loopback(host, loopback):
    assert is_loopback(host) is loopback


def test_loopback_without_credentials_is_open():
    assert authenticator("127.0.0.1", expose=False, env={}) is None


@pytest.mark.parametrize("expose, env, message", [
    (False, {}, "--expose"),
    (False, {"ASSISTANT_AUTH_USER": USER, "ASSISTANT_AUTH_PASSWORD": PASSWORD}, "--expose"),
    (True, {}, "requires a login"),
    (True, {"ASSISTANT_AUTH_USER": USER}, "set both"),
    (True, {"ASSISTANT_AUTH_USER": USER, "ASSISTANT_AUTH_PASSWORD": "short"}, "too short"),
])
def test_other_addresses_need_expose_and_a_login(expose, env, message):
    with pytest.raises(AccessError, match=message):
        authenticator("0.0.0.0", expose=expose, env=env)


def test_login_check_and_credentials_file(tmp_path):
    path = tmp_path / "users"
    path.write_text("# team\nalice:correct-horse-battery\nbob:another-long-one\n", encoding="utf-8")
    assert load_credentials({"ASSISTANT_AUTH_FILE": str(path)}) == {"alice": PASSWORD, "bob": "another-long-one"}
    check = authenticator("0.0.0.0", expose=True, env={"ASSISTANT_AUTH_FILE": str(path)})
    assert check("alice", PASSWORD) and check("bob", "another-long-one")
    assert not check("alice", "wrong") and not check("mallory", PASSWORD) and not check("", "")
    path.write_text("no separator here\n", encoding="utf-8")
    with pytest.raises(AccessError, match="line 1"):
        load_credentials({"ASSISTANT_AUTH_FILE": str(path)})


def test_app_refuses_to_start_exposed_without_a_login():
    for args in (["--host", "0.0.0.0"], ["--host", "0.0.0.0", "--expose"]):
        proc = subprocess.run([sys.executable, "app.py", *args], cwd=ROOT, capture_output=True, text=True, timeout=120,
                              env={"PATH": "/usr/bin:/bin", "HOME": str(ROOT)})
        assert proc.returncode == 2 and "error:" in proc.stderr


@pytest.mark.real_models
def test_exposed_app_needs_the_login_for_everything_and_logs_no_secrets(engine_copy, tmp_path):
    from gradio_client import Client, handle_file

    log = tmp_path / "app.log"
    env = {"ASSISTANT_AUTH_USER": USER, "ASSISTANT_AUTH_PASSWORD": PASSWORD}
    doc = tmp_path / "secret-recipe.txt"
    doc.write_text("Zanzibar pudding\n\nThe Zanzibar pudding needs exactly seven cardamom pods and a cup of coconut milk.\n", encoding="utf-8")
    with launched_app(engine_copy, "--expose", env=env, host="0.0.0.0", log=log) as url:
        for path in ("gradio_api/info", "config", "gradio_api/upload"):
            request = urllib.request.Request(url + path, data=b"" if path.endswith("upload") else None)
            with pytest.raises(urllib.error.HTTPError) as denied:
                urllib.request.urlopen(request, timeout=30)
            assert denied.value.code in (401, 403), path
        with pytest.raises(Exception):
            Client(url, verbose=False).predict([handle_file(str(doc))], "en", api_name="/add_documents")
        assert not (engine_copy.corpus_dir / doc.name).exists()

        client = Client(url, auth=(USER, PASSWORD), verbose=False)
        added = client.predict([handle_file(str(doc))], "en", api_name="/add_documents")
        assert "added: secret-recipe.txt" in added[2]
        answer = client.predict("How many cardamom pods does the Zanzibar pudding need?", [], "", api_name="/ask")
        assert not answer["abstained"] and "seven" in answer["answer"].lower()
        assert answer["citations"][0]["doc"] == "secret-recipe.txt"
    logged = log.read_text()
    for secret in (PASSWORD, "Zanzibar", "cardamom"):
        assert secret not in logged
