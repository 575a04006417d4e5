"""``python -m examples.webapp [port] [original|redesigned|removed]``: run the example app in the foreground
(port 8001 by default, the port the example tests' ``base_url`` names)."""

from __future__ import annotations

import sys
import threading
from typing import cast

from examples.webapp.app import Variant, serve

USAGE = "usage: python -m examples.webapp [PORT (default 8001)] [original|redesigned|removed]"


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] in ("-h", "--help"):
        raise SystemExit(USAGE)
    if len(sys.argv) > 1 and not sys.argv[1].isdigit():
        raise SystemExit(f"{sys.argv[1]!r} is not a port\n{USAGE}")
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 8001
    variant = cast(Variant, sys.argv[2] if len(sys.argv) > 2 else "original")
    if variant not in ("original", "redesigned", "removed"):
        raise SystemExit(f"unknown variant {variant!r}: original, redesigned or removed")
    app = serve(port=port, variant=variant)
    print(f"example app ({variant}) on {app.url} (Ctrl-C to stop)")
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        app.close()


if __name__ == "__main__":
    main()
