"""The core never depends on the Discord adapter, the CLI's ask path never loads discord.py, and the tests
read nothing outside the repository (a clone in an empty folder has no ../shared)."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

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


_PATH_CALLS = {"Path", "PurePath", "joinpath", "join"}
_CLIMBS = {"parent", "parents"}


def _path_parts(node: ast.AST) -> list[str]:
    """A string literal's components read as a path ("../shared/x": .., shared, x); [] if not a string."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return re.split(r"[/\\]", node.value)
    return []


def _name(node: ast.AST) -> str:
    """The last name in `node` (`Path`, `joinpath`, `parent`), or ""."""
    return getattr(node, "id", None) or getattr(node, "attr", None) or ""


def _climb(node: ast.AST) -> int | None:
    """How many folders an expression climbs from `__file__` (`Path(__file__).parents[2]`: 3), if it does."""
    levels = 0
    while True:
        if isinstance(node, ast.Attribute) and node.attr == "parent":
            levels, node = levels + 1, node.value
        elif (
            isinstance(node, ast.Subscript)
            and _name(node.value) == "parents"
            and isinstance(node.slice, ast.Constant)
            and type(node.slice.value) is int
        ):
            levels, node = levels + node.slice.value + 1, getattr(node.value, "value", node.value)
        elif isinstance(node, ast.Call) and _name(node.func) == "resolve":
            node = getattr(node.func, "value", node.func)
        elif isinstance(node, ast.Call) and _name(node.func) == "Path" and len(node.args) == 1:
            node = node.args[0]
        else:
            return levels if _name(node) == "__file__" else None


def _outside_references(source: str, depth: int) -> list[tuple[int, str]]:
    """Where test code names a folder outside the repository, for a file `depth` path parts below its root.

    Flags `..` in a path, `shared` joined onto a `.parent`, a string literal spelling a path through `..` or
    `shared` (a URL's path aside), `ROOT.parent`, `os.pardir`, and `Path(__file__)` climbed above the root.
    "shared" as a scope (`scope="shared"`, `SHARED_SCOPE`, "scope:shared") and docstrings are not paths.
    """
    tree = ast.parse(source)
    docstrings = {id(node.value) for node in ast.walk(tree) if isinstance(node, ast.Expr)}
    found: set[tuple[int, str]] = set()
    for node in ast.walk(tree):
        line = getattr(node, "lineno", 0)
        parts = [] if id(node) in docstrings else _path_parts(node)
        if len(parts) > 1 and (".." in parts or ("shared" in parts and not parts[0].endswith(":"))):
            found.add((line, "a string spelling a path outside the repository"))
        if isinstance(node, ast.Attribute) and (
            node.attr == "pardir" or (node.attr in _CLIMBS and _name(node.value) == "ROOT")
        ):
            found.add((line, f"{node.attr} of the repository"))
        climbed = _climb(node) if isinstance(node, ast.Attribute | ast.Subscript) else None
        if climbed is not None and climbed > depth:
            found.add((line, "Path(__file__) climbed above the repository"))
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
            operands: list[ast.expr] = [node.left, node.right]
        elif isinstance(node, ast.Call) and _name(node.func) in _PATH_CALLS:
            operands = list(node.args)
        else:
            continue
        named = {part for operand in operands for part in _path_parts(operand)}
        climbs = any(isinstance(inner, ast.Attribute) and inner.attr in _CLIMBS for inner in ast.walk(node))
        if ".." in named or ("shared" in named and climbs):
            found.add((line, "a path joined outside the repository"))
    return sorted(found)


@pytest.mark.parametrize(
    "code",
    [
        'SHARED = ROOT.parent / "shared"',
        'STORY = Path(__file__).parents[3] / "shared" / "story" / "musk-twitter-ai-gpus.txt"',
        'HERE = Path(__file__).parent\nDATA = HERE.parent.parent.parent / "shared" / "eval"',
        'DATA = os.path.join(os.path.dirname(__file__), "..", "..", "data")',
        "TOP = Path(__file__).resolve().parent.parent.parent.parent",
    ],
)
def test_the_outside_check_flags_paths_beside_the_repository(code: str) -> None:
    assert _outside_references(code, depth=3) != []


@pytest.mark.parametrize(
    "code",
    [
        'index.add_articles(articles, "shared")',
        'await slash(servers, owner, "admin add", servers.a, url=url, scope="shared")',
        "assert view_scopes(None) == (SHARED_SCOPE,)",
        'assert "scope:shared" in README',
        'scratch = tmp_path / "shared"',
        'STORY = ROOT / "index" / "data" / "musk-twitter-ai-gpus.txt"',
        'FIXTURES = Path(__file__).parent / "fixtures"\nROOT = Path(__file__).resolve().parents[2]',
        'path.parent.mkdir(parents=True)\nassert text == "Once upon a time..."',
    ],
)
def test_the_outside_check_passes_shared_scopes_and_paths_inside(code: str) -> None:
    assert _outside_references(code, depth=3) == []


def test_tests_read_nothing_outside_the_repository() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{line}: {reason}"
        for path in sorted((ROOT / "tests").rglob("*.py"))
        for line, reason in _outside_references(
            path.read_text(encoding="utf-8"), depth=len(path.relative_to(ROOT).parts)
        )
    ]
    assert found == [], "\n".join(found)
