"""What one look for secrets on a page costs (``runner_container/runner/onpage.py``), on a large page.

The page is a table of ``--rows`` rows of text, links and fields (9 elements a row: 775 rows are about
7,000 elements, 130 kB of HTML, 45 kB of text), looked at with :meth:`SecretScanner.mark` as before every
screenshot: once with the secret absent (the common case), once with it shown in one cell. Prints the
median milliseconds of ``--looks`` looks of each, after a warm-up, as the runner waits for them (the
round trip to the browser included) and in the page alone (the look's script, timed in the page).

    .venv/bin/python -m bench.secret_scan --rows 775 --looks 50
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

from runner_container.runner.browser import BrowserPool
from runner_container.runner.masking import Masker
from runner_container.runner.onpage import _LOOK, CANVAS_RECORDER, SecretScanner

SECRET = "Vq7Lm&Zr42x"


def page_html(rows: int, shown: str = "") -> str:
    cells = []
    for i in range(rows):
        text = shown if shown and i == rows // 2 else f"Order {i:05d} shipped to Ada Lovelace, 12 Crescent Road"
        cells.append(
            f"<tr><td><a href='/o/{i}'>#{i}</a></td><td><span>{text}</span></td>"
            f"<td><input value='qty {i}'></td><td><b>ok</b></td></tr>"
        )
    return f"<html><body><h1>Orders</h1><table>{''.join(cells)}</table></body></html>"


#: the look's script run ``looks`` times in the page; the median milliseconds
IN_PAGE = """([source, args, looks]) => {
  const look = (0, eval)('(' + source + ')');
  look(args);
  const times = [];
  for (let i = 0; i < looks; i++) {
    const started = performance.now();
    look(args);
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  return times[times.length >> 1];
}"""


async def median_ms(scanner: SecretScanner, page: object, looks: int) -> float:
    for _ in range(3):
        await scanner.mark(page)  # type: ignore[arg-type]
    times = []
    for _ in range(looks):
        started = time.perf_counter()
        await scanner.mark(page)  # type: ignore[arg-type]
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


async def main(rows: int, looks: int) -> None:
    pool = BrowserPool(concurrency=1)
    masker = Masker([SECRET])
    scanner = SecretScanner(masker)
    scanner_spellings = masker.literal_spellings()
    try:
        async with pool.context() as context:
            await context.add_init_script(CANVAS_RECORDER)
            page = await context.new_page()
            for label, shown in (("secret absent", ""), ("secret shown once", f"p={SECRET}")):
                await page.set_content(page_html(rows, shown))
                elements = await page.evaluate("document.getElementsByTagName('*').length")
                found = (await scanner.mark(page)).shown
                ms = await median_ms(scanner, page, looks)
                args = [scanner_spellings, "bench", "mark"]
                in_page = await page.evaluate(IN_PAGE, [_LOOK, args, looks])
                print(
                    f"{label:>18}: {elements} elements, {len(scanner_spellings)} spellings, median {ms:.2f} ms per "
                    f"look, {in_page:.2f} ms of it in the page (found: {found or 'nothing'})"
                )
    finally:
        await pool.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=775)
    parser.add_argument("--looks", type=int, default=30)
    args = parser.parse_args()
    asyncio.run(main(args.rows, args.looks))
