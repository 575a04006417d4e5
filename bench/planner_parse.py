"""What the rule planner (``shared/planning/grammar.py``) costs to read 1,000 plain-English lines, side by side with
reading the same 1,000 steps written as a JSON plan: ``json.loads`` alone, and ``json.loads`` then validation
against the step union (what reading an explicit plan costs). The target: under 50 ms per 1,000 lines.

The lines cycle through every form of the grammar (scopes, placeholders, requests with JSON bodies, several
sentences on a line). Each round parses once each way, alternately, ``--rounds`` times; prints the median
milliseconds per 1,000 lines and the ratios; lower is better.

    .venv/bin/python -m bench.planner_parse --rounds 30
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from collections.abc import Callable
from typing import Any

from pydantic import TypeAdapter

from shared.models.plans import Step
from shared.planning.grammar import parse

LINES = 1000
TARGET_MS = 50.0
SENTENCES = [
    "1. Go to {{base_url}}/login",
    'Fill "Username" with "admin"',
    'Type "{{secret:ADMIN_PASSWORD}}" into the Password field',
    'Click "Log in"',
    'Expect to see "Welcome, admin"',
    'Expect not to see "Invalid credentials"',
    'Expect the URL to contain "/welcome?tab=1"',
    'Expect the title to contain "Shop"',
    'Click "Remove" in the "Cheese" row',
    'Click "Remove" next to "Cheese"',
    'Check "Extra" in the "Toppings" section',
    'Select "Large" from "Size"',
    'Uncheck "Newsletter"',
    'Press "Enter" in "Search"',
    'Hover over "Account"',
    'Wait for "Saved"',
    "Wait 500 ms",
    'Expect "Log out" to be visible',
    'Take a screenshot named "after-login"',
    'Extract "Order number" as order_id',
    "GET {{base_url}}/health expecting 200",
    'POST {{base_url}}/items with json {"name": "cheese", "qty": 2} expecting 201',
    'then click the "Checkout" button in the "Cart" dialog',
    '- Click "Save". Expect to see "Saved"',
]


def goal(lines: int) -> str:
    return "\n".join(SENTENCES[i % len(SENTENCES)] for i in range(lines))


def timed(run: Callable[[], list[Any]], samples: list[float], steps: int) -> None:
    started = time.perf_counter()
    result = run()
    samples.append(time.perf_counter() - started)
    assert len(result) == steps, len(result)


def main(rounds: int) -> None:
    text = goal(LINES)
    plan = parse(text)
    adapter: TypeAdapter[list[Step]] = TypeAdapter(list[Step])
    as_json = adapter.dump_json(plan).decode()
    steps = len(plan)

    grammar: list[float] = []
    loads: list[float] = []
    validated: list[float] = []
    for _ in range(3):  # warm every way
        parse(text), json.loads(as_json), adapter.validate_json(as_json)
    for _ in range(rounds):
        timed(lambda: parse(text), grammar, steps)
        timed(lambda: json.loads(as_json), loads, steps)
        timed(lambda: adapter.validate_python(json.loads(as_json)), validated, steps)

    grammar_ms = statistics.median(grammar) * 1000
    loads_ms = statistics.median(loads) * 1000
    validated_ms = statistics.median(validated) * 1000
    load = "load average {:.1f} {:.1f} {:.1f} on {} CPUs".format(*os.getloadavg(), os.cpu_count())
    sizes = f"{len(text) / 1024:.0f} KB of sentences, {len(as_json) / 1024:.0f} KB of JSON"
    print(f"{LINES:,} lines ({steps:,} steps, {sizes}; {load})")
    print(f"  rule planner (grammar.parse):        {grammar_ms:7.2f} ms per 1,000 lines")
    print(f"  json.loads of the same steps:        {loads_ms:7.2f} ms  (grammar {grammar_ms / loads_ms:.1f}x)")
    print(f"  json.loads + Step union validation:  {validated_ms:7.2f} ms  (grammar {grammar_ms / validated_ms:.1f}x)")
    verdict = "met" if grammar_ms < TARGET_MS else "MISSED"
    print(f"  target: under {TARGET_MS:.0f} ms per 1,000 lines: {verdict} ({grammar_ms / TARGET_MS:.0%} of the budget)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30)
    main(parser.parse_args().rounds)
