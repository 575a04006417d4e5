"""``bench/memory.py``'s pure parts: reading ``smaps_rollup``, naming the processes of a tree, the per-run figure
and the breakdown by process."""

from __future__ import annotations

from bench.memory import Figures, Sample, breakdown, extra_mb, median_round, parse_smaps_rollup, process_kind

ROLLUP = """558afb494000-7ffce60fe000 ---p 00000000 00:00 0                          [rollup]
Rss:                1624 kB
Pss:                 186 kB
Pss_Dirty:           112 kB
Shared_Clean:       1472 kB
Private_Dirty:       112 kB
Swap:                  0 kB
"""


def test_smaps_rollup_fields_in_kb() -> None:
    fields = parse_smaps_rollup(ROLLUP)

    assert fields["Rss"] == 1624
    assert fields["Pss"] == 186
    assert fields["Shared_Clean"] == 1472
    assert fields["Swap"] == 0
    assert len(fields) == 6  # the header (the address range) is not a field


def test_smaps_rollup_of_a_zombie_is_empty() -> None:
    assert parse_smaps_rollup("") == {}


def test_smaps_rollup_skips_lines_it_cannot_read() -> None:
    assert parse_smaps_rollup("Rss: lots kB\nPss: 3 MB\nKSM: 4 kB\n") == {"KSM": 4}


def test_process_kinds() -> None:
    shell = "/usr/lib/chromium/chromium-headless-shell"
    assert process_kind("chromium-headle", [shell, "--type=renderer", "--lang=en"]) == "chromium renderer"
    assert process_kind("chromium-headle", [shell, "--no-sandbox", "--headless"]) == "chromium browser"
    assert process_kind("ffmpeg-linux", ["/root/.cache/ms-playwright/ffmpeg-1011/ffmpeg-linux", "-f"]) == "ffmpeg"
    assert process_kind("node", ["/venv/playwright/driver/node", "cli.js", "run-driver"]) == "playwright driver (node)"
    assert process_kind("python", ["/venv/bin/python", "/venv/bin/autotest", "local"]) == "python (main)"
    forkserver = ["/venv/bin/python", "-B", "-c", "from multiprocessing.forkserver import main; main()"]
    assert process_kind("python", forkserver) == "python helpers (check workers, fork server)"


def mb(value: float) -> int:
    return int(value * 1024)


def test_each_extra_run_is_the_median_of_the_rounds_four_less_one_over_three() -> None:
    figures = Figures(
        one=[Sample(mb(400), mb(200)), Sample(mb(410), mb(210)), Sample(mb(390), mb(190))],
        four=[Sample(mb(700), mb(500)), Sample(mb(800), mb(510)), Sample(mb(690), mb(490))],
    )

    # (500-200)/3 = 100, (510-210)/3 = 100, (490-190)/3 = 100 for PSS; 100, 130, 100 for RSS
    assert extra_mb(figures, "pss_mb") == 100
    assert extra_mb(figures, "rss_mb") == 100


def test_the_median_round_and_its_breakdown_by_process() -> None:
    low = Sample(mb(300), mb(150), {"chromium renderer": (1, mb(100), mb(40)), "python (main)": (1, mb(200), mb(110))})
    high = Sample(
        mb(700),
        mb(380),
        {
            "chromium renderer": (4, mb(400), mb(160)),
            "python (main)": (1, mb(210), mb(115)),
            "ffmpeg": (4, mb(90), mb(105)),
        },
    )
    figures = Figures(one=[low, low, low], four=[high, Sample(mb(400), mb(151)), Sample(mb(900), mb(900))])

    four, one = median_round(figures)
    assert (four, one) == (high, low)

    where = breakdown(four, one)
    assert list(where) == ["chromium renderer", "ffmpeg", "python (main)"]  # largest PSS first
    assert where["chromium renderer"] == {"processes": 3, "rss_mb": 300.0, "pss_mb": 120.0}
    assert where["ffmpeg"] == {"processes": 4, "rss_mb": 90.0, "pss_mb": 105.0}
