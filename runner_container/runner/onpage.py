"""Secrets the page shows: found before every picture of the page, so that screenshots mask them and a
session whose page showed one keeps no video or screencast (pictures that cannot be masked).

A secret is typed into a field and then shown elsewhere: mirrored by a script, echoed by the server in the
next page, drawn on a canvas. Before each screenshot, :meth:`SecretScanner.mark` looks at every frame of
the page, with one ``evaluate`` per frame, for elements that show a secret value, marks them with an
attribute, and returns locators of the marked elements for the screenshot's ``mask``. After the
screenshot, :meth:`SecretScanner.uncovered` looks again: a secret that appeared in an element the marks
do not cover (the page changed in between) means the picture may show it, and it is taken again.

What "shows a secret" means (the same in every frame):

- Spellings: a secret is looked for in every whole spelling the masker knows
  (:func:`~runner_container.runner.masking.literal_spellings`: as typed; percent-encoded the ways URL
  encoders write it, and twice; form-, JSON-, JavaScript- and HTML-escaped; base64 at every alignment, in
  both alphabets; hex; reversed, which is how a page holds a secret it shows under a right-to-left
  override, by ``U+202E`` or by CSS ``direction: rtl; unicode-bidi: bidi-override``). The masker masks each
  of them in text, so what a trace's text hides, the screenshots hide too. Text and spellings are compared
  folded (:func:`~runner_container.runner.masking.fold`): whitespace and invisible characters
  (``shared/invisible.py``: zero-width spaces and joiners, the soft hyphen, bidi controls...) removed and
  lower-cased, since CSS can change case, layout changes spaces and line breaks, and an invisible
  character between two letters does not show. Each text node is folded on its own, so an offset into the
  folded text still names its node.
- Text: the text of the page, in document order and folded, contains a spelling of the secret.
  The text is joined across elements, so a secret split over ``<b>p@s</b>s w0rd`` is found; the element
  marked is the smallest one that holds the whole occurrence. Text is not joined across the boundary of a
  block element (``<div>``, ``<p>``, ``<td>``...: anything not in ``INLINE``), where the page shows a
  line break. ``<script>``, ``<style>``, ``<template>``, ``<noscript>`` and ``<head>`` are not shown text.
  Open shadow roots are looked into.
- Form fields: an ``input``, ``textarea`` or ``select`` whose current value (or selected option) contains
  a spelling of the secret, and the ``placeholder`` of a field. A password or hidden input holding it is masked but does
  not count as showing it (the page shows bullets).
- Images: an ``<img>`` whose ``src`` or ``alt`` holds a spelling of the secret (the picture may draw what
  its URL asks for, and a URL holds it percent-encoded).
- Canvas: what the page drew with ``fillText`` / ``strokeText`` on a 2D canvas, recorded by an init script
  (:data:`CANVAS_RECORDER`), is looked at like text; the whole canvas is masked.

What cannot be located is not: text inside an image's pixels (served by a server that renders the secret
into a picture whose URL does not hold it), WebGL, a canvas drawn by a worker (``OffscreenCanvas``),
CSS ``content:``, closed shadow roots, a secret shown and hidden again between two looks (one look per
step), an encoded spelling shown reversed, and a secret put together by layout out of pieces in another
order (flex ``order``, absolute positions). For those the older rules still apply: a secret typed into a
field that shows it, or used by any step but ``fill``, drops the video and screencast whatever the page
shows.

The spellings are passed to ``evaluate`` as its argument; Playwright's trace records the argument, and
the trace is masked like every other record (``tracemask.py``: each spelling is masked whole).
"""

from __future__ import annotations

import asyncio
import json
import secrets
from dataclasses import dataclass, field
from typing import Any, Literal

from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Frame, Locator, Page

from runner_container.runner.masking import FOLDED_AWAY, Masker

MARK = "data-autotest-secret"
#: looks at a frame that fails (mid-navigation) are tried this many times in all, ``RETRY_S`` apart
LOOK_ATTEMPTS = 4
RETRY_S = 0.25
MAX_SHOWN = 5  # elements named per look, for the artifact notes
#: elements whose text the page does not show
NOT_SHOWN = frozenset({"SCRIPT", "STYLE", "NOSCRIPT", "TEMPLATE", "HEAD", "TITLE"})
#: elements that do not break a line: text is joined across them (HTML phrasing elements, SVG text pieces)
INLINE = frozenset(
    {
        *("A", "ABBR", "B", "BDI", "BDO", "CITE", "CODE", "DATA", "DEL", "DFN", "EM", "FONT", "I", "INS", "KBD"),
        *("LABEL", "MARK", "Q", "RP", "RT", "RUBY", "S", "SAMP", "SMALL", "SPAN", "STRONG", "SUB", "SUP", "TIME"),
        *("U", "VAR", "WBR", "TSPAN", "TEXTPATH"),
    }
)

#: Records what the page draws as text on 2D canvases (added to every frame before its scripts run).
CANVAS_RECORDER = """
(() => {
  const KEY = Symbol.for('autotest.drawnText');
  const LIMIT = 65536;
  const wrap = (proto) => {
    if (!proto) return;
    for (const name of ['fillText', 'strokeText']) {
      const original = proto[name];
      if (typeof original !== 'function') continue;
      Object.defineProperty(proto, name, {
        configurable: true,
        writable: true,
        value: function (text, ...rest) {
          try {
            const canvas = this.canvas;
            if (canvas) {
              const drawn = (canvas[KEY] || '') + String(text);
              canvas[KEY] = drawn.length > LIMIT ? drawn.slice(-LIMIT) : drawn;
            }
          } catch (e) {}
          return original.call(this, text, ...rest);
        },
      });
    }
  };
  wrap(window.CanvasRenderingContext2D && window.CanvasRenderingContext2D.prototype);
})();
"""

#: One look at a frame: ``mode`` "mark" marks the elements that show a secret (and unmarks the others),
#: "check" counts those not covered by a mark of ``token``, "look" only reports them.
_LOOK = r"""
([spellings, token, mode]) => {
  const ATTR = 'data-autotest-secret';
  const KEY = Symbol.for('autotest.drawnText');
  const BREAK = '\u0000';
  const SKIP = new Set(%(not_shown)s);
  const INLINE = new Set(%(inline)s);
  const AWAY = new RegExp(%(folded_away)s, 'gu');  // whitespace, NUL and invisible characters
  const fold = (s) => String(s).replace(AWAY, '').toLowerCase();
  const needles = [...new Set(spellings.map(fold))].filter((n) => n.length > 0);
  const holds = (s) => {
    if (!s) return false;
    const f = fold(s);
    return needles.some((n) => f.includes(n));
  };
  const parent = (n) => n.parentNode || n.host || null;
  const targets = new Map();  // element -> whether it shows the secret (not only holds it)
  const hit = (el, shows) => {
    if (!el || el.nodeType !== 1) return;
    targets.set(el, targets.get(el) || shows);
    const select = el.localName !== 'select' ? el.closest('select') : null;
    if (select) targets.set(select, true);
  };
  const held = (el, tag) => {  // [[what a field, an image or a canvas holds, whether the page shows it], ...]
    if (tag === 'input') {
      const hidden = el.type === 'password' || el.type === 'hidden';
      return [[el.value, !hidden], [el.placeholder, true]];
    }
    if (tag === 'textarea') return [[el.value, true], [el.placeholder, true]];
    if (tag === 'select') return [...el.selectedOptions].flatMap((o) => [[o.text, true], [o.value, true]]);
    if (tag === 'img') return [[el.alt, true], [el.currentSrc || el.src, true]];
    return [[el[KEY], true]];  // a canvas: what it drew
  };
  const blockOf = (node) => {  // the nearest ancestor that is not an inline element
    let n = node.parentNode;
    while (n && n.nodeType === 1 && INLINE.has(n.localName)) n = n.parentNode;
    return n;
  };

  // The roots: the document and every open shadow root in it.
  const roots = [document];
  for (let r = 0; r < roots.length; r++) {
    const walker = document.createTreeWalker(roots[r], NodeFilter.SHOW_ELEMENT);
    for (let n = walker.nextNode(); n; n = walker.nextNode()) if (n.shadowRoot) roots.push(n.shadowRoot);
  }
  // The text of each root that may hold a secret (its whole text does: a quick native test first),
  // folded, with BREAK where a block starts or ends.
  let text = '';
  const starts = [];
  const nodes = [];
  for (const root of roots) {
    if (mode === 'mark') for (const el of root.querySelectorAll('[' + ATTR + ']')) el.removeAttribute(ATTR);
    const fields = [...root.querySelectorAll('input, textarea, select, img, canvas')];
    const holding = fields.map((el) => [el, held(el, el.localName)]);
    // What they all hold, joined, is tested first: most pages hold no secret, and one test is cheaper than many
    if (holds(holding.map(([, h]) => h.map(([s]) => s || '').join('')).join(''))) {
      for (const [el, h] of holding) for (const [s, shows] of h) if (holds(s)) hit(el, shows);
    }
    if (!holds(root === document ? document.documentElement.textContent : root.textContent)) continue;
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_ELEMENT | NodeFilter.SHOW_TEXT);
    let lastBlock = null, lastParent = null, parentBlock = null;
    text += BREAK;
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      if (n.nodeType === 1) {
        if (!INLINE.has(n.localName)) lastBlock = null;  // a block starts: the text after it is not joined
        continue;
      }
      const p = n.parentNode;
      if (p && p.nodeType === 1 && SKIP.has(p.localName.toUpperCase())) continue;
      const f = fold(n.data);
      if (!f) continue;
      if (p !== lastParent) {
        lastParent = p;
        parentBlock = blockOf(n);
      }
      if (parentBlock !== lastBlock) text += BREAK;
      lastBlock = parentBlock;
      starts.push(text.length);
      nodes.push(n);
      text += f;
    }
  }

  const nodeAt = (offset) => {  // the text node whose text holds ``offset`` of ``text``
    let lo = 0, hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid] <= offset) lo = mid; else hi = mid - 1;
    }
    return nodes[lo];
  };
  const common = (a, b) => {
    const seen = new Set();
    for (let n = a; n; n = parent(n)) seen.add(n);
    for (let n = b; n; n = parent(n)) if (seen.has(n) && n.nodeType === 1) return n;
    return document.documentElement;
  };
  for (const needle of needles) {
    for (let at = text.indexOf(needle); at >= 0; at = text.indexOf(needle, at + 1)) {
      hit(common(nodeAt(at), nodeAt(at + needle.length - 1)), true);
    }
  }

  const covered = (el) => {
    for (let n = el; n; n = parent(n)) if (n.nodeType === 1 && n.getAttribute(ATTR) === token) return true;
    return false;
  };
  let count = 0;
  for (const el of targets.keys()) {
    if (mode === 'mark') {
      el.setAttribute(ATTR, token);
      count++;
    } else if (mode === 'check' && !covered(el)) {
      count++;
    }
  }
  const describe = (el) => el.localName + (el.id ? '#' + el.id : '');
  const shown = [...targets].filter(([, shows]) => shows).map(([el]) => describe(el));
  return {count, shown: shown.slice(0, %(max_shown)d)};
}
"""
_LOOK = _LOOK % {
    "not_shown": json.dumps(sorted(NOT_SHOWN)),
    # HTML's local names are lower case, SVG's as written ("textPath")
    "inline": json.dumps(sorted({name.lower() for name in INLINE} | {"textPath"})),
    "max_shown": MAX_SHOWN,
    "folded_away": json.dumps(FOLDED_AWAY),
}


class ScanFailed(Exception):
    """A frame of the page could not be looked at (it kept navigating, or its page crashed)."""


@dataclass
class Sighting:
    """What one look at the page found."""

    token: str
    masks: list[Locator] = field(default_factory=list)  # locators of the marked elements, one per frame
    shown: list[str] = field(default_factory=list)  # where a secret is shown ("span#mirror")


class SecretScanner:
    """Looks for the secrets of ``masker`` on a page (see the module docstring)."""

    def __init__(self, masker: Masker) -> None:
        self._masker = masker

    @property
    def active(self) -> bool:
        return bool(self._masker)

    async def mark(self, page: Page) -> Sighting:
        """Mark every element that shows a secret; returns the mask locators and what is shown."""
        sighting = Sighting(token=secrets.token_hex(8))
        if not self.active:
            return sighting
        for frame, result in await self._look(page, sighting.token, "mark"):
            if result["count"]:
                sighting.masks.append(frame.locator(f'[{MARK}="{sighting.token}"]'))
            sighting.shown += [_where(frame, page, name) for name in result["shown"]]
        return sighting

    async def uncovered(self, page: Page, sighting: Sighting) -> int:
        """How many elements show a secret now that ``sighting``'s marks do not cover."""
        if not self.active:
            return 0
        return sum(result["count"] for _, result in await self._look(page, sighting.token, "check"))

    async def shown(self, page: Page) -> list[str]:
        """Where the page shows a secret now, without marking anything."""
        if not self.active:
            return []
        looks = await self._look(page, "", "look")
        return [_where(frame, page, name) for frame, result in looks for name in result["shown"]]

    async def _look(self, page: Page, token: str, mode: Literal["mark", "check", "look"]) -> list[tuple[Frame, Any]]:
        spellings = self._masker.literal_spellings()
        problem = ""
        for attempt in range(LOOK_ATTEMPTS):
            if attempt:
                await asyncio.sleep(RETRY_S)
            frames = [frame for frame in page.frames if not frame.is_detached()]
            results = await asyncio.gather(
                *(frame.evaluate(_LOOK, [spellings, token, mode]) for frame in frames), return_exceptions=True
            )
            failed = [
                (frame, result)
                for frame, result in zip(frames, results, strict=True)
                if isinstance(result, BaseException) and not frame.is_detached()
            ]
            if not failed:
                return [
                    (frame, result)
                    for frame, result in zip(frames, results, strict=True)
                    if not isinstance(result, BaseException)
                ]
            error = failed[0][1]
            if not isinstance(error, PlaywrightError):
                raise error
            problem = str(error).splitlines()[0]
        raise ScanFailed(f"the page could not be checked for secrets: {problem}")


def _where(frame: Frame, page: Page, name: str) -> str:
    return name if frame == page.main_frame else f"{name} in the frame {frame.url}"
