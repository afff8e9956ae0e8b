"""docs/configuration.md is generated from the settings model and cannot drift from it."""

from __future__ import annotations

from pathlib import Path

from monitor.settings import Settings
from monitor.settings_doc import main, render

REFERENCE = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"


def test_committed_reference_is_fresh() -> None:
    """The committed reference equals what the model generates (run `python -m monitor.settings_doc`)."""
    assert main(["--check", str(REFERENCE)]) == 0


def test_every_setting_has_a_row_with_its_default_and_meaning() -> None:
    """Each field appears once as SLA_<NAME> with its default and non-empty description."""
    text = render()
    for name, field in Settings.model_fields.items():
        rows = [line for line in text.splitlines() if line.startswith(f"| `SLA_{name.upper()}` |")]
        assert len(rows) == 1, name
        assert field.description
        assert field.description.split(" ")[0] in rows[0]
    assert "| `SLA_WEB_PORT` | integer | `6066` |" in text
    assert "| `SLA_SASL_PASSWORD` | text, optional | unset |" in text


def test_check_fails_on_a_stale_file(tmp_path: Path) -> None:
    """--check exits 1 when the file differs, so a forgotten regeneration fails the suite."""
    stale = tmp_path / "configuration.md"
    stale.write_text(render().replace("SLA_WEB_PORT", "SLA_WEB_PORTX"))
    assert main(["--check", str(stale)]) == 1
