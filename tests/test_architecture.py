"""The core never depends on the Discord adapter, and the CLI's ask path never loads discord.py."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_index_imports_neither_discord_nor_bot() -> None:
    offenders = {
        str(path.relative_to(ROOT)): sorted(_imported_modules(path) & {"discord", "bot"})
        for path in (ROOT / "index").rglob("*.py")
    }
    assert {path: names for path, names in offenders.items() if names} == {}


def test_storybot_ask_does_not_import_discord(tmp_path: Path) -> None:
    code = (
        "import sys; from click.testing import CliRunner; from bot.cli import cli;"
        f"args = ['--db', {str(tmp_path / 'x.db')!r}, 'ask', 'why did Musk leave OpenAI?'];"
        "result = CliRunner().invoke(cli, args);"
        "assert result.exit_code == 0, result.output;"
        "print(sorted(m for m in sys.modules if m == 'discord' or m.startswith('discord.')))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert done.stdout.strip() == "[]"
