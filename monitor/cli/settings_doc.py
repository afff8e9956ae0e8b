"""Generate the configuration reference (docs/configuration.md) from the settings model.

    python -m monitor.cli.settings_doc            write docs/configuration.md
    python -m monitor.cli.settings_doc --check    exit 1 when the committed file is stale
    python -m monitor.cli.settings_doc [--check] PATH   the same with another file

A test runs the check, so the reference cannot drift from ``Settings``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

from pydantic.fields import FieldInfo

from monitor.board.settings import BoardSettings
from monitor.live.settings import Settings

DEFAULT_PATH = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"

HEADER = """\
# Configuration reference

Generated from `monitor/live/settings.py` by `python -m monitor.cli.settings_doc`; do not
edit by hand (a test fails when this file is stale).

Every setting of `sla-monitor worker` (and of `simulate` / `tail`, which read the
Kafka and topic settings, and of `notify`, which reads those and the
`SLA_ALERTMANAGER_*` / `SLA_NOTIFY_*` ones) is an environment variable with the prefix `SLA_`.
Flags of `worker` (`--policy`, `--kafka-bootstrap`, `--data-dir`, `--web-port`,
`--instance-id`) override the variables of the same name. The SLA contract
itself is the policy file (see the README's "Policy file").

| variable | type | default | meaning |
|---|---|---|---|
"""


def _type_name(annotation: Any) -> str:
    """Readable type: ``float``, ``path, optional``, ``one of `SSL`, `SASL_SSL```."""
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is Literal:
        return "one of " + ", ".join(f"`{a}`" for a in args)
    if args and type(None) in args:
        inner = [a for a in args if a is not type(None)]
        return ", ".join(_type_name(a) for a in inner) + ", optional"
    return {Path: "path", str: "text", int: "integer", float: "number", bool: "true/false"}.get(
        annotation, getattr(annotation, "__name__", str(annotation))
    )


def _default(field: FieldInfo) -> str:
    value = field.get_default(call_default_factory=True)
    if value is None:
        return "unset"
    return f"`{value}`"


BOARD_HEADER = """
## `sla-monitor board`

The board reads the Kafka connection and security settings above (`SLA_KAFKA_BOOTSTRAP`,
`SLA_SECURITY_PROTOCOL`, `SLA_SASL_*`, `SLA_SSL_*`, `SLA_TOPIC_CLOCKS`, `SLA_LOG_*`) and
these of its own; `--port` and `--kafka-bootstrap` override the variables of the same name.

| variable | type | default | meaning |
|---|---|---|---|
"""


def board_only() -> dict[str, FieldInfo]:
    """The board's settings that the worker does not have."""
    return {name: field for name, field in BoardSettings.model_fields.items() if name not in Settings.model_fields}


def _rows(fields: dict[str, FieldInfo]) -> str:
    rows = []
    for name, field in fields.items():
        env = f"SLA_{name.upper()}"
        description = (field.description or "").replace("|", "\\|")
        rows.append(f"| `{env}` | {_type_name(field.annotation)} | {_default(field)} | {description} |")
    return "\n".join(rows) + "\n"


def render() -> str:
    """The Markdown reference of every setting."""
    return HEADER + _rows(dict(Settings.model_fields)) + BOARD_HEADER + _rows(board_only())


def main(argv: list[str]) -> int:
    """Write the reference, or with --check compare it with the file; 0 when done or fresh, 1 when stale."""
    parser = argparse.ArgumentParser(
        prog="python -m monitor.cli.settings_doc", description="Generate the configuration reference from Settings."
    )
    parser.add_argument("--check", action="store_true", help="only compare; exit 1 when the file is stale")
    parser.add_argument("path", nargs="?", type=Path, default=DEFAULT_PATH, help="default: docs/configuration.md")
    args = parser.parse_args(argv)
    path: Path = args.path
    text = render()
    if args.check:
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            print(f"{path} is stale: run python -m monitor.cli.settings_doc", file=sys.stderr)
            return 1
        return 0
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    print(path)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main(sys.argv[1:]))
