"""The ``sla-monitor`` command line."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import BinaryIO

from pydantic import ValidationError

from monitor import __version__
from monitor.cli.progress import Progress
from monitor.cli.summary import describe_policy
from monitor.core.errors import PolicyError, UsageError
from monitor.core.instants import to_us
from monitor.core.policy import Policy, load_policy
from monitor.core.replay import Rejection, replay_gc, replay_lines
from monitor.live.settings import Settings

EXIT_OK = 0
EXIT_USAGE = 2
_JSON_LINE = json.JSONEncoder(ensure_ascii=False)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        return int(args.run(args))
    except PolicyError as error:
        print(str(error), file=sys.stderr)
        return EXIT_USAGE
    except UsageError as error:
        print(f"sla-monitor: {error}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (e.g. `| head`); not an error of ours.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sla-monitor", description="Real-time SLA monitoring for service desks.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    replay = commands.add_parser(
        "replay", help="run the SLA engine over a file of events in event time",
        description="Replay JSON-lines events in event time; print warnings, breaches and outcomes as JSON lines.",
    )
    replay.add_argument("--policy", required=True, help="policy YAML file")
    replay.add_argument("--until", type=_instant, help="advance the clock to this RFC 3339 time at the end (default: the last event's time)")
    replay.add_argument("--clocks", action="store_true",
                        help="also print each ticket's sla.clock record after each change (what the worker publishes "
                        "on SLA_TOPIC_CLOCKS); a resolved ticket's tombstone is printed as "
                        '{"type": "sla.clock", "id": "<ticket>:clock", "tombstone": true, ...}')
    replay.add_argument("events", help="JSON-lines events file, or - for stdin")
    replay.set_defaults(run=_replay)

    worker = commands.add_parser(
        "worker", help="run the live monitor on Kafka (settings from SLA_* environment variables or flags)",
        description="Run the live SLA monitor: a faust-streaming worker. Flags override SLA_* environment variables.",
    )
    worker.add_argument("--policy", help="policy YAML file (SLA_POLICY)")
    worker.add_argument("--kafka-bootstrap", help="bootstrap servers (SLA_KAFKA_BOOTSTRAP, default 127.0.0.1:9092)")
    worker.add_argument("--data-dir", help="RocksDB state folder (SLA_DATA_DIR, default ./.sla-data)")
    worker.add_argument("--web-port", type=int, help="health/metrics port (SLA_WEB_PORT, default 6066)")
    worker.add_argument("--instance-id", help="static group membership id (SLA_INSTANCE_ID)")
    worker.add_argument("--app-id", help="consumer group / internal topic prefix (SLA_APP_ID, default sla-monitor)")
    worker.set_defaults(run=_worker)

    board = commands.add_parser(
        "board", help="serve the on-call page of every open clock (reads SLA_TOPIC_CLOCKS)",
        description="Serve the on-call board: open clocks ordered by urgency with live countdowns, read from the "
        "compacted clocks topic (stateless; any number of replicas). Binds 127.0.0.1 unless SLA_BOARD_HOST says "
        "otherwise.",
    )
    board.add_argument("--port", type=int, help="web port (SLA_BOARD_PORT, default 8080)")
    board.add_argument("--kafka-bootstrap", help="bootstrap servers (SLA_KAFKA_BOOTSTRAP, default 127.0.0.1:9092)")
    board.set_defaults(run=_board)

    simulate = commands.add_parser(
        "simulate", help="produce a realistic stream of ticket events to Kafka",
        description="Produce ticket events to Kafka in real time: arrivals, priority mix, late acknowledgements, "
        "pauses, reopenings, tickets never resolved.",
    )
    simulate.add_argument("--rate", type=float, default=2.0, help="new tickets per second (default 2)")
    simulate.add_argument("--duration", type=float, default=None, help="stop after this many seconds (default: run until interrupted)")
    simulate.add_argument("--speed", type=float, default=1.0, help="lifecycle time scale: 2 makes tickets live twice as fast")
    simulate.add_argument("--seed", type=int, default=None, help="random seed for a repeatable stream")
    simulate.add_argument("--kafka-bootstrap", help="bootstrap servers (SLA_KAFKA_BOOTSTRAP)")
    simulate.add_argument("--topic", help="topic (SLA_TOPIC_EVENTS, default tickets.events)")
    simulate.add_argument("--unkeyed", action="store_true", help="send without keys (the worker repartitions)")
    simulate.add_argument("--probe-interval", type=float, default=5.0,
                          help="seconds between probe results of each service and location (0: no probes; default 5)")
    simulate.add_argument("--outage-gap", type=float, default=120.0,
                          help="mean seconds between a service's outages (default 120)")
    simulate.set_defaults(run=_simulate)

    tail = commands.add_parser("tail", help="print warnings, breaches and outcomes from Kafka as they arrive")
    tail.add_argument("--kafka-bootstrap", help="bootstrap servers (SLA_KAFKA_BOOTSTRAP)")
    tail.add_argument("--json", action="store_true", help="print raw JSON records")
    tail.set_defaults(run=_tail)

    explain = commands.add_parser(
        "explain", help="the audit timeline of one ticket: spans, skipped hours, levels, records",
        description="Replay a file of events and show how one ticket's clocks counted: each event, each running "
        "span with the business time it counted and the closed hours it skipped (with the calendar rule), each "
        "level's due instant, and the records replay publishes for it.",
    )
    explain.add_argument("--policy", required=True, help="policy YAML file")
    explain.add_argument("--events", help="JSON-lines events file (all tickets: other tickets' events move the "
                         "event-time clock as in replay), or - for stdin; default: the ticket's messages on the "
                         "input topic (SLA_TOPIC_EVENTS and the repartition topic), replayed on their own")
    explain.add_argument("--kafka-bootstrap", help="bootstrap servers (SLA_KAFKA_BOOTSTRAP)")
    explain.add_argument("--until", type=_instant, help="advance the clock to this RFC 3339 time at the end "
                         "(default: the last event's time)")
    explain.add_argument("--json", action="store_true", help="print the timeline as one JSON object")
    explain.add_argument("ticket", metavar="TICKET_ID", help="the ticket to explain")
    explain.set_defaults(run=_explain)

    notify = commands.add_parser(
        "notify", help="post warnings, breaches and escalations to Alertmanager until their outcome",
        description="Follow the warning, breach and outcome topics and post the alerts to Alertmanager's v2 API: "
        "firing until the clock's outcome, re-posted periodically; the firing set is rebuilt from the topics at "
        "start-up. Flags override SLA_* environment variables.",
    )
    notify.add_argument("--alertmanager", dest="alertmanager_url", metavar="URL",
                        help="Alertmanager base URL (SLA_ALERTMANAGER_URL, default http://127.0.0.1:9093)")
    notify.add_argument("--kafka-bootstrap", help="bootstrap servers (SLA_KAFKA_BOOTSTRAP)")
    notify.add_argument("--web-port", dest="notify_web_port", type=int, metavar="PORT",
                        help="health/metrics port (SLA_NOTIFY_WEB_PORT, default 6067)")
    notify.set_defaults(run=_notify)

    report = commands.add_parser(
        "report", help="the monthly contract report of each customer, from published records",
        description="Build the monthly service report of each contract customer (KPIs, breaches, availability, "
        "service credits, improvement plan) from the records sla-monitor published: a file of them "
        "(what `replay` prints) or the output topics on Kafka.",
    )
    report.add_argument("--policy", required=True, help="policy YAML file with a contracts section")
    report.add_argument("--month", required=True, help="YYYY-MM in the policy's report zone, or 'previous' (the "
                        "month before the current one)")
    report.add_argument("--customer", help="only this contract customer (default: every one, in policy order)")
    report.add_argument("--records", help="JSON-lines records file, or - for stdin (default: read the output "
                        "topics from Kafka)")
    report.add_argument("--format", choices=("json", "csv", "html", "markdown"),
                        help="json (default when stdout is not a terminal), markdown (default on a terminal), "
                        "html or csv (both need --out)")
    report.add_argument("--out", help="folder to write one file per customer (CSV: two) instead of stdout")
    report.add_argument("--publish", action="store_true", help="also send each JSON report to the reports topic "
                        "(SLA_TOPIC_REPORTS, default sla.reports), keyed by its id")
    report.add_argument("--kafka-bootstrap", help="bootstrap servers (SLA_KAFKA_BOOTSTRAP)")
    report.set_defaults(run=_report)

    policy = commands.add_parser("policy", help="work with policy files")
    policy_commands = policy.add_subparsers(dest="policy_command", metavar="COMMAND", required=True)
    check = policy_commands.add_parser("check", help="validate a policy and summarise it")
    check.add_argument("file", help="policy YAML file")
    check.add_argument("--at", type=_instant, help="reference time for 'next opening' (default: now)")
    check.set_defaults(run=_policy_check)
    return parser


def _instant(text: str) -> int:
    try:
        return to_us(datetime.fromisoformat(text.replace("Z", "+00:00")))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an RFC 3339 time with an offset: {text!r}") from None


def _replay(args: argparse.Namespace) -> int:
    policy = load_policy(args.policy)
    if args.events == "-":
        return _run_replay(policy, sys.stdin.buffer, None, args.until, streaming=True, clocks=args.clocks)
    with _open_events(args.events) as source:
        return _run_replay(policy, source, os.fstat(source.fileno()).st_size, args.until, clocks=args.clocks)


def _open_events(path: str) -> BinaryIO:
    """An events file opened for reading; a UsageError (exit 2, one line) when it cannot be."""
    try:
        return open(path, "rb")  # the caller closes it
    except OSError as error:
        raise UsageError(f"cannot read events file {path}: {error.strerror}") from None


def _run_replay(policy: Policy, source: BinaryIO, size: int | None, until: int | None, *,
                streaming: bool = False, clocks: bool = False) -> int:
    """Replay ``source``; records are flushed line by line when it is a stream (stdin), so a
    reader downstream sees each as it is decided, and at least every 4,096 input lines otherwise."""
    out = sys.stdout
    err = sys.stderr
    progress = Progress(err, size)
    done = 0
    lines = 0

    def counted() -> Iterator[bytes]:
        nonlocal done, lines
        for raw in source:
            done += len(raw)
            lines += 1
            if not lines % 4096:
                progress.update(done, lines)
                out.flush()
            yield raw

    write = out.write
    encode = _JSON_LINE.encode  # what json.dumps(item, ensure_ascii=False) does, without a new encoder each time
    try:
        with replay_gc():
            for item in replay_lines(policy, counted(), until, clocks=clocks):
                if isinstance(item, Rejection):
                    progress.close()
                    err.write(encode(item.as_dict()) + "\n")
                    err.flush()
                else:
                    write(encode(item) + "\n")
                    if streaming:
                        out.flush()
    finally:
        progress.close()
    out.flush()
    return EXIT_OK


def _settings(args: argparse.Namespace) -> Settings:
    overrides = {
        name: getattr(args, name)
        for name in ("policy", "kafka_bootstrap", "data_dir", "web_port", "instance_id", "app_id", "alertmanager_url",
                     "notify_web_port")
        if getattr(args, name, None) is not None
    }
    if getattr(args, "topic", None):
        overrides["topic_events"] = args.topic
    try:
        return Settings(**overrides)
    except ValidationError as error:
        raise UsageError("invalid settings: " + "; ".join(
            f"SLA_{'_'.join(map(str, e['loc'])).upper()}: {e['msg']}" if e["loc"] else e["msg"].removeprefix("Value error, ")
            for e in error.errors())) from None


def _worker(args: argparse.Namespace) -> int:
    from monitor.live.run import run_worker

    settings = _settings(args)
    policy = load_policy(settings.policy)
    return run_worker(settings, policy)


def _board(args: argparse.Namespace) -> int:
    from monitor.board.run import run_board
    from monitor.board.settings import BoardSettings

    overrides = {name: value for name, value in (("board_port", args.port), ("kafka_bootstrap", args.kafka_bootstrap))
                 if value is not None}
    try:
        settings = BoardSettings(**overrides)
    except ValidationError as error:
        raise UsageError("invalid settings: " + "; ".join(
            f"SLA_{'_'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in error.errors())) from None
    return run_board(settings)


def _notify(args: argparse.Namespace) -> int:
    from monitor.notify.run import run_notify

    return run_notify(_settings(args))


def _simulate(args: argparse.Namespace) -> int:
    import asyncio

    from monitor.cli.simulate import simulate

    settings = _settings(args)
    asyncio.run(simulate(settings, rate=args.rate, duration=args.duration, speed=args.speed,
                         seed=args.seed, keyed=not args.unkeyed, probe_interval=args.probe_interval,
                         outage_gap=args.outage_gap))
    return EXIT_OK


def _tail(args: argparse.Namespace) -> int:
    import asyncio

    from monitor.cli.tail import tail

    asyncio.run(tail(_settings(args), raw=args.json))
    return EXIT_OK


def _explain(args: argparse.Namespace) -> int:
    from monitor.core.explain import as_dict, explain, render_text

    policy = load_policy(args.policy)
    where = args.events
    if args.events is None:
        timeline = explain(policy, _ticket_messages(_settings(args), args.ticket), args.ticket, args.until)
        where = "the input topics"
    elif args.events == "-":
        timeline = explain(policy, sys.stdin.buffer, args.ticket, args.until)
    else:
        with _open_events(args.events) as source:
            timeline = explain(policy, source, args.ticket, args.until)
    if not timeline.events:
        raise UsageError(f"no event of ticket {args.ticket!r} in {where}")
    print(json.dumps(as_dict(timeline, policy), ensure_ascii=False) if args.json else render_text(timeline, policy))
    return EXIT_OK


def _ticket_messages(settings: Settings, ticket: str) -> list[bytes]:
    """The ticket's messages on the input topic and the repartition topic."""
    import asyncio

    from monitor.cli.report_kafka import read_to_end
    from monitor.live.kafka import internal_topics

    found: dict[bytes, str] = {}  # an unkeyed message is on both topics, the same bytes: kept once
    wanted = ticket.encode()

    def feed(where: str, raw: bytes) -> None:
        try:
            body = json.loads(raw)
        except ValueError:
            return
        if isinstance(body, dict) and body.get("ticket_id") == ticket:
            found.setdefault(raw, str(body.get("occurred_at", "")))

    repartition, _ = internal_topics(settings)
    # Keyed messages are picked by key; unkeyed ones (moved to the repartition topic by the worker) by body.
    asyncio.run(read_to_end(settings, (settings.topic_events, repartition), feed,
                            keys=lambda key: key is None or key == wanted, hint="--events FILE"))
    # Partitions interleave, so the ticket's own events are replayed in event-time order.
    return sorted(found, key=lambda raw: _event_time(found[raw]))


def _event_time(text: str) -> float:
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return float("inf")  # unreadable: last (replay will say why it is refused)


def _report(args: argparse.Namespace) -> int:
    from monitor.cli.report_cli import run_report

    return run_report(args, _settings(args))


def _policy_check(args: argparse.Namespace) -> int:
    policy = load_policy(args.file)
    at = args.at if args.at is not None else to_us(datetime.now(UTC))
    print(describe_policy(policy, at))
    return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
