"""Renderers of the monthly contract report: JSON lines, CSV, Markdown and a self-contained HTML page.

Each takes ``CustomerReport`` objects and returns text; nothing here writes
files. The HTML page fetches nothing (inline CSS and SVG), escapes every value
it shows, and prints cleanly on A4.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from collections.abc import Iterable
from datetime import date
from html import escape
from typing import Any

from monitor.core.report import CustomerReport, DayFigures, Month

KPI_LABELS = {
    "response_compliance": "Response compliance",
    "resolution_compliance": "Resolution compliance",
    "first_contact_resolution": "First-contact resolution",
    "csat": "Customer satisfaction (mean rating)",
    "availability": "Availability of every service on target",
}
BREACH_COLUMNS = ("id", "ticket_id", "metric", "priority", "deadline", "at", "service_id")
KPI_COLUMNS = ("name", "target", "achieved", "met")


def file_stem(report: CustomerReport) -> str:
    """``<customer>-<YYYY-MM>``, safe as a file name."""
    record = report.record
    return re.sub(r"[^A-Za-z0-9._-]", "_", f"{record['customer_id']}-{record['period']}")


def render_json(report: CustomerReport) -> str:
    """The ``sla.report`` record as one JSON line."""
    return json.dumps(report.record, ensure_ascii=False) + "\n"


def render_breaches_csv(report: CustomerReport) -> str:
    """The breach list, one row per breach."""
    return _csv(BREACH_COLUMNS, ([b.get(c, "") for c in BREACH_COLUMNS] for b in report.record["breaches"]))


def render_kpis_csv(report: CustomerReport) -> str:
    """The KPI table: name, target, achieved, met (empty without data)."""
    return _csv(KPI_COLUMNS, ([_csv_value(row[c]) for c in KPI_COLUMNS] for row in report.record["kpis"]))


def _csv(header: Iterable[str], rows: Iterable[list[Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def _csv_value(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


# -- text formatting --------------------------------------------------------------------


def _as_percent(ratio: float | None) -> float | None:
    return None if ratio is None else ratio * 100


def _figure(name: str, value: Any) -> str:
    if value is None:
        return "no data"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if name == "csat":
        return f"{math.floor(value * 100) / 100:.2f}"
    return f"{math.floor(value * 100) / 100:.2f} %"


def _target(name: str, value: Any) -> str:
    if name == "availability":
        return "every service"
    return f"≥ {value:g}" + ("" if name == "csat" else " %")


def _met(value: bool | None) -> str:
    return "no data" if value is None else ("met" if value else "missed")


def _month_name(period: str) -> str:
    return date.fromisoformat(period + "-01").strftime("%B %Y")


def _span(period: str) -> str:
    first = date.fromisoformat(period + "-01")
    last = Month.parse(period).last_day
    return f"{first.day} – {last.day} {first.strftime('%B %Y')}"


def _money(amount: str, currency: str) -> str:
    return f"{amount} {currency}"


def _downtime(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min {secs:02d} s" if hours else f"{minutes} min {secs:02d} s"


def _cap_line(report: CustomerReport) -> str:
    credits = report.record["credits"]
    if credits["cap"] is None:
        return "no cap"
    return f"cap {report.contract.cap:g} % of {_money(credits['monthly_fee'], credits['currency'])} = " \
           f"{_money(credits['cap'], credits['currency'])}"


# -- Markdown ---------------------------------------------------------------------------


def render_markdown(report: CustomerReport) -> str:
    """The report as Markdown, for pasting into a ticket or a chat."""
    r = report.record
    credits = r["credits"]
    currency = credits["currency"]
    lines = [
        f"# Service report {_month_name(r['period'])}: {_md(r['name'])}",
        "",
        f"Customer `{_md(r['customer_id'])}`, period {r['period_start']} to {r['period_end']}, due by **{r['due_by']}**.",
        "",
        f"**{'Failing' if r['failing'] else 'On target'}**; credits owed: **{_money(credits['total'], currency)}**.",
        "",
    ]
    if r["improvement_plan_due"]:
        lines += [f"> **Improvement plan due by {r['improvement_plan_due']}**: "
                  f"{r['consecutive_failing_months']} failing months in a row.", ""]
    lines += ["## KPIs", "", "| KPI | target | achieved | |", "|---|---|---|---|"]
    lines += [f"| {KPI_LABELS[k['name']]} | {_target(k['name'], k['target'])} | {_figure(k['name'], k['achieved'])} "
              f"| {_met(k['met'])} |" for k in r["kpis"]]
    figures = r["figures"]
    lines += ["", f"First resolutions in the month: {figures['first_resolutions']}; ratings: {figures['ratings']}.",
              "", "## Clocks", "", "| priority | metric | met | breached | compliance |", "|---|---|---|---|---|"]
    lines += [f"| {_md(c['priority'])} | {c['metric']} | {c['met']} | {c['breached']} | "
              f"{_figure('', _as_percent(c['compliance']))} |" for c in r["clocks"] if c["met"] or c["breached"]]
    lines += ["", f"## Breaches ({len(r['breaches'])})", ""]
    if r["breaches"]:
        lines += ["| ticket | metric | priority | deadline | at |", "|---|---|---|---|---|"]
        lines += [f"| {_md(b['ticket_id'])} | {b['metric']} | {_md(b['priority'])} | {b['deadline']} | {b['at']} |"
                  for b in r["breaches"]]
    else:
        lines.append("None.")
    lines += ["", "## Availability", "", "| service | target | achieved | downtime | |", "|---|---|---|---|---|"]
    lines += [f"| {_md(a['service_id'])} | {a['target']:g} % | {_figure('', a['availability'])} | "
              f"{_downtime(a['downtime_seconds'])} | {a['status'] or 'no outcome yet'} |" for a in r["availability"]]
    lines += ["", "## Service credits", "", "| reason | rate | amount |", "|---|---|---|"]
    lines += [f"| {_md(i['reason'])} | {i['rate']} % | {_money(i['amount'], currency)} |" for i in credits["items"]]
    lines += [f"| **sum** | | {_money(credits['uncapped'], currency)} |",
              f"| {_cap_line(report)} | | |",
              f"| **total** | | **{_money(credits['total'], currency)}** |", ""]
    return "\n".join(lines)


def _md(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


# -- HTML --------------------------------------------------------------------------------


STYLE = """
:root { --ink: #1d2733; --muted: #5b6775; --line: #d5dbe3; --met: #1e7b45; --met-bg: #e3f4ea;
        --miss: #b42318; --miss-bg: #fde8e6; --none: #6b7280; --none-bg: #f1f3f5; --accent: #24527a; }
* { box-sizing: border-box; }
body { font: 14px/1.45 "Helvetica Neue", Arial, sans-serif; color: var(--ink); margin: 0; background: #f6f7f9; }
main { max-width: 210mm; margin: 24px auto; background: #fff; padding: 18mm 16mm; box-shadow: 0 1px 4px #0002; }
header { display: flex; justify-content: space-between; align-items: flex-end; border-bottom: 3px solid var(--accent);
         padding-bottom: 10px; margin-bottom: 18px; }
h1 { font-size: 22px; margin: 0; } h2 { font-size: 16px; margin: 22px 0 8px; color: var(--accent); }
.meta { color: var(--muted); text-align: right; font-size: 13px; }
.summary { display: flex; gap: 12px; margin: 12px 0; }
.tile { flex: 1; border: 1px solid var(--line); border-radius: 6px; padding: 8px 12px; }
.tile b { display: block; font-size: 18px; }
table { width: 100%; border-collapse: collapse; margin: 4px 0 8px; }
th, td { text-align: left; padding: 5px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-size: 12px; text-transform: uppercase; letter-spacing: .03em; color: var(--muted); }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.met { color: var(--met); background: var(--met-bg); } .missed { color: var(--miss); background: var(--miss-bg); }
.nodata { color: var(--none); background: var(--none-bg); }
span.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-weight: 600; font-size: 12px; }
tr.total td { font-weight: 700; border-top: 2px solid var(--ink); }
.notice { border-left: 5px solid var(--miss); background: var(--miss-bg); padding: 10px 14px; margin: 14px 0; }
.small { font-size: 12px; color: var(--muted); }
svg text { font: 10px Arial, sans-serif; fill: var(--muted); }
@page { size: A4; margin: 14mm 12mm; }
@media print {
  body { background: #fff; font-size: 11pt; }
  main { margin: 0; padding: 0; box-shadow: none; max-width: none; }
  h2 { break-after: avoid; } table, svg, .notice, .summary { break-inside: avoid; }
  .met, .missed, .nodata, .notice { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
}
"""


def render_html(report: CustomerReport, *, records_read: int | None = None) -> str:
    """One self-contained HTML page: the report a provider sends to the customer."""
    r = report.record
    credits = r["credits"]
    currency = credits["currency"]
    e = _e
    parts = [
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>Service report {e(r['period'])}: {e(r['name'])}</title>", f"<style>{STYLE}</style></head><body><main>",
        f'<header><div><div class="small">Monthly service report</div><h1 id="customer">{e(r["name"])}</h1>'
        f'<div class="small">customer id {e(r["customer_id"])}</div></div>'
        f'<div class="meta"><div id="period"><b>{e(_month_name(r["period"]))}</b> ({e(r["period"])})</div>'
        f'<div>{e(_span(r["period"]))}</div>'
        f'<div id="due">due by <b>{e(r["due_by"])}</b></div></div></header>',
        '<div class="summary">',
        f'<div class="tile">Month<b id="status" class="{"missed" if r["failing"] else "met"}">'
        f'{"Failing" if r["failing"] else "On target"}</b></div>',
        f'<div class="tile">Breaches<b id="breach-count">{len(r["breaches"])}</b></div>',
        f'<div class="tile">Service credits<b id="credit-total">{e(_money(credits["total"], currency))}</b></div>',
        "</div>",
    ]
    if r["improvement_plan_due"]:
        parts.append(f'<div class="notice" id="improvement"><b>Improvement plan due by {e(r["improvement_plan_due"])}.'
                     f'</b> {e(r["period"])} makes {r["consecutive_failing_months"]} failing months in a row; the contract '
                     f"obliges an improvement plan after {report.rules.improvement_after}, within "
                     f"{report.rules.improvement_days} days of the month's end.</div>")
    parts += ["<h2>KPIs</h2>", '<table id="kpis"><thead><tr><th>KPI</th><th class="num">target</th>'
              '<th class="num">achieved</th><th>result</th></tr></thead><tbody>']
    for k in r["kpis"]:
        css = _css(k["met"])
        parts.append(f'<tr data-kpi="{e(k["name"])}"><td>{e(KPI_LABELS[k["name"]])}</td>'
                     f'<td class="num">{e(_target(k["name"], k["target"]))}</td>'
                     f'<td class="num {css}">{e(_figure(k["name"], k["achieved"]))}</td>'
                     f'<td><span class="badge {css}">{_met(k["met"])}</span></td></tr>')
    figures = r["figures"]
    parts += ["</tbody></table>",
              f'<p class="small">{figures["first_resolutions"]} tickets first resolved in the month; '
              f'{figures["ratings"]} ratings.</p>',
              "<h2>Breaches and compliance by day</h2>", _chart(report.daily)]
    parts += ['<h2>Clocks</h2><table id="clocks"><thead><tr><th>priority</th><th>metric</th><th class="num">met</th>'
              '<th class="num">breached</th><th class="num">compliance</th></tr></thead><tbody>']
    for c in r["clocks"]:
        if c["met"] or c["breached"]:
            parts.append(f'<tr><td>{e(c["priority"])}</td><td>{e(c["metric"])}</td><td class="num">{c["met"]}</td>'
                         f'<td class="num">{c["breached"]}</td><td class="num">{e(_figure("", _as_percent(c["compliance"])))}</td></tr>')
    if not any(c["met"] or c["breached"] for c in r["clocks"]):
        parts.append('<tr><td colspan="5">No clock stopped this month.</td></tr>')
    parts.append("</tbody></table>")
    parts.append(f'<h2>Breaches ({len(r["breaches"])})</h2>')
    if r["breaches"]:
        parts.append('<table id="breaches"><thead><tr><th>ticket</th><th>metric</th><th>priority</th><th>service</th>'
                     "<th>deadline</th><th>breached at</th></tr></thead><tbody>")
        parts += [f'<tr><td>{e(b["ticket_id"])}</td><td>{e(b["metric"])}</td><td>{e(b["priority"])}</td>'
                  f'<td>{e(b.get("service_id") or "—")}</td><td>{_when(b["deadline"])}</td><td>{_when(b["at"])}</td></tr>'
                  for b in r["breaches"]]
        parts.append("</tbody></table>")
    else:
        parts.append('<p id="breaches">No breaches this month.</p>')
    parts += ['<h2>Availability</h2><table id="availability"><thead><tr><th>service</th><th class="num">target</th>'
              '<th class="num">achieved</th><th class="num">downtime</th><th>result</th></tr></thead><tbody>']
    for a in r["availability"]:
        css = _css(None if a["status"] is None else a["status"] == "met")
        parts.append(f'<tr><td>{e(a["service_id"])}</td><td class="num">{a["target"]:g} %</td>'
                     f'<td class="num {css}">{e(_figure("", a["availability"]))}</td>'
                     f'<td class="num">{e(_downtime(a["downtime_seconds"]))}</td>'
                     f'<td><span class="badge {css}">{e(a["status"] or "no outcome yet")}</span></td></tr>')
        for window in a.get("maintenance") or ():
            what = "excluded from downtime" if window["excluded"] else "counted as downtime: " + window.get("reason", "")
            parts.append(f'<tr class="small"><td></td><td colspan="4">maintenance {e(window["starts_at"])} – '
                         f'{e(window["ends_at"])}, announced {e(window["announced_at"])}: {e(what)}</td></tr>')
    parts.append("</tbody></table>")
    parts += ['<h2>Service credits</h2><table id="credits"><thead><tr><th>reason</th><th class="num">rate</th>'
              '<th class="num">amount</th></tr></thead><tbody>']
    parts += [f'<tr><td>{e(i["reason"])}</td><td class="num">{e(i["rate"])} %</td>'
              f'<td class="num">{e(_money(i["amount"], currency))}</td></tr>' for i in credits["items"]]
    if not credits["items"]:
        parts.append('<tr><td colspan="3">No credits this month.</td></tr>')
    parts += [f'<tr><td>sum (rates of the monthly fee {e(_money(credits["monthly_fee"], currency))})</td><td></td>'
              f'<td class="num">{e(_money(credits["uncapped"], currency))}</td></tr>',
              f'<tr><td>{e(_cap_line(report))}</td><td></td><td></td></tr>',
              f'<tr class="total"><td>total owed</td><td></td><td class="num" id="credits-total">'
              f'{e(_money(credits["total"], currency))}</td></tr>', "</tbody></table>"]
    source = f" from {records_read:,} records" if records_read is not None else ""
    parts.append(f'<p class="small">Generated by sla-monitor{e(source)}. Every figure is computed from the published '
                 f"SLA records (ids as listed), which trace back to the ticket logs. Amounts exact, rounded half-up to "
                 f"cents at the end; percentages rounded down.</p>")
    parts.append("</main></body></html>\n")
    return "\n".join(parts)


def _when(text: str) -> str:
    """``2026-11-03 14:21`` with the full RFC 3339 time as a tooltip."""
    short = text[:16].replace("T", " ")
    return f'<time datetime="{_e(text)}" title="{_e(text)}">{_e(short)}</time>'


def _css(met: bool | None) -> str:
    return "nodata" if met is None else ("met" if met else "missed")


def _e(value: Any) -> str:
    return escape(str(value), quote=True)


def _chart(days: tuple[DayFigures, ...]) -> str:
    """Inline SVG: daily breaches as bars (left axis), daily compliance as a line (right axis, 0-100 %)."""
    width, height, left, right, top, bottom = 680, 210, 34, 40, 12, 28
    plot_w, plot_h = width - left - right, height - top - bottom
    n = max(len(days), 1)
    step = plot_w / n
    most = max([d.breaches for d in days] + [1])
    ceiling = max(1, math.ceil(most / 4) * 4) if most > 4 else most
    out = [f'<svg id="chart" viewBox="0 0 {width} {height}" width="100%" role="img" '
           f'aria-label="Daily breaches and compliance" xmlns="http://www.w3.org/2000/svg">']
    for i in range(5):  # grid and right axis (compliance)
        y = top + plot_h * i / 4
        out.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e5e8ec"/>')
        out.append(f'<text x="{left + plot_w + 4}" y="{y + 3:.1f}">{100 - 25 * i} %</text>')
    for value in sorted({0, ceiling, ceiling // 2}):  # left axis (breaches)
        y = top + plot_h * (1 - value / ceiling)
        out.append(f'<text x="{left - 6}" y="{y + 3:.1f}" text-anchor="end">{value}</text>')
    points: list[str] = []
    for i, d in enumerate(days):
        x = left + i * step
        if d.breaches:
            h = plot_h * d.breaches / ceiling
            out.append(f'<rect class="bar" x="{x + step * 0.15:.1f}" y="{top + plot_h - h:.1f}" width="{step * 0.7:.1f}" '
                       f'height="{h:.1f}" fill="#d9534f"><title>{d.day.isoformat()}: {d.breaches} breaches</title></rect>')
        total = d.met + d.breached
        if total:
            share = d.met / total
            cx, cy = x + step / 2, top + plot_h * (1 - share)
            points.append(f"{cx:.1f},{cy:.1f}")
            out.append(f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="2.5" fill="#24527a"><title>{d.day.isoformat()}: '
                       f'{math.floor(share * 10000) / 100:.2f} % of {total} clocks met</title></circle>')
        if d.day.day == 1 or d.day.day % 5 == 0:
            out.append(f'<text x="{x + step / 2:.1f}" y="{height - bottom + 14}" text-anchor="middle">{d.day.day}</text>')
    if len(points) > 1:
        out.append(f'<polyline points="{" ".join(points)}" fill="none" stroke="#24527a" stroke-width="1.5"/>')
    out.append(f'<rect x="{left}" y="{height - 10}" width="8" height="8" fill="#d9534f"/>'
               f'<text x="{left + 12}" y="{height - 2}">breaches per day (left axis)</text>'
               f'<circle cx="{left + 190}" cy="{height - 6}" r="3" fill="#24527a"/>'
               f'<text x="{left + 197}" y="{height - 2}">share of the day\'s clocks met (right axis)</text>')
    out.append("</svg>")
    return "".join(out)
