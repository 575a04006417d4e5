"""``make bench``: every benchmark of the performance targets, one after another, then their table.

Each benchmark runs in a process of its own (``python -m bench.<name> ...``, as :data:`BENCHES` lists them), its
output shown as it comes; from the ``bench-result`` lines it prints (``bench/common.py``) this builds the table of
``bench/README.md``: the machine, the date, the commit, each figure beside its peer, the ratio, the target and
whether it is met, and for a missed target what stands in the way (the benchmark's own note). A benchmark that
fails gets a row that says so, and the exit status is 1.

    .venv/bin/python -m bench.table                      # all of them; writes bench/README.md
    .venv/bin/python -m bench.table --only cold_start    # one (the README is left alone)
    .venv/bin/python -m bench.table --only cold_start --update   # one, its rows replaced in the README

The figures behind the README are kept beside it in ``bench/results.json`` (what ``--update`` starts from).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from bench.common import RESULT_PREFIX, Result, machine

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "bench" / "README.md"
RESULTS = ROOT / "bench" / "results.json"

#: the benchmarks of the performance targets, in the issue's order, with the arguments ``make bench`` gives them
BENCHES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("runner_overhead", ("--runs", "7")),
    ("suite_throughput", ("--rounds", "1")),
    ("newman_throughput", ("--rounds", "3")),
    ("cold_start", ("--rounds", "5")),
    ("latency", ("--runs", "100")),
    ("memory", ("--rounds", "1", "--hold-s", "3")),
    ("cost", ("--runs", "5")),
)


@dataclass
class Ran:
    name: str
    command: str
    seconds: float
    returncode: int
    results: list[Result] = field(default_factory=list)


def save(ran: list[Ran], path: Path, *, when: datetime, commit: str, where: str) -> None:
    document = {"when": when.isoformat(), "commit": commit, "machine": where, "ran": [asdict(one) for one in ran]}
    path.write_text(json.dumps(document, indent=1) + "\n")


def load(path: Path) -> tuple[list[Ran], str]:
    """The benchmarks of the last full run, and its machine line."""
    document = json.loads(path.read_text())
    ran = []
    for one in document["ran"]:
        results = [Result(**r) for r in one.pop("results")]
        ran.append(Ran(**one, results=results))
    return ran, str(document["machine"])


def parse(output: str) -> list[Result]:
    """The results among a benchmark's output lines."""
    found = []
    for line in output.splitlines():
        if line.startswith(RESULT_PREFIX):
            found.append(Result(**json.loads(line.removeprefix(RESULT_PREFIX))))
    return found


def run(name: str, args: tuple[str, ...]) -> Ran:
    argv = [sys.executable, "-m", f"bench.{name}", *args]
    command = " ".join(["python", "-m", f"bench.{name}", *args])
    print(f"\n=== {command}", flush=True)
    started = time.monotonic()
    lines: list[str] = []
    with subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as process:
        assert process.stdout is not None
        for line in process.stdout:
            sys.stdout.write(line)
            lines.append(line)
    seconds = time.monotonic() - started
    return Ran(name, command, seconds, process.returncode, parse("".join(lines)))


def has_target(result: Result) -> bool:
    """Whether the figure has a target of its own (else it is shown for information: no "met" either way)."""
    target = result.target.strip().lower()
    return bool(target) and not target.startswith("none")


def _figure(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    if unit == "$":
        return f"${value:.4f}" if value < 1 else f"${value:.2f}"
    if unit in ("s", "ms", "MB", "req/s"):
        digits = 3 if unit == "s" and value < 10 else 0 if value >= 100 else 1
        return f"{value:.{digits}f} {unit}"
    return f"{value:g} {unit}"


def _ratio(result: Result) -> str:
    return "—" if result.ratio is None else f"{result.ratio:.2f}x"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render(ran: list[Ran], *, when: datetime, commit: str, where: str) -> str:
    rows = [
        "| # | benchmark | work | peer | peer's | autotest's | ratio | target | met | rounds | notes |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    number = {name: i + 1 for i, (name, _) in enumerate(BENCHES)}
    for one in ran:
        if one.returncode != 0 or not one.results:
            why = f"exit {one.returncode}" if one.returncode else "no result lines"
            rows.append(f"| {number.get(one.name, '')} | {one.name} | **failed ({why})** | | | | | | no | | |")
            continue
        for r in one.results:
            met = "—" if not has_target(r) else "yes" if r.met else "**no**"
            rows.append(
                f"| {number.get(one.name, '')} | {r.bench} | {_cell(r.work)} | {_cell(r.peer) or '—'} "
                f"| {_figure(r.peer_value, r.unit)} | {_figure(r.autotest_value, r.unit)} | {_ratio(r)} "
                f"| {_cell(r.target) or '—'} | {met} | {r.rounds} | {_cell(r.notes)} |"
            )
    commands = "\n".join(f"- `.venv/bin/{one.command}` ({one.seconds:.0f} s)" for one in ran)
    total = sum(one.seconds for one in ran)
    targeted = [r for one in ran for r in one.results if has_target(r)]
    missed = [r for r in targeted if not r.met]
    summary = (
        "Every target is met."
        if not missed and all(one.returncode == 0 and one.results for one in ran)
        else f"{len(missed)} of the {len(targeted)} figures with a target miss it; the notes say why."
    )
    return f"""# Benchmarks

The latest `make bench` (`python -m bench.table`), written by it: each benchmark runs the same work as the tool a
team would pick instead, side by side on this machine, in alternating rounds, and prints its ratio. Figures move
with the machine's load: run `make bench` to get yours.

- **When:** {when:%Y-%m-%d %H:%M} UTC, commit `{commit}`
- **Machine:** {where}
- **Took:** {total:.0f} s in all

{summary}

{chr(10).join(rows)}

Ratios are autotest's figure over the peer's (lower is better), except where the target is `>=` (higher is better:
the peer's time over autotest's, or autotest's rate over the peer's). Each benchmark's module docstring says
exactly what it runs and how it measures.

## Commands

{commands}

## Details

{_details(ran)}
"""


def _details(ran: list[Ran]) -> str:
    parts = []
    for one in ran:
        for r in one.results:
            if r.extra:
                parts.append(f"- **{r.bench}**, {_cell(r.work)}: `{json.dumps(r.extra, sort_keys=True)}`")
    return "\n".join(parts) if parts else "(none)"


def _commit() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        )
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return out.stdout.strip()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", metavar="NAME", help="only these benchmarks (the README is left alone)")
    parser.add_argument("--readme", type=Path, default=README, help="where the table goes (default bench/README.md)")
    parser.add_argument(
        "--update", action="store_true", help="with --only: replace those benchmarks' rows in the README's table"
    )
    parser.add_argument("--rerender", action="store_true", help="write the README again from bench/results.json")
    options = parser.parse_args(argv)
    if options.update and not options.only:
        parser.error("--update needs --only NAME ...")
    if options.rerender:  # the README again from bench/results.json, nothing run
        path = options.readme.with_name(RESULTS.name)
        ran, where = load(path)
        document = json.loads(path.read_text())
        when = datetime.fromisoformat(document["when"])
        options.readme.write_text(render(ran, when=when, commit=document["commit"], where=where))
        return 0
    known = dict(BENCHES)
    unknown = sorted(set(options.only or ()) - known.keys())
    if unknown:
        parser.error(f"no such benchmark: {', '.join(unknown)} (known: {', '.join(known)})")
    chosen = [(name, args) for name, args in BENCHES if not options.only or name in options.only]
    where = machine()  # the load before the benchmarks load it
    ran = [run(name, args) for name, args in chosen]
    results_path = options.readme.with_name(RESULTS.name)
    if options.update:
        before, where_before = load(results_path)
        fresh = {one.name: one for one in ran}
        ran = [fresh.pop(one.name, one) for one in before] + list(fresh.values())
        where = f"{where_before}; rerun of {', '.join(options.only)}: {where}"
    when, commit = datetime.now(UTC), _commit()
    text = render(ran, when=when, commit=commit, where=where)
    print("\n" + text.split("\n## Commands")[0])
    if not options.only or options.update:
        options.readme.write_text(text)
        save(ran, results_path, when=when, commit=commit, where=where)
        print(f"written: {options.readme} and {results_path.name}")
    return 0 if all(one.returncode == 0 and one.results for one in ran) else 1


if __name__ == "__main__":
    sys.exit(main())
