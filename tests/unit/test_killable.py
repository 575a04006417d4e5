"""KillablePool: a call that overruns its time, or whose caller gives up, stops (its worker is killed); calls
beside it run in other workers; a worker that answered serves the next call; Ctrl-C is not for the workers."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from shared.killable import CallTimedOut, KillablePool, Report, WorkerDied


def spin(report: Report, seconds: float) -> int:
    """Busy for ``seconds`` of wall time, reporting each 0.1 s; returns the worker's pid."""
    end = time.monotonic() + seconds
    tick = 0
    while time.monotonic() < end:
        if time.monotonic() > end - seconds + tick * 0.1:
            report(tick)
            tick += 1
    return os.getpid()


def spin_telling_pid(report: Report, seconds: float) -> int:
    """:func:`spin`, first reporting which worker runs it."""
    report(("pid", os.getpid()))
    return spin(report, seconds)


def pid(report: Report) -> int:
    return os.getpid()


def fail(report: Report, message: str) -> None:
    raise ValueError(message)


def die(report: Report) -> None:
    os._exit(3)


@pytest.fixture
def pool() -> Iterator[KillablePool]:
    made = KillablePool(keep=2, preload=("tests.unit.test_killable",))
    yield made
    made.close()


def _gone(pid_: int, within_s: float = 1.0) -> bool:
    end = time.monotonic() + within_s
    while time.monotonic() < end:
        if not psutil.pid_exists(pid_) or psutil.Process(pid_).status() == psutil.STATUS_ZOMBIE:
            return True
        time.sleep(0.02)
    return False


async def test_a_call_over_its_time_is_stopped_and_says_where_it_was(pool: KillablePool) -> None:
    worker = await pool.call(pid, timeout_s=10)
    progress: list[Any] = []

    with pytest.raises(CallTimedOut) as timed_out:
        await pool.call(spin, 30, timeout_s=0.5, on_progress=progress.append)

    assert timed_out.value.progress in (3, 4, 5), timed_out.value.progress
    assert _gone(worker), "the worker still runs after its call timed out"
    await asyncio.sleep(0.05)
    assert progress and progress[-1] == timed_out.value.progress


async def test_a_caller_that_gives_up_stops_the_work(pool: KillablePool) -> None:
    progress: list[Any] = []
    task = asyncio.create_task(pool.call(spin_telling_pid, 30, timeout_s=60, on_progress=progress.append))
    for _ in range(100):  # until the worker running it has said which it is
        if progress:
            break
        await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    assert progress and progress[0][0] == "pid", progress[:3]
    assert _gone(progress[0][1]), "the worker still runs after its caller was cancelled"


async def test_calls_beside_a_slow_one_run_at_once_in_other_workers(pool: KillablePool) -> None:
    # (two workers, ready: each has imported this module)
    await asyncio.gather(pool.call(spin, 0.2, timeout_s=10), pool.call(spin, 0.2, timeout_s=10))
    slow = asyncio.create_task(pool.call(spin, 2, timeout_s=10))
    await asyncio.sleep(0.1)

    began = time.monotonic()
    quick = [await pool.call(spin, 0.05, timeout_s=5) for _ in range(3)]
    quick_s = time.monotonic() - began

    assert quick_s < 1.0, quick_s
    assert await slow not in quick


async def test_a_worker_serves_the_next_call_and_errors_come_back_as_raised(pool: KillablePool) -> None:
    first = await pool.call(pid, timeout_s=10)

    with pytest.raises(ValueError, match="bad input"):
        await pool.call(fail, "bad input", timeout_s=10)

    assert await pool.call(pid, timeout_s=10) == first


async def test_a_worker_that_dies_is_reported_and_replaced(pool: KillablePool) -> None:
    with pytest.raises(WorkerDied) as died:
        await pool.call(die, timeout_s=10)

    assert died.value.exitcode == 3
    assert await pool.call(pid, timeout_s=10) > 0


async def test_ctrl_c_in_the_terminal_does_not_reach_the_workers(pool: KillablePool) -> None:
    # (the terminal sends SIGINT to the whole process group; local mode finishes its running tests first)
    worker = await pool.call(pid, timeout_s=10)
    task = asyncio.create_task(pool.call(spin, 0.5, timeout_s=10))
    await asyncio.sleep(0.1)

    os.kill(worker, signal.SIGINT)

    assert await task == worker


async def test_close_stops_every_worker(pool: KillablePool) -> None:
    busy = asyncio.create_task(pool.call(spin, 30, timeout_s=60))
    await asyncio.sleep(0.2)
    idle = await pool.call(pid, timeout_s=10)
    workers = pool.pids
    assert idle in workers and len(workers) == 2

    pool.close()

    with pytest.raises((WorkerDied, CallTimedOut)):
        await asyncio.wait_for(busy, 5)
    assert all(_gone(w) for w in workers)


_SHADOWED = """
import asyncio, operator, sys
from shared.killable import KillablePool


async def main() -> None:
    pool = KillablePool(keep=0, preload=("shared.killable",))
    try:
        print(await pool.call(operator.is_not, None, timeout_s=30))
    finally:
        pool.close()


if __name__ == "__main__":
    asyncio.run(main())
"""


def test_a_package_in_the_current_directory_does_not_shadow_the_workers_modules(tmp_path: Path) -> None:
    # `autotest local` started in a project that has its own `shared/` (or `yaml.py`): the fork server, started as
    # `python -c`, had that directory first on sys.path, imported it in place of ours, and every worker died.
    project = tmp_path / "project"
    (project / "shared").mkdir(parents=True)
    (project / "shared" / "__init__.py").write_text("")  # a package of the user's, without our modules
    script = tmp_path / "bin" / "start.py"
    script.parent.mkdir()
    script.write_text(_SHADOWED)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONSAFEPATH"}

    done = subprocess.run(
        [sys.executable, str(script)], cwd=project, env=env, capture_output=True, text=True, timeout=120
    )

    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "True"
    assert "ModuleNotFoundError" not in done.stderr
