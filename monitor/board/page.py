"""The board's one page: HTML, stylesheet and script, all served by the board itself (no CDN, no fonts).

The script opens ``/api/stream`` with the view's filters (taken from the URL,
so a bookmark is a view), redraws the rows and counts on every push, and ticks
the countdowns every second in the browser. Instants are shown in the viewer's
time zone with the offset. ``?kiosk=1`` is the wall mode: large type, no form.
"""

from __future__ import annotations

PAGE_HTML = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>SLA board</title>
<link rel="stylesheet" href="/board.css">
<link rel="icon" href="data:,">
</head>
<body>
<header>
  <h1>SLA board</h1>
  <span id="status" class="status">connecting…</span>
  <span id="clock" class="clock"></span>
</header>
<section id="counts" class="counts" aria-label="counts"></section>
<form id="filters" class="filters" role="search" autocomplete="off">
  <label>priority <input id="f-priority" name="priority" list="priorities" size="8"></label>
  <label>customer <input id="f-customer" name="customer" size="12"></label>
  <label>service <input id="f-service" name="service" size="12"></label>
  <label>metric <select id="f-metric" name="metric">
    <option value="">any</option><option value="response">response</option>
    <option value="resolution">resolution</option></select></label>
  <label>ticket <input id="f-ticket" name="ticket" size="12"></label>
  <a id="clear" href="/">clear</a>
  <datalist id="priorities"></datalist>
</form>
<table id="clocks">
  <thead><tr><th>ticket</th><th>priority</th><th>customer</th><th>service</th><th>metric</th>
  <th>level</th><th>time left</th><th class="deadline">deadline</th><th>target used</th></tr></thead>
  <tbody id="rows"></tbody>
</table>
<p id="more" class="more"></p>
<script src="/board.js"></script>
</body>
</html>
"""

PAGE_CSS = """
:root { color-scheme: light dark; --breach: #c62828; --warn: #ef6c00; --ok: #2e7d32; --muted: #777; }
body { font-family: system-ui, sans-serif; margin: 0 1rem 1rem; font-size: 15px; }
header { display: flex; align-items: baseline; gap: 1rem; }
h1 { font-size: 1.4em; margin: .6rem 0; }
.status { color: var(--muted); }
.status.down { color: var(--breach); font-weight: bold; }
.clock { margin-left: auto; color: var(--muted); font-variant-numeric: tabular-nums; }
.counts { display: flex; flex-wrap: wrap; gap: .5rem 1.2rem; margin: .3rem 0 .6rem; }
.counts b { font-size: 1.3em; }
.counts .breached b { color: var(--breach); }
.filters { display: flex; flex-wrap: wrap; gap: .4rem 1rem; margin-bottom: .6rem; }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
th, td { text-align: left; padding: .25rem .5rem; border-bottom: 1px solid #8884; white-space: nowrap; }
tr.breached td { background: #c6282822; }
tr.breached td.left { color: var(--breach); font-weight: bold; }
tr.paused td.left { color: var(--muted); font-style: italic; }
td.level.warning { color: var(--warn); }
td.level.breach, td.level.escalation { color: var(--breach); font-weight: bold; }
.bar { display: inline-block; width: 8em; height: .8em; background: #8883; vertical-align: middle; }
.bar > span { display: block; height: 100%; background: var(--ok); }
.bar.hot > span { background: var(--warn); }
.bar.over > span { background: var(--breach); }
.pct { display: inline-block; width: 3.5em; text-align: right; }
.more { color: var(--muted); }
body.kiosk { font-size: 28px; }
body.kiosk .filters, body.kiosk #clear, body.kiosk .deadline { display: none; }
body.kiosk th, body.kiosk td { padding: .35rem .6rem; }
"""

PAGE_JS = r"""
"use strict";
(function () {
  const FILTERS = ["priority", "customer", "service", "metric", "ticket"];
  const params = new URLSearchParams(location.search);
  const kiosk = params.get("kiosk") === "1";
  let skew = 0;          // server clock minus this browser's, from each push
  let source = null;
  let shown = [];        // [row, tr] of the rows on the page

  if (kiosk) document.body.classList.add("kiosk");
  for (const name of FILTERS) {
    const input = document.getElementById("f-" + name);
    input.value = params.get(name) || "";
    input.addEventListener("change", changed);
    if (input.tagName === "INPUT") input.addEventListener("input", debounce(changed, 400));
  }
  document.getElementById("filters").addEventListener("submit", (e) => { e.preventDefault(); changed(); });

  function debounce(fn, ms) { let t = null; return () => { clearTimeout(t); t = setTimeout(fn, ms); }; }

  function viewQuery() {
    const q = new URLSearchParams();
    for (const name of FILTERS) {
      const value = document.getElementById("f-" + name).value.trim();
      if (value) q.set(name, value);
    }
    return q;
  }

  function changed() {
    const q = viewQuery();
    if (kiosk) q.set("kiosk", "1");
    const text = q.toString();
    history.replaceState(null, "", text ? "?" + text : location.pathname);
    connect();
  }

  function connect() {
    if (source) source.close();
    source = new EventSource("/api/stream?" + viewQuery().toString());
    source.addEventListener("clocks", (e) => render(JSON.parse(e.data)));
    source.onerror = () => status("reconnecting…", true);
  }

  function status(text, down) {
    const el = document.getElementById("status");
    el.textContent = text;
    el.classList.toggle("down", !!down);
  }

  function pad(n, w) { return String(n).padStart(w || 2, "0"); }

  function local(ms) {
    const d = new Date(ms);
    const off = -d.getTimezoneOffset();
    const sign = off >= 0 ? "+" : "-";
    return d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()) + " " + pad(d.getHours()) +
      ":" + pad(d.getMinutes()) + ":" + pad(d.getSeconds()) + " " + sign + pad(Math.floor(Math.abs(off) / 60)) +
      ":" + pad(Math.abs(off) % 60);
  }

  function duration(seconds) {
    const s = Math.floor(Math.abs(seconds));
    const d = Math.floor(s / 86400), h = Math.floor(s % 86400 / 3600), m = Math.floor(s % 3600 / 60);
    const text = h + ":" + pad(m) + ":" + pad(s % 60);
    return d ? d + "d " + text : text;
  }

  function cell(tr, text, cls) {
    const td = document.createElement("td");
    td.textContent = text == null ? "" : text;
    if (cls) td.className = cls;
    tr.appendChild(td);
    return td;
  }

  function render(view) {
    skew = view.now_ms - Date.now();
    status(view.ready ? "live" : view.status, !view.ready);
    const counts = document.getElementById("counts");
    counts.replaceChildren();
    const add = (label, value, cls) => {
      const span = document.createElement("span");
      if (cls) span.className = cls;
      const b = document.createElement("b");
      b.textContent = value;
      span.append(label + " ", b);
      span.dataset.count = label;
      counts.appendChild(span);
    };
    add("open", view.matching);
    add("breached", view.breached, "breached");
    for (const [name, n] of Object.entries(view.counts.priority)) add(name, n, "priority");
    for (const [name, n] of Object.entries(view.counts.metric)) add(name, n, "metric");
    const list = document.getElementById("priorities");
    list.replaceChildren(...Object.keys(view.counts.priority).map((p) => new Option(p)));
    const body = document.getElementById("rows");
    const fresh = document.createDocumentFragment();
    shown = view.rows.map((row) => {
      const tr = document.createElement("tr");
      tr.dataset.ticket = row.ticket_id;
      tr.dataset.metric = row.metric;
      cell(tr, row.ticket_id, "ticket");
      cell(tr, row.priority, "priority");
      cell(tr, row.customer_id, "customer");
      cell(tr, row.service_id, "service");
      cell(tr, row.metric, "metric");
      cell(tr, row.level === "none" ? "" : row.level, "level " + row.level.split(":")[0]);
      cell(tr, "", "left");
      cell(tr, row.state === "paused" ? "paused" : local(row.deadline_ms), "deadline");
      const used = cell(tr, "", "used");
      const bar = document.createElement("span");
      bar.className = "bar";
      bar.appendChild(document.createElement("span"));
      const pct = document.createElement("span");
      pct.className = "pct";
      used.append(bar, pct);
      fresh.appendChild(tr);
      return [row, tr];
    });
    body.replaceChildren(fresh);
    const more = document.getElementById("more");
    more.textContent = (view.matching > view.rows.length ? "showing the " + view.rows.length + " most urgent of " +
      view.matching + " open clocks" : "") + (view.skipped ? " · " + view.skipped +
      " records skipped: the board is full (SLA_BOARD_MAX_TICKETS)" : "");
    tick();
  }

  function tick() {
    const now = Date.now() + skew;
    document.getElementById("clock").textContent = local(now);
    for (const [row, tr] of shown) {
      let left, fraction;
      const paused = row.state === "paused";
      if (paused) {
        left = row.target_seconds - row.used_seconds;
        fraction = row.used_seconds / row.target_seconds;
      } else {
        left = (row.deadline_ms - now) / 1000;
        // Business time is interpolated between the last update and the deadline (the board has no calendar).
        const span = row.deadline_ms - row.updated_ms;
        const done = span > 0 ? Math.min(1, Math.max(0, (now - row.updated_ms) / span)) : 1;
        fraction = (row.used_seconds + (row.target_seconds - row.used_seconds) * done) / row.target_seconds;
      }
      const breached = paused ? left <= 0 : now >= row.deadline_ms;
      tr.classList.toggle("breached", breached);
      tr.classList.toggle("paused", paused);
      const leftCell = tr.querySelector("td.left");
      leftCell.textContent = (paused ? "paused · " : "") + (left < 0 || (breached && !paused) ?
        "overdue " + duration(-left) : duration(left));
      leftCell.dataset.seconds = String(Math.round(left));
      const pct = Math.min(100, Math.max(0, fraction * 100));
      const bar = tr.querySelector(".bar");
      bar.firstChild.style.width = pct.toFixed(1) + "%";
      bar.classList.toggle("hot", pct >= 75 && !breached);
      bar.classList.toggle("over", breached);
      tr.querySelector(".pct").textContent = Math.floor(pct) + " %";
    }
  }

  window.slaBoard = { render: render, tick: tick };  // for bench/board_bench.py's timings
  setInterval(tick, 1000);
  connect();
})();
"""
