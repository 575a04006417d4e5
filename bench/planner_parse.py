"""What the rule planner (``shared/planning/grammar.py``) costs to read 1,000 plain-English lines, side by side with
reading the same 1,000 steps written as a JSON plan: ``json.loads`` alone, and ``json.loads`` then validation
against the step union (what reading an explicit plan costs). The target: under 50 ms per 1,000 lines.

The lines cycle through every form of the grammar (scopes, placeholders, requests with JSON bodies, several
sentences on a line). Each round parses once each way, alternately, ``--rounds`` times; prints the median
milliseconds per 1,000 lines, by the wall clock and in CPU time, and the ratios; lower is better.

    .venv/bin/python -m bench.planner_parse --rounds 30
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
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


@dataclass
class Samples:
    """Seconds per run: wall clock, and this process's CPU time (which leaves out the time the process waited for
    a core, so it stays put on a busy machine where the wall clock does not)."""

    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)

    def ms(self) -> tuple[float, float]:
        return statistics.median(self.wall) * 1000, statistics.median(self.cpu) * 1000


def timed(run: Callable[[], list[Any]], samples: Samples, steps: int) -> None:
    wall, cpu = time.perf_counter(), time.process_time()
    result = run()
    samples.cpu.append(time.process_time() - cpu)
    samples.wall.append(time.perf_counter() - wall)
    assert len(result) == steps, len(result)


def main(rounds: int) -> None:
    text = goal(LINES)
    plan = parse(text)
    adapter: TypeAdapter[list[Step]] = TypeAdapter(list[Step])
    as_json = adapter.dump_json(plan).decode()
    steps = len(plan)

    grammar, loads, validated = Samples(), Samples(), Samples()
    for _ in range(3):  # warm every way
        parse(text), json.loads(as_json), adapter.validate_json(as_json)
    for _ in range(rounds):
        timed(lambda: parse(text), grammar, steps)
        timed(lambda: json.loads(as_json), loads, steps)
        timed(lambda: adapter.validate_python(json.loads(as_json)), validated, steps)

    (grammar_ms, grammar_cpu), (loads_ms, loads_cpu) = grammar.ms(), loads.ms()
    validated_ms, validated_cpu = validated.ms()
    one, five, fifteen = os.getloadavg()
    load = f"load average {one:.1f} {five:.1f} {fifteen:.1f} on {os.cpu_count()} CPUs"
    sizes = f"{len(text) / 1024:.0f} KB of sentences, {len(as_json) / 1024:.0f} KB of JSON"
    print(f"{LINES:,} lines ({steps:,} steps, {sizes}; {load}); median of {rounds}, wall clock / CPU time")
    print(f"  rule planner (grammar.parse):        {grammar_ms:6.2f} / {grammar_cpu:6.2f} ms per 1,000 lines")
    print(
        f"  json.loads of the same steps:        {loads_ms:6.2f} / {loads_cpu:6.2f} ms  "
        f"(grammar {grammar_ms / loads_ms:.1f}x / {grammar_cpu / loads_cpu:.1f}x)"
    )
    print(
        f"  json.loads + Step union validation:  {validated_ms:6.2f} / {validated_cpu:6.2f} ms  "
        f"(grammar {grammar_ms / validated_ms:.1f}x / {grammar_cpu / validated_cpu:.1f}x)"
    )
    for label, ms in (("wall clock", grammar_ms), ("CPU time", grammar_cpu)):
        verdict = "met" if ms < TARGET_MS else "MISSED"
        print(f"  target under {TARGET_MS:.0f} ms per 1,000 lines, {label}: {verdict} ({ms / TARGET_MS:.0%} of it)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30)
    main(parser.parse_args().rounds)
