// The console's one script: places the timeline's tick labels, and keeps a page live.
// A page that can change says so on <body>: data-live (an event stream that says "changed"),
// data-target (the element whose contents ?fragment=1 answers) and data-refresh="off" to stay
// still (an older page of a listing).
"use strict";

function placeTicks(root) {
  root.querySelectorAll(".tl-axis span[data-x]").forEach(function (tick) {
    tick.style.left = tick.dataset.x + "%";
  });
}

function busy(target) {
  // Never reload under someone's hands: a focused field or an opened editor waits.
  var active = document.activeElement;
  if (active && target.contains(active) && /INPUT|TEXTAREA|SELECT/.test(active.tagName)) {
    return true;
  }
  return target.querySelector("details.edit[open]") !== null;
}

function refresh(body, target) {
  if (busy(target)) {
    body.dataset.stale = "1";
    return Promise.resolve();
  }
  var open = Array.prototype.map.call(target.querySelectorAll("details[open]"), function (d) {
    return d.id;
  });
  var search = window.location.search;
  var url = window.location.pathname + (search ? search + "&" : "?") + "fragment=1";
  return fetch(url, { credentials: "same-origin", headers: { Accept: "text/html" } })
    .then(function (answer) {
      if (!answer.ok) { throw new Error(answer.status); }
      return answer.text();
    })
    .then(function (html) {
      target.innerHTML = html;
      open.forEach(function (id) {
        var again = id && document.getElementById(id);
        if (again) { again.open = true; }
      });
      placeTicks(target);
      body.dataset.refreshed = String(Number(body.dataset.refreshed || 0) + 1);
      delete body.dataset.stale;
    })
    .catch(function () { body.dataset.stale = "1"; });
}

function live(body) {
  var target = document.getElementById(body.dataset.target);
  if (!target || !window.EventSource || body.dataset.refresh === "off") { return; }
  var stream = new EventSource(body.dataset.live);
  var pending = null;
  stream.addEventListener("ready", function () { body.dataset.connected = "1"; });
  stream.addEventListener("changed", function (event) {
    if (pending) { return; }
    pending = window.setTimeout(function () {
      pending = null;
      refresh(body, target);
    }, 150);
    if (event.data === "\"end\"") { stream.close(); }
  });
  document.addEventListener("focusout", function () {
    if (body.dataset.stale) { window.setTimeout(function () { refresh(body, target); }, 300); }
  });
}

document.addEventListener("DOMContentLoaded", function () {
  placeTicks(document);
  if (document.body.dataset.live) { live(document.body); }
});
