"""Running the command line in-process as the CLI tests do, and the shape every one-line error must have."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner, Result

from bot.cli import cli


def storybot(db: Path, *args: str, stdin: str | None = None, env: dict[str, str] | None = None) -> Result:
    """`storybot --db DB ARGS...`, with `stdin` as its input and `env` added to the environment."""
    return CliRunner().invoke(cli, ["--db", str(db), *args], input=stdin, env=env)


def assert_one_line_error(result: Result, *fragments: str, exit_code: int | None = 1) -> None:
    """One `Error: ...` line on stderr holding every fragment, no traceback, and the exit status
    (`exit_code`, or any failure when None)."""
    if exit_code is None:
        assert result.exit_code != 0
    else:
        assert result.exit_code == exit_code, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: ")
    for fragment in fragments:
        assert fragment in lines[0]
    assert "Traceback" not in result.output
