"""The folders show the architecture: imports point one way (commands → live / notify / board → core), the core
does no I/O, the notifier's decisions (monitor/notify/alerts.py) are as pure as the core, and the board is a shell
of its own beside the worker."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "monitor"
# What the pure engine must not need: the broker, Faust, Prometheus, the process's settings,
# logging, the environment, the wall clock.
CORE_FORBIDDEN_MODULES = ("faust", "aiokafka", "prometheus_client", "pydantic_settings", "structlog", "logging",
                          "os", "time", "monitor.live", "monitor.cli")
# Calls that read the wall clock or the environment, however the module was imported.
CORE_FORBIDDEN_CALLS = ("now", "utcnow", "today", "getenv", "time", "monotonic", "perf_counter")


# The notifier's decision logic: pure like the core (its shell is service.py, run.py, alertmanager.py).
PURE_NOTIFY = [PACKAGE / "notify" / "alerts.py"]
PURE_NOTIFY_FORBIDDEN = (*CORE_FORBIDDEN_MODULES, "aiohttp", "monitor.notify.service", "monitor.notify.run",
                         "monitor.notify.alertmanager", "monitor.notify.metrics")


def _modules(folder: str) -> list[Path]:
    return sorted((PACKAGE / folder).rglob("*.py"))


def _imports(path: Path) -> set[str]:
    """Every module a file imports, at any depth (function-local imports included)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def _is_under(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def _label(path: Path) -> str:
    return str(path.relative_to(PACKAGE.parent))


def test_every_module_is_in_one_of_the_folders() -> None:
    """monitor/ holds only its package marker; code lives in core/, live/, notify/, board/ or cli/."""
    assert sorted(p.name for p in PACKAGE.glob("*.py")) == ["__init__.py"]
    assert {p.name for p in PACKAGE.iterdir() if p.is_dir() and not p.name.startswith("__")} == \
        {"core", "live", "notify", "board", "cli"}


@pytest.mark.parametrize("path", _modules("core"), ids=_label)
def test_core_imports_no_shell(path: Path) -> None:
    """A core module imports neither the live worker, the commands, Kafka, Faust, Prometheus nor os/time."""
    bad = sorted(m for m in _imports(path) for prefix in CORE_FORBIDDEN_MODULES if _is_under(m, prefix))
    assert not bad, f"{_label(path)} imports {bad}"


@pytest.mark.parametrize("path", _modules("core"), ids=_label)
def test_core_reads_no_clock_nor_environment(path: Path) -> None:
    """A core module calls no datetime.now/today, time.time and reads no os.environ: time is an argument."""
    bad: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Attribute) and node.attr == "environ":
            bad.append(f"line {node.lineno}: .environ")
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                and node.func.attr in CORE_FORBIDDEN_CALLS:
            bad.append(f"line {node.lineno}: .{node.func.attr}()")
    assert not bad, f"{_label(path)}: {bad}"


@pytest.mark.parametrize("path", _modules("live"), ids=_label)
def test_live_imports_no_command(path: Path) -> None:
    """A live module imports nothing from monitor.cli: the commands use the worker, not the other way."""
    bad = sorted(m for m in _imports(path) if _is_under(m, "monitor.cli"))
    assert not bad, f"{_label(path)} imports {bad}"


@pytest.mark.parametrize("path", _modules("live"), ids=_label)
def test_live_imports_no_board(path: Path) -> None:
    """The worker does not need the board: it only publishes the clocks topic the board reads."""
    bad = sorted(m for m in _imports(path) if _is_under(m, "monitor.board"))
    assert not bad, f"{_label(path)} imports {bad}"


@pytest.mark.parametrize("path", _modules("board"), ids=_label)
def test_board_imports_only_the_core_and_itself(path: Path) -> None:
    """A board module imports neither the worker nor the commands: a separate, stateless process."""
    bad = sorted(m for m in _imports(path) for prefix in ("monitor.live", "monitor.notify", "monitor.cli", "faust")
           if _is_under(m, prefix))
    assert not bad, f"{_label(path)} imports {bad}"


@pytest.mark.parametrize("path", _modules("live"), ids=_label)
def test_live_imports_no_notifier(path: Path) -> None:
    """The worker does not depend on the notifier (a separate process beside it)."""
    bad = sorted(m for m in _imports(path) if _is_under(m, "monitor.notify"))
    assert not bad, f"{_label(path)} imports {bad}"


@pytest.mark.parametrize("path", _modules("notify"), ids=_label)
def test_notify_imports_no_command(path: Path) -> None:
    """A notify module imports nothing from monitor.cli (it may use the core and the worker's shared plumbing)."""
    bad = sorted(m for m in _imports(path) if _is_under(m, "monitor.cli"))
    assert not bad, f"{_label(path)} imports {bad}"


@pytest.mark.parametrize("path", PURE_NOTIFY, ids=_label)
def test_notify_decisions_do_no_io(path: Path) -> None:
    """The notifier's decision module imports no Kafka, HTTP, Prometheus, logging nor its own shell, and reads no
    clock: time is an argument."""
    bad = sorted(m for m in _imports(path) for prefix in PURE_NOTIFY_FORBIDDEN if _is_under(m, prefix))
    calls = [node.func.attr for node in ast.walk(ast.parse(path.read_text())) if isinstance(node, ast.Call)
             and isinstance(node.func, ast.Attribute) and node.func.attr in CORE_FORBIDDEN_CALLS]
    assert not bad, f"{_label(path)} imports {bad}"
    assert not calls, f"{_label(path)} calls {calls}"


def test_the_checks_see_imports() -> None:
    """The import parser finds the imports it is meant to forbid (so the checks above are not vacuous)."""
    assert "monitor.core.policy" in _imports(PACKAGE / "live" / "app.py")
    assert "faust" in _imports(PACKAGE / "live" / "app.py")
    assert "monitor.board.board" in _imports(PACKAGE / "board" / "web.py")
    assert "monitor.live.run" in _imports(PACKAGE / "cli" / "main.py")  # imported inside a function
    assert "aiohttp" in _imports(PACKAGE / "notify" / "alertmanager.py")
