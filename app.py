"""Web chat and OpenAI-compatible API: ``python app.py`` serves on http://127.0.0.1:7860
(``--host``, ``--port``); the chat at ``/``, the API at ``/v1``.

Any address other than loopback needs ``--expose`` and a login from the environment
(ASSISTANT_AUTH_USER and ASSISTANT_AUTH_PASSWORD, or ASSISTANT_AUTH_FILE); the API then
needs a key (ASSISTANT_API_KEYS or ASSISTANT_API_KEY_FILE)."""

from __future__ import annotations

import argparse
import logging
import sys

import gradio as gr
import uvicorn
from fastapi import FastAPI
from starlette.routing import Mount

from assistant import openai_api, pages
from assistant.access import AccessError, authenticator, key_check, load_api_keys, session_user
from assistant.config import Settings
from assistant.conversations import Conversations
from assistant.engine import Engine
from assistant.ui import PHONE_CSS, build_app
from assistant.warmup import Startup


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Bilingual document assistant: web chat.")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1, this machine only)")
    parser.add_argument("--port", type=int, default=7860, help="port (default 7860)")
    parser.add_argument("--expose", action="store_true", help="allow a non-loopback --host; requires ASSISTANT_AUTH_USER/ASSISTANT_AUTH_PASSWORD or ASSISTANT_AUTH_FILE")
    parser.add_argument("--verbose", action="store_true", help="log details")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        auth = authenticator(args.host, args.expose)
        keys = load_api_keys()
    except AccessError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    settings = Settings.from_env()
    engine = Engine(settings)
    startup = Startup(engine).start()
    conversations = Conversations(settings.conversations_path)
    blocks = build_app(engine, startup, conversations).queue(default_concurrency_limit=1, max_size=settings.queue_size)
    server = FastAPI()
    server.include_router(openai_api.router(engine, startup, key_check(args.host, keys), settings.queue_size, settings.request_timeout))
    server.include_router(pages.router(engine, conversations, lambda request: session_user(gradio_app, request)))
    server = gr.mount_gradio_app(server, blocks, path="", auth=auth, max_file_size=f"{settings.max_file_mb}mb", show_error=True, css=PHONE_CSS)
    gradio_app = next(r.app for r in server.routes if isinstance(r, Mount))  # holds the login sessions
    print(f"Running on http://{args.host}:{args.port} (chat at /, OpenAI-compatible API at /v1)", flush=True)
    uvicorn.run(server, host=args.host, port=args.port, log_level="warning")
    return 0


if __name__ == "__main__":
    sys.exit(main())
