"""Run by ``test_bundles.py`` in a Python that sees one bundle and the standard library, nothing else:
``python -S -E -B bundle_probe.py BUNDLE`` (no site-packages, no ``PYTHON*`` variables). Reads a request from
standard input (JSON: ``imports``, modules to import; ``handler`` and ``events``, a handler to invoke with each
event; ``check``, modules to look for), prints what happened as one JSON line after ``PROBE``."""

from __future__ import annotations

import importlib
import importlib.util
import json
import sys

sys.path[0] = sys.argv[1]  # the bundle, instead of this file's directory


class LambdaContext:
    function_name = "autotest-probe"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:000000000000:function:autotest-probe"
    aws_request_id = "req-1"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


def main() -> None:
    request = json.load(sys.stdin)
    for name in request.get("imports", []):
        importlib.import_module(name)
    results = []
    if request.get("handler"):
        module, _, function = request["handler"].rpartition(".")
        handler = getattr(importlib.import_module(module), function)
        for event in request["events"]:
            try:
                results.append(handler(event, LambdaContext()))
            except Exception as exc:  # reported: what the handler refused is part of what it did
                results.append({"raised": f"{type(exc).__name__}: {exc}"})
    built = 0
    if "shared.aws.factory" in sys.modules:  # a function that builds the services (all but teardown)
        built = sys.modules["shared.aws.factory"].get_services.cache_info().currsize

    report = {
        "sys_path": sys.path,
        "files": {name: sys.modules[name].__file__ for name in ("shared", *request.get("imports", []))},
        "results": results,
        "services_built": built,
        "found": sorted(name for name in request.get("check", []) if importlib.util.find_spec(name) is not None),
    }
    print("PROBE " + json.dumps(report))


main()
