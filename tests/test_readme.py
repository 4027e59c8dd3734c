"""Every ``pinwheel`` command in README.md runs as written, with exit code 0.

Each shell block of the README runs in order through the real ``pinwheel`` command group, in a
new, empty database (SQLite, and PostgreSQL when configured) with the memory mail backend. Each
command gets an app of its own, built from environment variables, as the console script does.
What the test supplies, and why:

- The database: the blocks' own ``db upgrade`` and ``demo`` prepare it; a block that starts
  with neither gets both first. Lines that are not ``pinwheel`` commands (``createdb``,
  ``export PINWHEEL_DATABASE_URL=…``, ``make``) are not run: the test's database stands in.
- Prompts: a command whose line names a ``PINWHEEL_…PASSWORD`` variable (``users create``,
  ``users set-password``) runs with that variable set, as the README offers.
- Files: the commands that read one (``subscribers import people.csv``, ``issues create
  issue.json``) find a small one in the working directory, written from ``FILES``.
- Servers and loops (``run``, ``serve``, ``scheduler``, ``worker``) would never exit: they are
  run with ``--help``, which checks that the command exists.
"""

from __future__ import annotations

import json
import re
import shlex
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import Result
from flask.cli import ScriptInfo

from campaigns.demo.content import SPOTLIGHT_ISSUE
from engine.app import create_app
from engine.cli import cli
from engine.config import load_settings
from engine.db import get_database
from engine.delivery.registry import reset_memory_backend
from tests.conftest import SECRET

README = Path(__file__).resolve().parent.parent / "README.md"
PROGRAM = ".venv/bin/pinwheel"
LONG_RUNNING = frozenset({"run", "serve", "scheduler", "worker"})
PASSWORD_VARIABLE = re.compile(r"\bPINWHEEL_\w*PASSWORD\b")
PASSWORD = "a readme example passphrase"
FILES: dict[str, Callable[[], str]] = {
    "people.csv": lambda: "email,name\nkim.lee@example.com,Kim Lee\nsam@example.org,Sam Ortiz\n",
    "issue.json": lambda: json.dumps({**SPOTLIGHT_ISSUE, "title": "Spotlight: Runaway Youth"}),
}
_BLOCK = re.compile(r"^```(?:sh|bash|shell)\n(.*?)^```", re.MULTILINE | re.DOTALL)


@dataclass(frozen=True)
class Command:
    """One ``pinwheel`` command line of the README."""

    line: str

    @property
    def args(self) -> list[str]:
        args = shlex.split(self.line, comments=True)[1:]
        return [args[0], "--help"] if args[0] in LONG_RUNNING else args

    @property
    def environ(self) -> dict[str, str]:
        return dict.fromkeys(PASSWORD_VARIABLE.findall(self.line), PASSWORD)


def readme_blocks() -> dict[str, list[Command]]:
    """Return the README's shell blocks that run ``pinwheel``, named by their section."""
    text = README.read_text(encoding="utf-8")
    blocks = {}
    for found in _BLOCK.finditer(text):
        lines = found.group(1).replace("\\\n", " ").splitlines()
        commands = [Command(line.strip()) for line in lines if line.startswith(PROGRAM + " ")]
        if commands:
            headings = re.findall(r"^## (.+)$", text[: found.start()], re.MULTILINE)
            blocks[headings[-1] if headings else "top"] = commands
    return blocks


def test_the_readme_has_commands_to_run() -> None:
    blocks = readme_blocks()
    assert "Command line" in blocks
    names = {command.args[0] for commands in blocks.values() for command in commands}
    assert {"db", "demo", "users", "campaigns", "scheduler", "worker"} <= names


@pytest.mark.parametrize("section", readme_blocks())
def test_readme_commands_run_as_written(
    section: str, empty_database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    for name, content in FILES.items():
        (tmp_path / name).write_text(content(), encoding="utf-8")
    commands = readme_blocks()[section]
    if commands[0].args[:2] != ["db", "upgrade"]:
        commands = [Command(f"{PROGRAM} db upgrade"), Command(f"{PROGRAM} demo"), *commands]
    reset_memory_backend()
    environ = {
        "PINWHEEL_ENV": "testing",
        "PINWHEEL_DATABASE_URL": empty_database,
        "PINWHEEL_SECRET_KEY": SECRET,
        "PINWHEEL_INSTANCE_PATH": str(tmp_path / "instance"),
        "PINWHEEL_MAIL_BACKEND": "memory",
    }
    for command in commands:
        result = _run(command, {**environ, **command.environ})
        assert result.exit_code == 0, f"{command.line}\n{result.output}{_trace(result)}"


def _run(command: Command, environ: dict[str, str]) -> Result:
    app = create_app(load_settings(environ=environ))
    try:
        info = ScriptInfo(create_app=lambda: app)
        return app.test_cli_runner().invoke(cli, command.args, obj=info)
    finally:
        get_database(app).dispose()


def _trace(result: Result) -> str:
    if result.exc_info is None or isinstance(result.exception, SystemExit):
        return ""
    return "".join(traceback.format_exception(*result.exc_info))
