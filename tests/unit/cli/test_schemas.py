"""The committed JSON Schemas match the models, and describe real messages."""

from __future__ import annotations

import json
from pathlib import Path

from monitor.cli.schemas import DIALECT, generate, render

SCHEMAS = Path(__file__).resolve().parents[3] / "schemas"


def test_committed_schemas_match_the_models() -> None:
    """schemas/ holds exactly what the models generate (run `make schemas` after changing a model)."""
    expected = {name: render(schema) for name, schema in generate().items()}
    committed = {p.name: p.read_text(encoding="utf-8") for p in SCHEMAS.glob("*.schema.json")}
    assert sorted(committed) == sorted(expected)
    stale = [name for name in expected if committed[name] != expected[name]]
    assert not stale, f"stale schemas, run `make schemas`: {stale}"


def test_every_message_type_has_a_draft_2020_12_schema() -> None:
    """Each input event and output record type has a schema declaring draft 2020-12 and its type constant."""
    names = set(generate())
    assert {"ticket.opened.schema.json", "ticket.priority_changed.schema.json", "sla.warning.schema.json",
            "sla.breach.schema.json", "sla.outcome.schema.json"} <= names
    for name in names:
        schema = json.loads((SCHEMAS / name).read_text())
        assert schema["$schema"] == DIALECT
        assert schema["properties"]["type"]["const"] == name.removesuffix(".schema.json")


def test_messages_validate_against_committed_schemas() -> None:
    """Real events from the example file and the records replay makes from them validate against schemas/."""
    import jsonschema

    from monitor.core.policy import load_policy
    from monitor.core.replay import Rejection, replay_lines

    repo = SCHEMAS.parent
    validators = {
        name.removesuffix(".schema.json"): jsonschema.Draft202012Validator(
            json.loads((SCHEMAS / name).read_text()), format_checker=jsonschema.FormatChecker()
        )
        for name in generate()
    }
    lines = (repo / "examples" / "events.jsonl").read_text().splitlines()
    checked = 0
    for line in lines:
        try:
            message = json.loads(line)
        except json.JSONDecodeError:
            continue
        validators[message["type"]].validate(message)
        checked += 1
    for item in replay_lines(load_policy(repo / "deploy" / "policy.example.yaml"), lines):
        if not isinstance(item, Rejection):
            validators[item["type"]].validate(item)
            checked += 1
    assert checked > 40
