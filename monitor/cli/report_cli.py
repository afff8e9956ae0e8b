"""``sla-monitor report``: read records, build the month's reports, write and publish them."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from monitor.cli.progress import Progress
from monitor.cli.report_render import (
    file_stem,
    render_breaches_csv,
    render_html,
    render_json,
    render_kpis_csv,
    render_markdown,
)
from monitor.core.errors import UsageError
from monitor.core.instants import to_us
from monitor.core.policy import load_policy
from monitor.core.report import CustomerReport, Month, RecordError, ReportBuilder, check_request, month_of_us
from monitor.live.settings import Settings

EXIT_OK = 0


def run_report(args: argparse.Namespace, settings: Settings, now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> int:
    """Run the command; usage problems raise UsageError (exit 2, one line)."""
    policy = load_policy(args.policy)
    now_us = to_us(now())
    month = _month(args.month, policy.report_zone, now_us)
    check_request(policy, month, args.customer, now_us)
    kind = args.format or ("markdown" if sys.stdout.isatty() else "json")
    if kind in ("html", "csv") and not args.out:
        raise UsageError(f"--format {kind} writes files: give --out DIR")
    builder = ReportBuilder(policy, month, None if args.customer is None else [args.customer])
    if args.records is not None:
        _read_file(builder, args.records)
    else:
        _read_topics(builder, settings)
    reports = builder.reports()
    _write(reports, kind, Path(args.out) if args.out else None, builder.records)
    if args.publish:
        from monitor.cli.report_kafka import publish_reports

        sent = asyncio.run(publish_reports(settings, [r.record for r in reports]))
        print(f"report: published {sent} reports to {settings.topic_reports}", file=sys.stderr)
    return EXIT_OK


def _month(text: str, zone: object, now_us: int) -> Month:
    if text == "previous":
        return month_of_us(zone, now_us).shifted(-1)  # type: ignore[arg-type]
    try:
        return Month.parse(text)
    except ValueError as error:
        raise UsageError(f"--month: {error}, or 'previous'") from None


def _feed(builder: ReportBuilder, where: str, raw: bytes) -> None:
    try:
        record = json.loads(raw)
    except ValueError as error:
        raise UsageError(f"{where}: not valid JSON ({error}); give the records `sla-monitor replay` prints") from None
    try:
        builder.add(record)
    except RecordError as error:
        raise UsageError(f"{where}: {error.reason}") from None


def _read_file(builder: ReportBuilder, name: str) -> None:
    if name == "-":
        _read_lines(builder, sys.stdin.buffer, "stdin", None)
        return
    try:
        source = open(name, "rb")  # noqa: SIM115 - closed below
    except OSError as error:
        raise UsageError(f"cannot read records file {name}: {error.strerror}") from None
    with source:
        _read_lines(builder, source, name, os.fstat(source.fileno()).st_size)


def _read_lines(builder: ReportBuilder, source: BinaryIO, name: str, size: int | None) -> None:
    progress = Progress(sys.stderr, size)
    done = 0
    try:
        for number, raw in enumerate(source, start=1):
            done += len(raw)
            if not number % 4096:
                progress.update(done, number)
            if raw.strip():
                _feed(builder, f"{name} line {number}", raw)
    finally:
        progress.close()


def _read_topics(builder: ReportBuilder, settings: Settings) -> None:
    from monitor.cli.report_kafka import read_topics, source_topics

    progress = Progress(sys.stderr, None)
    try:
        count = asyncio.run(read_topics(settings, lambda where, raw: _feed(builder, where, raw),
                                        lambda read, total: progress.update(read, read) if total else None))
    except OSError as error:
        raise UsageError(f"cannot read from Kafka at {settings.kafka_bootstrap}: {error}") from None
    finally:
        progress.close()
    print(f"report: read {count} records from {', '.join(source_topics(settings))}", file=sys.stderr)


def _write(reports: list[CustomerReport], kind: str, out: Path | None, records: int) -> None:
    if out is None:
        render = render_json if kind == "json" else render_markdown
        sys.stdout.write(("" if kind == "json" else "\n").join(render(r) for r in reports))
        sys.stdout.flush()
        return
    try:
        out.mkdir(parents=True, exist_ok=True)
        for report in reports:
            stem = file_stem(report)
            files = {
                "json": {f"{stem}.json": render_json(report)},
                "markdown": {f"{stem}.md": render_markdown(report)},
                "html": {f"{stem}.html": render_html(report, records_read=records)},
                "csv": {f"{stem}-breaches.csv": render_breaches_csv(report), f"{stem}-kpis.csv": render_kpis_csv(report)},
            }[kind]
            for file_name, text in files.items():
                (out / file_name).write_text(text, encoding="utf-8")
                print(f"report: wrote {out / file_name}", file=sys.stderr)
    except OSError as error:
        raise UsageError(f"cannot write to {out}: {error.strerror}") from None
