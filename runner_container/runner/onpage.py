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
  (``shared/invisible.py``: zero-width spaces and joiners, the soft hyphen, bidi controls...) removed,
  composed by NFKC (``e`` and U+0301 are ``é``, fullwidth letters are ASCII) and case folded, since CSS can
  change case, layout changes spaces and line breaks, and an invisible character between two letters does
  not show. Each text node is folded on its own, so an offset into the folded text still names its node.
- Text: the text of the page, in document order and folded, contains a spelling of the secret.
  The text is joined across elements, so a secret split over ``<b>p@s</b>s w0rd`` is found; the element
  marked is the smallest one that holds the whole occurrence. Whether text runs on across an element is
  decided by its computed ``display``: ``inline``, ``inline-*`` (``inline-block``, ``inline-flex``...),
  ``contents`` and ``ruby*`` join, whatever the tag (``<x-a>``, ``<big>``, a ``<div>`` styled inline); so
  do the items of a row flex container and of a grid, which stand side by side. A block, a list item, a
  table row or cell, a column of flex items and ``<br>`` break the text, where the page shows a line break.
  Where an element has no computed style, every element but a block tag (:data:`BLOCK`) joins. An element
  that is not rendered (``display: none``) holds no text and breaks nothing (``p@s<span
  style="display:none">x</span>sw0rd`` shows ``p@ssw0rd``); text that is drawn invisibly (``visibility:
  hidden``, ``font-size: 0``, a transparent fill, ``opacity: 0``, inside a box of no size that clips) is
  left out of the joined text too, and looked at on its own. ``<script>``, ``<style>``, ``<template>``,
  ``<noscript>`` and ``<head>`` are not shown text. Open shadow roots are looked into.
- Form fields: an ``input``, ``textarea`` or ``select`` whose current value (or selected option) contains
  a spelling of the secret, and the ``placeholder`` of a field. A password or hidden input holding it is masked but does
  not count as showing it (the page shows bullets).
- Pictures and frames: an element whose URL holds a spelling of the secret (the picture may draw what its
  URL asks for, and a URL holds it percent-encoded): ``<img src/srcset/alt>``, any element's CSS
  ``background-image``, SVG ``<image href>`` (and ``xlink:href``), ``<input type=image src>``, ``<video
  poster/src>``, ``<object data>``, ``<embed src>``, ``<iframe src>``.
- A frame whose document is not HTML (an SVG shown by ``<object>``) has nowhere to draw a mask: when it
  shows a secret, the element that holds it is marked whole, and :attr:`Sighting.notes` says so (the
  screenshot's artifact notes). Such a page itself (the top frame) cannot be pictured masked.
- Canvas: what the page drew with ``fillText`` / ``strokeText`` on a 2D canvas, recorded by an init script
  (:data:`CANVAS_RECORDER`), is looked at like text; the whole canvas is masked.

What cannot be located is not: text inside an image's pixels (served by a server that renders the secret
into a picture whose URL does not hold it), WebGL, a canvas drawn by a worker (``OffscreenCanvas``),
CSS ``content:`` and the images of ``::before``/``::after``, CSS images other than backgrounds
(``border-image``, ``mask-image``, ``list-style-image``), closed shadow roots, a secret shown and hidden
again between two looks (one look per step), an encoded spelling shown reversed, a secret put together by
layout out of pieces in another order (flex ``order``, ``row-reverse``, absolute positions) or by pieces in
table cells side by side, a combining mark in a text node of its own (each node is folded alone), and text
hidden in ways the look does not test (clipped by an ancestor block, covered by another element, drawn
outside the viewport). For those the older rules still apply: a secret typed into a
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
#: elements that break a line where no computed style says how an element is laid out (a trace's DOM
#: snapshot, an element the page does not render): text is joined across every other element
BLOCK = frozenset(
    {
        *("ADDRESS", "ARTICLE", "ASIDE", "BLOCKQUOTE", "BODY", "BR", "CAPTION", "CENTER", "DD", "DETAILS", "DIALOG"),
        *("DIR", "DIV", "DL", "DT", "FIELDSET", "FIGCAPTION", "FIGURE", "FOOTER", "FORM", "FRAMESET", "H1", "H2"),
        *("H3", "H4", "H5", "H6", "HEADER", "HGROUP", "HR", "HTML", "LEGEND", "LI", "LISTING", "MAIN", "MENU"),
        *("NAV", "OL", "OPTGROUP", "OPTION", "P", "PLAINTEXT", "PRE", "SEARCH", "SECTION", "SUMMARY", "TABLE"),
        *("TBODY", "TD", "TFOOT", "TH", "THEAD", "TR", "UL", "XMP"),
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
  const BLOCK = new Set(%(block)s);
  const AWAY = new RegExp(%(folded_away)s, 'gu');  // whitespace, NUL and invisible characters
  // as masking.fold: compatibility forms composed (NFKC), case folded (upper then lower: "ß" is "ss")
  const fold = (s) => String(s).replace(AWAY, '').normalize('NFKC').toUpperCase().toLowerCase()
    .replace(/\u03c2/g, '\u03c3').replace(AWAY, '');
  const needles = [...new Set(spellings.map(fold))].filter((n) => n.length > 0);
  const holds = (s) => {
    if (!s) return false;
    const f = fold(s);
    return needles.some((n) => f.includes(n));
  };
  const parent = (n) => n.parentNode || n.host || null;
  const up = (el) => el.parentElement || (el.parentNode && el.parentNode.host) || null;
  const styles = new Map();
  const styleOf = (el) => {  // the computed style of an element; null where there is none
    let s = styles.get(el);
    if (s === undefined) {
      try { s = el.ownerDocument.defaultView ? getComputedStyle(el) : null; } catch (e) { s = null; }
      if (s && !s.display) s = null;  // not in a rendered document
      styles.set(el, s);
    }
    return s;
  };
  const displays = new Map();
  const displayOf = (el) => {  // its computed display ('' where there is no style); read once
    let d = displays.get(el);
    if (d === undefined) {
      const s = styleOf(el);
      displays.set(el, (d = s ? s.display : ''));
    }
    return d;
  };
  const joinsMemo = new Map();
  const joins = (el) => {  // whether text runs on across the boundary of el (no line break there)
    let j = joinsMemo.get(el);
    if (j !== undefined) return j;
    const display = displayOf(el);
    if (el.localName === 'br') j = false;
    else if (!display) j = !BLOCK.has(el.localName);
    else if (/^(none|contents|math)$|^(inline|ruby)/.test(display)) j = true;
    else {  // a block; but the items of a row flex container or of a grid are side by side
      const p = up(el);
      const pd = p ? displayOf(p) : '';
      j = pd.endsWith('grid') || (pd.endsWith('flex') && !styleOf(p).flexDirection.startsWith('column'));
    }
    joinsMemo.set(el, j);
    return j;
  };
  const clear = (c) => c === 'transparent' || /^rgba\(.*[,/]\s*0\)$/.test(c);
  const clippedMemo = new Map();
  const clipped = (el) => {  // el, or an ancestor it runs on in, is a box of no size that clips its text
    if (!el || el.nodeType !== 1) return false;
    let c = clippedMemo.get(el);
    if (c !== undefined) return c;
    const display = displayOf(el);
    c = false;
    if (display && display !== 'inline' && display !== 'contents' && styleOf(el).overflow !== 'visible') {
      const r = el.getBoundingClientRect();
      c = r.width === 0 || r.height === 0;
    }
    if (!c && joins(el)) c = clipped(up(el));
    clippedMemo.set(el, c);
    return c;
  };
  const unseenMemo = new Map();
  const unseen = (el) => {  // whether the text right inside el draws nothing
    let u = unseenMemo.get(el);
    if (u !== undefined) return u;
    const s = styleOf(el);
    u = false;
    if (s) {
      let box = el;
      while (box && displayOf(box) === 'contents') box = up(box);
      u = s.visibility !== 'visible' || parseFloat(s.fontSize) === 0
        || (clear(s.webkitTextFillColor) && s.textShadow === 'none' && !parseFloat(s.webkitTextStrokeWidth))
        || !!(box && box.checkVisibility && !box.checkVisibility({opacityProperty: true}))
        || clipped(el);
    }
    unseenMemo.set(el, u);
    return u;
  };
  const targets = new Map();  // element -> whether it shows the secret (not only holds it)
  const hit = (el, shows) => {
    if (!el || el.nodeType !== 1) return;
    targets.set(el, targets.get(el) || shows);
    const select = el.localName !== 'select' ? el.closest('select') : null;
    if (select) targets.set(select, true);
  };
  const XLINK = 'http://www.w3.org/1999/xlink';
  const held = (el, tag) => {  // [[what a field, a picture, a frame or a canvas holds, whether the page shows it], ...]
    const attr = (name) => [el.getAttribute(name), true];
    if (tag === 'input') {
      const hidden = el.type === 'password' || el.type === 'hidden';
      const pictured = el.type === 'image' ? [[el.src, true], attr('src')] : [];
      return [[el.value, !hidden], [el.placeholder, true], ...pictured];
    }
    if (tag === 'textarea') return [[el.value, true], [el.placeholder, true]];
    if (tag === 'select') return [...el.selectedOptions].flatMap((o) => [[o.text, true], [o.value, true]]);
    if (tag === 'img') return [[el.alt, true], [el.currentSrc || el.src, true], attr('src'), attr('srcset')];
    if (tag === 'image') return [attr('href'), [el.getAttributeNS(XLINK, 'href'), true]];  // SVG
    if (tag === 'video') return [[el.poster, true], attr('poster'), [el.currentSrc, true], attr('src')];
    if (tag === 'object') return [[el.data, true], attr('data')];
    if (tag === 'embed' || tag === 'iframe' || tag === 'frame') return [[el.src, true], attr('src')];
    return [[el[KEY], true]];  // a canvas: what it drew
  };
  const PICTURED = 'input, textarea, select, img, canvas, image, video, object, embed, iframe, frame';
  const blockOf = (el) => {  // the nearest element, el or an ancestor, that text does not run on across
    let n = el;
    while (n && n.nodeType === 1 && joins(n)) n = n.parentNode;
    return n;
  };
  const notShown = (el) => SKIP.has(el.localName.toUpperCase()) || displayOf(el) === 'none';

  // The roots: the document and every open shadow root in it.
  const roots = [document];
  for (let r = 0; r < roots.length; r++) {
    const walker = document.createTreeWalker(roots[r], NodeFilter.SHOW_ELEMENT);
    for (let n = walker.nextNode(); n; n = walker.nextNode()) if (n.shadowRoot) roots.push(n.shadowRoot);
  }
  // The text of each root that may hold a secret (its whole text does: a quick native test first),
  // folded, with BREAK where a block starts or ends; the text the page does not draw (hidden, of no size)
  // after it, each text node on its own.
  let text = '';
  const starts = [];
  const nodes = [];
  const aside = [];
  for (const root of roots) {
    if (mode === 'mark') for (const el of root.querySelectorAll('[' + ATTR + ']')) el.removeAttribute(ATTR);
    const holding = [...root.querySelectorAll(PICTURED)].map((el) => [el, held(el, el.localName)]);
    for (const el of root.querySelectorAll('*')) {  // CSS backgrounds, whose URL may ask for the secret
      const s = styleOf(el);
      const image = s ? s.backgroundImage : '';
      if (image.includes('url(')) holding.push([el, [[image, true]]]);
    }
    // What they all hold, joined, is tested first: most pages hold no secret, and one test is cheaper than many
    if (holds(holding.map(([, h]) => h.map(([s]) => s || '').join('')).join(''))) {
      for (const [el, h] of holding) for (const [s, shows] of h) if (holds(s)) hit(el, shows);
    }
    // (no quick test of the root's whole text: text the page does not draw may split a secret it shows)
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_ELEMENT | NodeFilter.SHOW_TEXT);
    let lastBlock = null, lastParent = null, parentBlock = null, drawn = true;
    text += BREAK;
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      if (n.nodeType === 1) {
        if (notShown(n)) {  // what is not rendered holds no text, and breaks nothing: its subtree is skipped
          let last = n;
          while (last.lastChild) last = last.lastChild;
          walker.currentNode = last;  // (the loop's nextNode() goes on after it)
          continue;
        }
        if (!joins(n)) lastBlock = null;  // a block starts: the text after it is not joined
        continue;
      }
      const f = fold(n.data);
      if (!f) continue;
      const p = n.parentNode;
      if (p !== lastParent) {
        lastParent = p;
        parentBlock = blockOf(p);
        drawn = !(p.nodeType === 1 && unseen(p));
      }
      if (!drawn) {
        aside.push([n, f]);
        continue;
      }
      if (parentBlock !== lastBlock) text += BREAK;
      lastBlock = parentBlock;
      starts.push(text.length);
      nodes.push(n);
      text += f;
    }
  }
  for (const [n, f] of aside) {
    text += BREAK;
    starts.push(text.length);
    nodes.push(n);
    text += f;
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
  // A document that is not HTML (an SVG in an <object>) has nowhere to draw a mask: its frame is masked whole
  const whole = targets.size > 0 && !(document.documentElement instanceof HTMLElement);
  let count = 0;
  for (const el of targets.keys()) {
    if (whole) {
      count++;
    } else if (mode === 'mark') {
      el.setAttribute(ATTR, token);
      count++;
    } else if (mode === 'check' && !covered(el)) {
      count++;
    }
  }
  const describe = (el) => el.localName + (el.id ? '#' + el.id : '');
  const shown = [...targets].filter(([, shows]) => shows).map(([el]) => describe(el));
  return {count, whole, shown: shown.slice(0, %(max_shown)d)};
}
"""
_LOOK = _LOOK % {
    "not_shown": json.dumps(sorted(NOT_SHOWN)),
    "block": json.dumps(sorted(name.lower() for name in BLOCK)),
    "max_shown": MAX_SHOWN,
    "folded_away": json.dumps(FOLDED_AWAY),
}


_MARK_OWNER = (
    "(el, [attr, token]) => { el.setAttribute(attr, token); return el.localName + (el.id ? '#' + el.id : ''); }"
)
_COVERED = """(el, [attr, token]) => {
  for (let n = el; n; n = n.parentNode || n.host) if (n.nodeType === 1 && n.getAttribute(attr) === token) return true;
  return false;
}"""


class ScanFailed(Exception):
    """A frame of the page could not be looked at (it kept navigating, or its page crashed)."""


@dataclass
class Sighting:
    """What one look at the page found."""

    token: str
    masks: list[Locator] = field(default_factory=list)  # locators of the marked elements, one per frame
    shown: list[str] = field(default_factory=list)  # where a secret is shown ("span#mirror")
    notes: list[str] = field(default_factory=list)  # what could only be masked whole, for the artifact notes


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
        masked: list[Frame] = []
        for frame, result in await self._look(page, sighting.token, "mark"):
            if result["count"] and result["whole"]:
                owner = await self._mark_owner(frame, sighting.token)
                sighting.notes.append(f"{owner} shows a secret in a document that cannot hold a mask: masked whole")
                masked.append(frame.parent_frame or frame)
            elif result["count"]:
                masked.append(frame)
            sighting.shown += [_where(frame, page, name) for name in result["shown"]]
        sighting.masks = [f.locator(f'[{MARK}="{sighting.token}"]') for f in dict.fromkeys(masked)]
        return sighting

    async def uncovered(self, page: Page, sighting: Sighting) -> int:
        """How many elements show a secret now that ``sighting``'s marks do not cover."""
        if not self.active:
            return 0
        count = 0
        for frame, result in await self._look(page, sighting.token, "check"):
            if result["count"] and result["whole"]:
                owner = await frame.frame_element() if frame.parent_frame else None
                covered = owner is not None and await owner.evaluate(_COVERED, [MARK, sighting.token])
                count += 0 if covered else result["count"]
            else:
                count += result["count"]
        return count

    @staticmethod
    async def _mark_owner(frame: Frame, token: str) -> str:
        """Mark the element that holds ``frame`` (an ``<object>``, an ``<iframe>``); returns what it is."""
        if frame.parent_frame is None:
            raise ScanFailed("the page shows a secret in a document that cannot hold a mask")
        try:
            owner = await frame.frame_element()
            return str(await owner.evaluate(_MARK_OWNER, [MARK, token]))
        except PlaywrightError as exc:
            raise ScanFailed(f"the page could not be checked for secrets: {str(exc).splitlines()[0]}") from exc

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
