"""Who may reach the web app. On loopback it is open to the local user; any other address
must be asked for explicitly and then requires a username and password, read from the
environment or a file (never the command line, where other users of the machine can see
it in the process list)."""

from __future__ import annotations

import hmac
import ipaddress
import os
from collections.abc import Callable, Mapping
from pathlib import Path

from .conversations import LOCAL_USER

ENV_USER = "ASSISTANT_AUTH_USER"
ENV_PASSWORD = "ASSISTANT_AUTH_PASSWORD"
ENV_FILE = "ASSISTANT_AUTH_FILE"
ENV_API_KEYS = "ASSISTANT_API_KEYS"  # comma-separated
ENV_API_KEY_FILE = "ASSISTANT_API_KEY_FILE"  # one key per line, # comments
MIN_API_KEY_CHARS = 16
MIN_PASSWORD_CHARS = 8


class AccessError(RuntimeError):
    """The app must not start as asked; the message says what to do."""


def is_loopback(host: str) -> bool:
    if host in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def load_credentials(env: Mapping[str, str] = os.environ) -> dict[str, str]:
    """username -> password from ASSISTANT_AUTH_USER/ASSISTANT_AUTH_PASSWORD, or from the
    file named by ASSISTANT_AUTH_FILE (one ``username:password`` per line, ``#`` comments)."""
    creds: dict[str, str] = {}
    if env.get(ENV_USER) or env.get(ENV_PASSWORD):
        if not (env.get(ENV_USER) and env.get(ENV_PASSWORD)):
            raise AccessError(f"set both {ENV_USER} and {ENV_PASSWORD}")
        creds[env[ENV_USER]] = env[ENV_PASSWORD]
    if env.get(ENV_FILE):
        path = Path(env[ENV_FILE]).expanduser()
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise AccessError(f"cannot read the credentials file named by {ENV_FILE} ({type(exc).__name__})") from None
        for n, line in enumerate(lines, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            user, sep, password = line.partition(":")
            if not sep or not user.strip() or not password:
                raise AccessError(f"credentials file line {n}: expected username:password")
            creds[user.strip()] = password
    weak = [u for u, p in creds.items() if len(p) < MIN_PASSWORD_CHARS]
    if weak:
        raise AccessError(f"password too short for {', '.join(weak)} (at least {MIN_PASSWORD_CHARS} characters)")
    return creds


def authenticator(host: str, expose: bool, env: Mapping[str, str] = os.environ) -> Callable[[str, str], bool] | None:
    """The login check for the app, or None when it stays on loopback without credentials.
    Raises AccessError when the address is not loopback and exposure was not asked for, or
    was asked for without credentials."""
    creds = load_credentials(env)
    if not is_loopback(host):
        if not expose:
            raise AccessError(f"--host {host} makes the app reachable from other machines; add --expose to confirm (it then requires a login)")
        if not creds:
            raise AccessError(f"--expose requires a login: set {ENV_USER} and {ENV_PASSWORD}, or {ENV_FILE}")
    if not creds:
        return None

    def check(username: str, password: str) -> bool:
        expected = creds.get(username)
        # compare_digest on both branches: the time taken does not reveal valid usernames
        return hmac.compare_digest((expected or "\0").encode(), (password or "").encode()) and expected is not None

    return check


def load_api_keys(env: Mapping[str, str] = os.environ) -> frozenset[str]:
    """The keys the OpenAI-compatible API accepts, from ASSISTANT_API_KEYS (comma-separated)
    and the file named by ASSISTANT_API_KEY_FILE (one per line, ``#`` comments)."""
    keys = [k.strip() for k in env.get(ENV_API_KEYS, "").split(",") if k.strip()]
    if env.get(ENV_API_KEY_FILE):
        try:
            lines = Path(env[ENV_API_KEY_FILE]).expanduser().read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise AccessError(f"cannot read the API key file named by {ENV_API_KEY_FILE} ({type(exc).__name__})") from None
        keys += [line.strip() for line in lines if line.strip() and not line.strip().startswith("#")]
    if any(len(k) < MIN_API_KEY_CHARS for k in keys):
        raise AccessError(f"API keys must have at least {MIN_API_KEY_CHARS} characters")
    return frozenset(keys)


def key_check(host: str, keys: frozenset[str]) -> Callable[[str | None], bool]:
    """Whether a request's bearer key may use the API: any key on loopback when none are
    configured; otherwise one of ``keys`` (none configured off loopback: no key will do)."""
    if not keys and is_loopback(host):
        return lambda key: True

    def check(key: str | None) -> bool:
        given = (key or "").encode()
        # compare_digest against every key: the time taken does not reveal which matched
        return any([hmac.compare_digest(given, k.encode()) for k in keys])

    return check



def session_user(gradio_app, request) -> str | None:
    """The user signed in to the mounted Gradio app by ``request``'s cookie; the one local
    user when the app has no login; None when it has one and nobody is signed in."""
    if gradio_app.auth is None:
        return LOCAL_USER
    cookies = request.cookies
    token = cookies.get(f"access-token-{gradio_app.cookie_id}") or cookies.get(f"access-token-unsecure-{gradio_app.cookie_id}")
    return gradio_app.tokens.get(token)
