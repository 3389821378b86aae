"""The core never depends on the Discord adapter, its tiers import only downwards, the CLI's ask path never
loads discord.py or the network, `bot/` keeps its layers (config under both front-ends and the only reader of
the environment, the CLI and the Discord bot apart, plain modules without discord, one composition root), and
the tests read nothing outside the repository (a clone in an empty folder has nothing beside it)."""

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


def test_storybot_ask_loads_neither_discord_nor_the_network(tmp_path: Path) -> None:
    heavy = ("discord", "aiohttp", "feedparser", "index.web.fetcher", "index.feeds")
    code = (
        "import sys; from click.testing import CliRunner; from bot.cli import cli;"
        f"args = ['--db', {str(tmp_path / 'x.db')!r}, 'ask', 'why did Musk leave OpenAI?'];"
        "result = CliRunner().invoke(cli, args);"
        "assert result.exit_code == 0, result.output;"
        f"print(sorted(m for m in sys.modules if any(m == h or m.startswith(h + '.') for h in {heavy!r})))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert done.stdout.strip() == "[]"


# -- the tiers of index/: sources and engine on models and errors, web on sources too, the facade on top

_GROUND = ("index.models", "index.errors")
_TIERS: dict[str, tuple[str, ...]] = {
    "index.models": (),
    "index.errors": (),
    "index.sources": ("index.sources", *_GROUND),
    "index.engine": ("index.engine", *_GROUND),
    "index.web": ("index.web", "index.sources", *_GROUND),
}
"""What each tier of `index/` may import from `index`; the facade modules (library, answers, repeats, feeds
and the package itself) may import any tier, and no tier imports them."""

_FRONT_END_MAY_IMPORT = ("feeds", "web")
"""The modules of `index` a front-end may import besides the package itself (which re-exports the rest)."""


def _within(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == prefix or name.startswith(prefix + ".") for prefix in prefixes)


def _is_module(name: str) -> bool:
    path = ROOT.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def _imported_names(source: str) -> set[str]:
    """Every module a source imports, in full (`from index.engine import store` names index.engine.store)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(
                f"{node.module}.{alias.name}"
                for alias in node.names
                if _is_module(f"{node.module}.{alias.name}")
            )
    return names


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _tier_violations(module: str, source: str) -> list[str]:
    """The `index` modules that `module` imports although its tier may not (none for a facade module)."""
    tier = next((tier for tier in _TIERS if _within(module, (tier,))), None)
    if tier is None:
        return []
    return sorted(
        name
        for name in _imported_names(source)
        if _within(name, ("index",)) and not _within(name, _TIERS[tier])
    )


def _front_end_violations(source: str) -> list[str]:
    """The `index` modules a front-end imports that are neither the facade package nor feeds and web."""
    allowed = tuple(f"index.{name}" for name in _FRONT_END_MAY_IMPORT)
    return sorted(
        name
        for name in _imported_names(source)
        if _within(name, ("index",)) and name != "index" and not _within(name, allowed)
    )


def _light_package_violations(source: str) -> list[str]:
    """What `index/__init__.py` imports of the network: index.web (aiohttp) or index.feeds (feedparser)."""
    return sorted(name for name in _imported_names(source) if _within(name, ("index.web", "index.feeds")))


@pytest.mark.parametrize(
    ("module", "code"),
    [
        ("index.models", "from index.errors import SourceError"),
        ("index.errors", "import index"),
        ("index.sources.readers", "from index.engine.tokenizer import Tokenizer"),
        ("index.sources.origins", "import index.web.fetcher"),
        ("index.engine.store", "from index.sources.readers import read_path"),
        ("index.engine.store", "from index.library import StoryIndex"),
        ("index.engine.searcher", "from index import answers"),
        ("index.web.remote", "from index import StoryIndex"),
        ("index.web.fetcher", "from index.engine.database import now"),
        ("index.sources.html", "def lazy():\n    from index.feeds import parse_feed"),
    ],
)
def test_the_tier_check_flags_imports_up_or_across(module: str, code: str) -> None:
    assert _tier_violations(module, code) != []


@pytest.mark.parametrize(
    ("module", "code"),
    [
        ("index.models", "from dataclasses import dataclass"),
        ("index.sources.origins", "from index.errors import SourceError\nfrom index.sources import readers"),
        (
            "index.engine.store",
            "from index.engine.terms import paragraph_terms\nfrom index.models import Article",
        ),
        ("index.web.remote", "from index.sources.origins import load_origin\nfrom index.web import policy"),
        ("index.library", "from index.engine.store import IndexWriter\nfrom index.answers import compose"),
        ("index.feeds", "from index.library import StoryIndex\nfrom index.web.remote import read_link"),
    ],
)
def test_the_tier_check_passes_imports_down(module: str, code: str) -> None:
    assert _tier_violations(module, code) == []


def test_each_tier_of_index_imports_only_below_it() -> None:
    offenders = {
        _module_name(path): _tier_violations(_module_name(path), path.read_text(encoding="utf-8"))
        for path in sorted((ROOT / "index").rglob("*.py"))
    }
    assert {module: names for module, names in offenders.items() if names} == {}


def test_the_sub_packages_of_index_hold_only_a_docstring() -> None:
    for package in ("sources", "engine", "web"):
        body = ast.parse((ROOT / "index" / package / "__init__.py").read_text(encoding="utf-8")).body
        assert len(body) == 1, package
        assert isinstance(body[0], ast.Expr), package
        assert isinstance(body[0].value, ast.Constant), package


@pytest.mark.parametrize(
    ("code", "flagged"),
    [
        ("from index.web.policy import FetchPolicy", True),
        ("from index import feeds", True),
        ("from index.feeds import FeedPoller", True),
        ("from index.engine.posting_cache import DEFAULT_BUDGET_BYTES", False),
    ],
)
def test_the_light_package_check(code: str, flagged: bool) -> None:
    assert (_light_package_violations(code) != []) is flagged


def test_the_index_package_never_imports_the_network() -> None:
    assert _light_package_violations((ROOT / "index" / "__init__.py").read_text(encoding="utf-8")) == []


@pytest.mark.parametrize(
    ("code", "flagged"),
    [
        ("from index.engine.posting_cache import DEFAULT_BUDGET_BYTES", True),
        ("from index.sources.origins import UPLOAD_PREFIX", True),
        ("from index.models import view_scopes", True),
        ("import index.engine.searcher", True),
        ("from index import StoryIndex, view_scopes", False),
        ("from index.feeds import FeedPoller", False),
        ("from index.web.policy import FetchPolicy\nfrom index.web.remote import read_link", False),
    ],
)
def test_the_front_end_check(code: str, flagged: bool) -> None:
    assert (_front_end_violations(code) != []) is flagged


def test_front_ends_import_the_facade_not_the_tiers_below_it() -> None:
    offenders = {
        str(path.relative_to(ROOT)): _front_end_violations(path.read_text(encoding="utf-8"))
        for path in sorted((ROOT / "bot").rglob("*.py"))
    }
    assert {path: names for path, names in offenders.items() if names} == {}


_PATH_CALLS = {"Path", "PurePath", "joinpath", "join"}
_CLIMBS = {"parent", "parents"}


def _path_parts(node: ast.AST) -> list[str]:
    """A string literal's components read as a path ("../data/x": .., data, x); [] if not a string."""
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


def _parent_chain(node: ast.AST) -> int:
    """How many `.parent` in a row end at `node` (`here.parent.parent`: 2)."""
    count = 0
    while isinstance(node, ast.Attribute) and node.attr == "parent":
        count, node = count + 1, node.value
    return count


def _outside_references(source: str, depth: int) -> list[tuple[int, str]]:
    """Where test code names a folder outside the repository, for a file `depth` path parts below its root.

    Flags `..` in a path (a string literal or a joined part), `ROOT.parent`, `os.pardir`, and `Path(__file__)`
    climbed above the root: every way to a folder beside the repository climbs, whatever that folder's name.
    Docstrings are not paths.
    """
    tree = ast.parse(source)
    docstrings = {id(node.value) for node in ast.walk(tree) if isinstance(node, ast.Expr)}
    found: set[tuple[int, str]] = set()
    for node in ast.walk(tree):
        line = getattr(node, "lineno", 0)
        parts = [] if id(node) in docstrings else _path_parts(node)
        if len(parts) > 1 and ".." in parts:
            found.add((line, "a string spelling a path outside the repository"))
        if isinstance(node, ast.Attribute) and (
            node.attr == "pardir" or (node.attr in _CLIMBS and _name(node.value) == "ROOT")
        ):
            found.add((line, f"{node.attr} of the repository"))
        climbed = _climb(node) if isinstance(node, ast.Attribute | ast.Subscript) else None
        if climbed is not None and climbed > depth:
            found.add((line, "Path(__file__) climbed above the repository"))
        if _parent_chain(node) >= depth:  # from a name holding the file's folder, or one above it
            found.add((line, "a path climbed as far as the repository's root"))
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
            operands: list[ast.expr] = [node.left, node.right]
        elif isinstance(node, ast.Call) and _name(node.func) in _PATH_CALLS:
            operands = list(node.args)
        else:
            continue
        named = {part for operand in operands for part in _path_parts(operand)}
        if ".." in named:
            found.add((line, "a path joined outside the repository"))
    return sorted(found)


@pytest.mark.parametrize(
    "code",
    [
        'DATA = ROOT.parent / "evalsets"',
        'STORY = Path(__file__).parents[3] / "evalsets" / "story" / "musk-twitter-ai-gpus.txt"',
        'DATA = Path(__file__).parent.parent.parent.parent / "evalsets" / "eval"',
        'DATA = ROOT / ".." / "evalsets"',
        'HERE = Path(__file__).parent\nDATA = HERE.parent.parent.parent / "evalsets"',
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


# -- the layers of bot/: config below both front-ends, the CLI and the Discord bot apart, one composition root

_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)


def _eager_imported_names(source: str) -> set[str]:
    """The modules a source imports when it is itself imported: every import outside a function body."""
    tree = ast.parse(source)
    lazy = {
        id(inner)
        for function in ast.walk(tree)
        if isinstance(function, _FUNCTIONS)
        for inner in ast.walk(function)
        if inner is not function
    }
    eager = [node for node in ast.walk(tree) if id(node) not in lazy]
    imports = [node for node in eager if isinstance(node, ast.Import | ast.ImportFrom)]
    module = ast.Module(body=imports, type_ignores=[])
    return _imported_names(ast.unparse(module))


def _is_stdlib(name: str) -> bool:
    return name.split(".", maxsplit=1)[0] in sys.stdlib_module_names


_CONFIG_MAY_IMPORT = ("index", "index.web", "index.web.policy")
"""What `bot/config.py` may import besides the standard library: the facade and the light fetch policy."""


def _config_violations(source: str) -> list[str]:
    """What `bot/config.py` imports beyond the standard library, `index` and `index.web.policy`, and any
    import of `bot` (even inside a function); a lazy third-party import (platformdirs) is tolerated."""
    anywhere = {name for name in _imported_names(source) if _within(name, ("bot",))}
    eager = {
        name
        for name in _eager_imported_names(source)
        if not _is_stdlib(name) and name not in _CONFIG_MAY_IMPORT and name != "__future__"
    }
    return sorted(anywhere | eager)


_ENVIRONMENT = {"environ", "environb", "getenv", "getenvb", "putenv", "unsetenv"}


def _environment_reads(source: str) -> list[int]:
    """The lines where a module reads the environment itself: `os.environ[...]`, `os.environ.get`,
    `os.getenv`, `from os import environ`, or a click `envvar=` other than --db's STORYBOT_DB. Handing
    `os.environ` whole to a call (`Settings.from_env(os.environ)`, `dict(os.environ)`) is not a read."""
    tree = ast.parse(source)
    handed = {
        id(argument)
        for call in ast.walk(tree)
        if isinstance(call, ast.Call)
        for argument in call.args
        if isinstance(argument, ast.Attribute) and argument.attr == "environ"
    }
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in _ENVIRONMENT and _name(node.value) == "os":
            read = id(node) not in handed
        elif isinstance(node, ast.ImportFrom) and node.module == "os":
            read = bool({alias.name for alias in node.names} & _ENVIRONMENT)
        elif isinstance(node, ast.Call):
            read = any(
                keyword.arg == "envvar"
                and not (isinstance(keyword.value, ast.Constant) and keyword.value.value == "STORYBOT_DB")
                for keyword in node.keywords
            )
        else:
            read = False
        if read:
            lines.add(getattr(node, "lineno", 0))
    return sorted(lines)


def _cli_violations(source: str) -> list[str]:
    """What a module of `bot/cli/` imports of the Discord bot outside a function (only `run` may load it)."""
    return sorted(
        name for name in _eager_imported_names(source) if _within(name, ("bot.discord_app", "discord"))
    )


def _discord_app_violations(module: str, source: str) -> list[str]:
    """What a module of `bot/discord_app/` may not import: the CLI anywhere; discord in the plain modules;
    in `replies/`, anything but the standard library, discord, `index` and `replies` itself."""
    names = _imported_names(source)
    found = {name for name in names if _within(name, ("bot.cli",))}
    if module in _PLAIN_MODULES:
        found |= {name for name in names if _within(name, ("discord",))}
    if _within(module, ("bot.discord_app.replies",)):
        allowed = ("discord", "index", "bot.discord_app.replies", "__future__")
        found |= {name for name in names if not _is_stdlib(name) and not _within(name, allowed)}
    return sorted(found)


_PLAIN_MODULES = tuple(
    f"bot.discord_app.{name}" for name in ("admission", "lifecycle", "picks", "progress", "service")
)
"""The Discord bot's modules that are plain asyncio, tested without discord.py."""


def _story_index_constructions(source: str) -> list[str]:
    """The functions (by name; "<module>" outside any) that call `StoryIndex(...)` in a source."""
    tree = ast.parse(source)
    found: list[str] = []

    def visit(node: ast.AST, where: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Call) and _name(child.func) == "StoryIndex":
                found.append(where)
            visit(child, child.name if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef) else where)

    visit(tree, "<module>")
    return found


@pytest.mark.parametrize(
    ("code", "flagged"),
    [
        ("from bot.cli import default_database", True),
        ("def lazy():\n    from bot.discord_app.admission import Limit", True),
        ("import click", True),
        ("from dotenv import load_dotenv", True),
        ("from platformdirs import user_data_dir", True),
        ("from index.web.fetcher import fetch", True),
        ("from index.engine.posting_cache import DEFAULT_BUDGET_BYTES", True),
        ("from index import DEFAULT_CACHE_BYTES\nfrom index.web.policy import FetchPolicy\nimport re", False),
        ("from index.web import policy", False),
        ("def default_database():\n    from platformdirs import user_data_dir", False),
    ],
)
def test_the_config_check(code: str, flagged: bool) -> None:
    assert (_config_violations(code) != []) is flagged


def test_bot_config_imports_only_the_standard_library_index_and_the_fetch_policy() -> None:
    assert _config_violations((ROOT / "bot" / "config.py").read_text(encoding="utf-8")) == []


@pytest.mark.parametrize(
    ("code", "flagged"),
    [
        ('token = os.environ["DISCORD_TOKEN"]', True),
        ('token = os.environ.get("DISCORD_TOKEN")', True),
        ('level = os.getenv("LOG_LEVEL")', True),
        ("from os import environ", True),
        ("for key in os.environ:\n    pass", True),
        ('@click.option("--top", envvar="STORYBOT_TOP")\ndef f(): ...', True),
        ("settings = Settings.from_env(os.environ)", False),
        ("run_bot(dict(os.environ))", False),
        ('@click.option("--db", envvar="STORYBOT_DB")\ndef f(): ...', False),
        ('raw = environ.get("DISCORD_TOKEN", "")', False),
    ],
)
def test_the_environment_check(code: str, flagged: bool) -> None:
    assert (_environment_reads(code) != []) is flagged


def test_only_bot_config_reads_the_environment() -> None:
    offenders = {
        str(path.relative_to(ROOT)): _environment_reads(path.read_text(encoding="utf-8"))
        for path in sorted((ROOT / "bot").rglob("*.py"))
        if path != ROOT / "bot" / "config.py"
    }
    assert {path: lines for path, lines in offenders.items() if lines} == {}


@pytest.mark.parametrize(
    ("code", "flagged"),
    [
        ("from bot.discord_app.runner import main", True),
        ("import discord", True),
        ("if TYPE_CHECKING:\n    from bot.discord_app.client import StoryBot", True),
        ("def run():\n    from bot.discord_app.runner import main", False),
        ("from bot.config import fetch_policy\nfrom index import StoryIndex", False),
    ],
)
def test_the_cli_check(code: str, flagged: bool) -> None:
    assert (_cli_violations(code) != []) is flagged


def test_the_cli_loads_the_discord_bot_only_inside_run() -> None:
    offenders = {
        str(path.relative_to(ROOT)): _cli_violations(path.read_text(encoding="utf-8"))
        for path in sorted((ROOT / "bot" / "cli").rglob("*.py"))
    }
    assert {path: names for path, names in offenders.items() if names} == {}


@pytest.mark.parametrize(
    ("module", "code", "flagged"),
    [
        ("bot.discord_app.client", "from bot.cli import scope_for", True),
        ("bot.discord_app.runner", "def lazy():\n    import bot.cli.output", True),
        ("bot.discord_app.admission", "import discord", True),
        ("bot.discord_app.service", "from discord import Interaction", True),
        ("bot.discord_app.progress", "def lazy():\n    from discord.ext import commands", True),
        ("bot.discord_app.replies.for_members", "from bot.discord_app.service import StoryService", True),
        ("bot.discord_app.replies.limits", "from bot.config import Settings", True),
        ("bot.discord_app.replies.notices", "import click", True),
        ("bot.discord_app.client", "import discord\nfrom bot.config import Settings", False),
        ("bot.discord_app.lifecycle", "import asyncio\nfrom index import StoryIndex", False),
        (
            "bot.discord_app.replies.for_admins",
            "import discord\nfrom index import Usage\nfrom bot.discord_app.replies.limits import Reply",
            False,
        ),
    ],
)
def test_the_discord_app_check(module: str, code: str, flagged: bool) -> None:
    assert (_discord_app_violations(module, code) != []) is flagged


def test_the_discord_app_keeps_its_layers() -> None:
    offenders = {
        _module_name(path): _discord_app_violations(_module_name(path), path.read_text(encoding="utf-8"))
        for path in sorted((ROOT / "bot" / "discord_app").rglob("*.py"))
    }
    assert {module: names for module, names in offenders.items() if names} == {}


@pytest.mark.parametrize(
    ("code", "found"),
    [
        ("index = StoryIndex(path)", ["<module>"]),
        ("class StoryBot:\n    def __init__(self):\n        self.index = StoryIndex(path)", ["__init__"]),
        (
            "async def open_bot(settings):\n    index = index_module.StoryIndex(settings.database)",
            ["open_bot"],
        ),
        ("def f(index: StoryIndex) -> StoryIndex:\n    return index", []),
    ],
)
def test_the_story_index_check(code: str, found: list[str]) -> None:
    assert _story_index_constructions(code) == found


def test_the_discord_bot_opens_its_index_in_one_place() -> None:
    constructions = [
        (_module_name(path), where)
        for path in sorted((ROOT / "bot" / "discord_app").rglob("*.py"))
        for where in _story_index_constructions(path.read_text(encoding="utf-8"))
    ]
    assert constructions == [("bot.discord_app.runner", "open_bot")]
