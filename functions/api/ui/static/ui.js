// autotest dashboard: live updates and the screenshot viewer. Our own few lines, no framework, no build step.
"use strict";
(function () {
  var POLL_MS = 2500;

  function fetchHtml(url) {
    return fetch(url, { headers: { "X-Requested-With": "fetch" }, credentials: "same-origin" }).then(function (r) {
      if (r.status === 401) { window.location.reload(); throw new Error("logged out"); }
      if (!r.ok) throw new Error("HTTP " + r.status);
      return r.text();
    });
  }

  // What has the focus inside `root`, as a selector that finds its copy in markup fetched again (by id, by link,
  // or by the form a button posts); null when the focus is elsewhere.
  function focusKey(root) {
    var el = document.activeElement;
    if (!el || !root.contains(el)) return null;
    var tag = el.tagName.toLowerCase();
    if (el.id) return "#" + CSS.escape(el.id);
    if (el.getAttribute("href")) return tag + '[href="' + CSS.escape(el.getAttribute("href")) + '"]';
    if (el.form && el.form.getAttribute("action")) {
      return 'form[action="' + CSS.escape(el.form.getAttribute("action")) + '"] ' + tag;
    }
    return null;
  }

  function refocus(root, key) {
    var again = key && root.querySelector(key);
    if (again) again.focus();
  }

  // the runs table: its rows fetched again while the page is open (only the first page: newest first). They are
  // compared as the browser writes them (the server's text differs in its escapes and quotes), so rows that did
  // not change are left alone; when they do, what had the focus keeps it.
  function liveRows(tbody) {
    var url = tbody.getAttribute("data-live");
    function tick() {
      if (document.hidden) return schedule();
      fetchHtml(url).then(function (html) {
        var fresh = document.createElement("tbody");
        fresh.innerHTML = html;
        if (fresh.innerHTML.trim() === tbody.innerHTML.trim()) return;
        var key = focusKey(tbody);
        tbody.innerHTML = html;
        refocus(tbody, key);
      }).catch(function () {}).then(schedule);
    }
    function schedule() { window.setTimeout(tick, POLL_MS); }
    schedule();
  }

  // a run (or suite run) that has not ended: its section fetched again until it has (replaced only when it
  // changed; what had the focus keeps it)
  function liveSection(section) {
    var url = section.getAttribute("data-refresh");
    var id = section.id;
    function tick() {
      if (document.hidden) return schedule();
      fetchHtml(url).then(function (html) {
        var doc = new DOMParser().parseFromString(html, "text/html");
        var fresh = doc.getElementById(id);
        if (!fresh) return;
        if (fresh.outerHTML === section.outerHTML) return schedule();
        var key = focusKey(section);
        section.replaceWith(fresh);
        section = fresh;
        bindShots(fresh);
        refocus(fresh, key);
        if (fresh.hasAttribute("data-refresh")) schedule();
        else document.title = doc.title;
      }).catch(schedule);
    }
    function schedule() { window.setTimeout(tick, POLL_MS); }
    schedule();
  }

  // screenshots: a click opens the full image in a dialog (Escape closes it); without script the link opens it
  function bindShots(root) {
    var dialog = document.getElementById("enlarge");
    if (!dialog || typeof dialog.showModal !== "function") return;
    root.querySelectorAll("a.shot").forEach(function (link) {
      link.addEventListener("click", function (event) {
        event.preventDefault();
        var img = dialog.querySelector("img");
        var thumb = link.querySelector("img");
        img.src = link.href;
        img.alt = thumb ? thumb.alt : "Screenshot";
        dialog.showModal();
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("tbody[data-live]").forEach(liveRows);
    document.querySelectorAll("[data-refresh]").forEach(liveSection);
    bindShots(document);
  });
})();
