"""``python -m examples.webapp [port]``: run the example app in the foreground."""

from __future__ import annotations

import sys
import threading

from examples.webapp.app import serve


def main() -> None:
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
    app = serve(port=port)
    print(f"example app on {app.url} (Ctrl-C to stop)")
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        app.close()


if __name__ == "__main__":
    main()
