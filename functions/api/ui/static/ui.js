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

  // the runs table: its rows fetched again while the page is open (only the first page: newest first)
  function liveRows(tbody) {
    var url = tbody.getAttribute("data-live");
    function tick() {
      if (document.hidden) return schedule();
      fetchHtml(url).then(function (html) {
        if (html.trim() !== tbody.innerHTML.trim()) tbody.innerHTML = html;
      }).catch(function () {}).then(schedule);
    }
    function schedule() { window.setTimeout(tick, POLL_MS); }
    schedule();
  }

  // a run (or suite run) that has not ended: its section fetched again until it has
  function liveSection(section) {
    var url = section.getAttribute("data-refresh");
    var id = section.id;
    function tick() {
      if (document.hidden) return schedule();
      fetchHtml(url).then(function (html) {
        var doc = new DOMParser().parseFromString(html, "text/html");
        var fresh = doc.getElementById(id);
        if (!fresh) return;
        var focused = document.activeElement && document.activeElement.id;
        section.replaceWith(fresh);
        section = fresh;
        bindShots(fresh);
        if (focused && document.getElementById(focused)) document.getElementById(focused).focus();
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
