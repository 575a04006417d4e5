"""The example app after a redesign, and after an element was removed: the same pages and behaviour, other
markup and words. ``serve(variant="redesigned")`` renames ids and classes, rearranges the layout (the list is
a table, the form's fields are grouped and reordered) and rewords labels and buttons ("Log in" -> "Sign in",
"Username" -> "User name", "Remove" -> "Delete", "Save preferences" -> "Save settings", "Continue" ->
"Next"). ``serve(variant="removed")`` is the original app whose list items lost their Remove buttons (a
"Remove all" button is there instead): a test that removes one item must fail there, clicking nothing.

What a page says after an action (the welcome, the saved summary, the item count) is unchanged: a redesign
that changed those would change what the tests check, not how they find things.
"""

from __future__ import annotations

import html
from collections.abc import Callable

#: the list page's buttons report their clicks (``POST /api/clicked``), so a test can tell nothing was clicked
CLICK_LOG_JS = """function logClick(what) {
  fetch('/api/clicked', {method: 'POST', body: what, keepalive: true});
}"""


def page(title: str, body: str, *, script: str = "") -> str:
    links = (("/", "Start"), ("/login", "Account"), ("/list", "Groceries"), ("/form", "Settings"), ("/delayed", "Wait"))
    nav = '<header class="topbar"><ul class="menu">' + "".join(
        f'<li class="menu-entry"><a class="menu-link" href="{href}">{text}</a></li>' for href, text in links
    )
    js = f"<script>{script}</script>" if script else ""
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        "<style>body{font-family:system-ui;margin:0} .topbar{background:#224;color:#fff;padding:1rem}"
        ".menu{display:flex;gap:1rem;list-style:none;margin:0} .menu-link{color:#fff}"
        ".shell{display:grid;grid-template-columns:1fr 3fr;gap:2rem;padding:2rem}"
        ".field{display:flex;flex-direction:column;margin:.75rem 0}</style>"
        f'</head><body>{nav}</ul></header><div class="shell"><aside class="side"><p>Example shop</p></aside>'
        f'<div class="content">{body}</div></div>{js}</body></html>'
    )


def login_form(error: str = "") -> str:
    alert = f'<div class="flash flash-error" role="alert">{html.escape(error)}</div>' if error else ""
    return page(
        "Sign in",
        f"""<section class="auth-card"><h2 class="auth-title">Sign in</h2>{alert}
<form class="auth-form" method="post" action="/login">
  <div class="field"><label for="f-user">User name</label>
    <input id="f-user" class="txt" name="username" autocomplete="username"></div>
  <div class="field"><label for="f-secret">Your password</label>
    <input id="f-secret" class="txt" name="password" type="password"></div>
  <div class="actions"><button class="btn btn-primary" type="submit">Sign in</button></div>
</form></section>""",
    )


def list_page(items: list[dict[str, object]]) -> str:
    rows = "".join(
        f'<tr class="g-row" data-key="g{i["id"]}"><td class="g-name">{html.escape(str(i["name"]))}</td>'
        f'<td class="g-price">${float(str(i["price"])):.2f}</td>'
        '<td><button class="g-del" type="button">Delete</button></td></tr>'
        for i in items
    )
    return page(
        "Groceries",
        '<h1 class="title">My groceries</h1><table class="g-table" aria-label="Groceries">'
        f"<thead><tr><th>Item</th><th>Price</th><th></th></tr></thead><tbody>{rows}</tbody></table>"
        f'<p class="g-summary">Total items: <b class="g-count">{len(items)}</b></p>',
        script=CLICK_LOG_JS
        + """
document.querySelectorAll('.g-del').forEach(b => b.addEventListener('click', e => {
  logClick(e.target.textContent);
  e.target.closest('tr').remove();
  document.querySelector('.g-count').textContent = document.querySelectorAll('.g-row').length;
}));""",
    )


FORM = page(
    "Settings",
    """<h1 class="title">Settings</h1>
<form class="prefs" method="get" action="/form/result">
  <fieldset class="group"><legend>Bottle size</legend>
    <label class="opt"><input type="radio" name="size" value="small"> Small</label>
    <label class="opt"><input type="radio" name="size" value="medium"> Medium</label>
    <label class="opt"><input type="radio" name="size" value="large"> Large</label>
  </fieldset>
  <fieldset class="group"><legend>Look</legend>
    <div class="field"><label for="pick-colour">Favorite colour</label>
    <select id="pick-colour" name="color">
      <option value="">Pick one</option><option value="red">Red</option>
      <option value="green">Green</option><option value="blue">Blue</option>
    </select></div>
  </fieldset>
  <label class="opt"><input type="checkbox" name="newsletter" value="yes"> Subscribe to our newsletter</label>
  <div class="field"><label for="remarks">Comments</label>
    <textarea id="remarks" name="notes" placeholder="Anything else?"></textarea></div>
  <button class="btn" type="submit">Save settings</button>
</form>""",
)

DELAYED_SCRIPT = """
const ms = Number(new URLSearchParams(location.search).get('ms') || 1000);
setTimeout(() => {
  document.querySelector('.state').textContent = 'Ready';
  const b = document.createElement('button'); b.textContent = 'Next'; b.className = 'btn';
  b.addEventListener('click', () => { document.querySelector('.state').textContent = 'Done'; });
  document.querySelector('.content').prepend(b);
}, ms);"""


def delayed() -> str:
    return page(
        "Delayed",
        '<h1 class="title">Please wait</h1><p class="state" role="status">Loading...</p>',
        script=DELAYED_SCRIPT,
    )


def removed_list_page(items: list[dict[str, object]], original: Callable[[str, str, str], str]) -> str:
    """The original list without its items' Remove buttons, and a Remove all button."""
    entries = "".join(
        f'<li data-testid="item-{i["id"]}">{html.escape(str(i["name"]))} '
        f'<span class="price">${float(str(i["price"])):.2f}</span></li>'
        for i in items
    )
    return original(
        "Shopping list",
        f'<h1>Shopping list</h1><ul aria-label="Items">{entries}</ul>'
        f'<p>Total items: <output id="count">{len(items)}</output></p>'
        '<button type="button" id="clear">Remove all</button>',
        CLICK_LOG_JS
        + """
document.getElementById('clear').addEventListener('click', e => {
  logClick(e.target.textContent);
  document.querySelectorAll('li').forEach(li => li.remove());
  document.getElementById('count').textContent = '0';
});""",
    )
