"""``python -m examples.webapp [port] [original|redesigned|removed]``: run the example app in the foreground."""

from __future__ import annotations

import sys
import threading
from typing import cast

from examples.webapp.app import Variant, serve


def main() -> None:
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
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
