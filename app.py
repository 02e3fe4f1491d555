"""Web chat: ``python app.py`` serves on http://127.0.0.1:7860 (``--host``, ``--port``)."""

from __future__ import annotations

import argparse
import logging

from assistant.config import Settings
from assistant.engine import Engine
from assistant.ui import build_app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Bilingual document assistant: web chat.")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=7860, help="port (default 7860)")
    parser.add_argument("--verbose", action="store_true", help="log details")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    app = build_app(Engine(Settings.from_env()))
    app.queue(default_concurrency_limit=1).launch(server_name=args.host, server_port=args.port, show_error=True)


if __name__ == "__main__":
    main()
