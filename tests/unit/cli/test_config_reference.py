"""docs/configuration.md is generated from the settings model and cannot drift from it."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.cli.settings_doc import DEFAULT_PATH, board_only, main, render
from monitor.live.settings import Settings

REFERENCE = Path(__file__).resolve().parents[3] / "docs" / "configuration.md"


def _row(text: str, variable: str) -> list[str]:
    rows = [line for line in text.splitlines() if line.startswith(f"| `{variable}` |")]
    assert len(rows) == 1, f"{variable}: {len(rows)} rows"
    return [cell.strip() for cell in rows[0].strip("|").split(" | ")]


def test_committed_reference_is_fresh() -> None:
    """The committed reference equals what the model generates (run `python -m monitor.cli.settings_doc`)."""
    assert main(["--check", str(REFERENCE)]) == 0, "docs/configuration.md is stale: run python -m monitor.cli.settings_doc"


def test_the_generator_writes_the_repositorys_reference_by_default() -> None:
    """Without a path, `python -m monitor.cli.settings_doc` writes (and checks) docs/configuration.md of the repository."""
    assert DEFAULT_PATH == REFERENCE


def test_every_setting_has_one_row_with_type_default_and_its_whole_description() -> None:
    """Each field appears once as SLA_<NAME>, with a type, a default and its full, non-empty description."""
    text = render()
    for name, field in Settings.model_fields.items():
        assert field.description, f"{name} has no description"
        _, kind, default, meaning = _row(text, f"SLA_{name.upper()}")
        assert kind
        assert default
        assert meaning == field.description.replace("|", "\\|")
    assert text.count("\n| `SLA_") == len(Settings.model_fields) + len(board_only())


def test_the_boards_own_settings_have_rows_too() -> None:
    """SLA_BOARD_HOST, SLA_BOARD_PORT and the board's other settings are in the reference, under the board."""
    text = render()
    for name, field in board_only().items():
        _, _, _, meaning = _row(text, f"SLA_{name.upper()}")
        assert meaning == (field.description or "").replace("|", "\\|")
    assert text.index("## `sla-monitor board`") < text.index("`SLA_BOARD_HOST`")


def test_rows_show_types_and_defaults_readably() -> None:
    """Integers, optional text, paths and choices are named plainly, defaults in code and unset as 'unset'."""
    text = render()
    assert _row(text, "SLA_WEB_PORT")[1:3] == ["integer", "`6066`"]
    assert _row(text, "SLA_SASL_PASSWORD")[1:3] == ["text, optional", "unset"]
    assert _row(text, "SLA_DATA_DIR")[1:3] == ["path", "`.sla-data`"]
    assert _row(text, "SLA_SECURITY_PROTOCOL")[1].startswith("one of `PLAINTEXT`, `SSL`")


def test_check_fails_on_a_stale_or_missing_file(tmp_path: Path) -> None:
    """--check exits 1 when the file differs or is missing, so a forgotten regeneration fails the suite."""
    stale = tmp_path / "configuration.md"
    stale.write_text(render().replace("SLA_WEB_PORT", "SLA_WEB_PORTX"))
    assert main(["--check", str(stale)]) == 1
    assert main(["--check", str(tmp_path / "missing.md")]) == 1


def test_writing_then_checking_round_trips(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Without --check the reference is written (folders created), and a check of it then passes."""
    target = tmp_path / "docs" / "configuration.md"
    assert main([str(target)]) == 0
    assert target.read_text(encoding="utf-8") == render()
    assert main(["--check", str(target)]) == 0
    assert str(target) in capsys.readouterr().out


def test_unknown_options_are_refused(capsys: pytest.CaptureFixture[str]) -> None:
    """A misspelt --check is a usage error (exit 2), never a silent write."""
    with pytest.raises(SystemExit) as stopped:
        main(["--chek"])
    assert stopped.value.code == 2
    assert "unrecognized arguments" in capsys.readouterr().err
