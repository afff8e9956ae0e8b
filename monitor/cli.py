"""The ``sla-monitor`` command line."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import BinaryIO

from monitor import __version__
from monitor.errors import PolicyError
from monitor.instants import to_us
from monitor.policy import Policy, load_policy
from monitor.progress import Progress
from monitor.replay import Rejection, replay_lines
from monitor.summary import describe_policy

EXIT_OK = 0
EXIT_USAGE = 2


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
    replay.add_argument("events", help="JSON-lines events file, or - for stdin")
    replay.set_defaults(run=_replay)

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
        return _run_replay(policy, sys.stdin.buffer, None, args.until)
    try:
        source = open(args.events, "rb")  # noqa: SIM115 - closed below
    except OSError as error:
        print(f"sla-monitor: cannot read events file {args.events}: {error.strerror}", file=sys.stderr)
        return EXIT_USAGE
    with source:
        return _run_replay(policy, source, os.fstat(source.fileno()).st_size, args.until)


def _run_replay(policy: Policy, source: BinaryIO, size: int | None, until: int | None) -> int:
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
            yield raw

    write = out.write
    try:
        for item in replay_lines(policy, counted(), until):
            if isinstance(item, Rejection):
                progress.close()
                err.write(json.dumps(item.as_dict(), ensure_ascii=False) + "\n")
            else:
                write(json.dumps(item, ensure_ascii=False) + "\n")
    finally:
        progress.close()
    out.flush()
    return EXIT_OK


def _policy_check(args: argparse.Namespace) -> int:
    policy = load_policy(args.file)
    at = args.at if args.at is not None else to_us(datetime.now(UTC))
    print(describe_policy(policy, at))
    return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
