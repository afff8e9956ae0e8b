"""Generate the JSON Schemas (draft 2020-12) of every input and output message.

Run ``python -m monitor.cli.schemas schemas`` to rewrite ``schemas/``; a test fails
when the committed files differ from what the models generate.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from pydantic import BaseModel, TypeAdapter

from monitor.core.clock_record import SlaClock
from monitor.core.events import ALL_EVENT_TYPES
from monitor.core.records import RECORD_TYPES, SERVICE_RECORD_TYPES
from monitor.core.report_record import SlaReport

DIALECT = "https://json-schema.org/draft/2020-12/schema"


def _file_name(model: type[BaseModel]) -> str:
    kind = model.model_fields["type"].annotation.__args__[0]  # type: ignore[union-attr]
    return f"{kind}.schema.json"


def _either(ticket: type[BaseModel], service: type[BaseModel]) -> dict[str, Any]:
    """One record type published for tickets and for services: exactly one shape applies."""
    kind = ticket.model_fields["type"].annotation.__args__[0]  # type: ignore[union-attr]
    adapter: TypeAdapter[Any] = TypeAdapter(ticket | service)  # type: ignore[arg-type]
    schema = adapter.json_schema(mode="validation")
    return {
        "title": kind,
        "description": f"{kind} of a ticket clock ({ticket.__name__}) or of a service's error budget "
        f"({service.__name__}).",
        "type": "object",
        "properties": {"type": {"const": kind}},
        "required": ["type"],
        "oneOf": schema["anyOf"],
        "$defs": schema["$defs"],
    }


def generate() -> dict[str, dict[str, Any]]:
    """Return file name -> schema for every message type."""
    out: dict[str, dict[str, Any]] = {}
    services = {_file_name(m): m for m in SERVICE_RECORD_TYPES}
    for model in (*ALL_EVENT_TYPES, *RECORD_TYPES, SlaReport, SlaClock):
        name = _file_name(model)
        if name in services:
            schema = _either(model, services[name])
        else:
            schema = model.model_json_schema(mode="validation")
        out[name] = {"$schema": DIALECT, "$id": name, **schema}
    return out


def render(schema: dict[str, Any]) -> str:
    """Serialise a schema the way it is committed."""
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write(folder: Path) -> list[Path]:
    """Write every schema into ``folder``; return the paths written."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, schema in generate().items():
        path = folder / name
        path.write_text(render(schema), encoding="utf-8")
        paths.append(path)
    return paths


if __name__ == "__main__":  # pragma: no cover
    for written in write(Path(sys.argv[1] if len(sys.argv) > 1 else "schemas")):
        print(written)
