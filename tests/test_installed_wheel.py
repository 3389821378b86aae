"""storybot as a user installs it: a wheel built from this tree, installed into a fresh virtual environment,
run from a folder holding `.env`. `storybot stats` and `storybot run` read that `.env` (python-dotenv
searching from the working directory, not from the installed code), and nothing comes from the checkout.

The wheel is built offline (`--no-build-isolation`, with the setuptools the test extra installs) and installed
with `--no-deps --no-index`; the fresh environment finds the dependencies through a `.pth` file naming the
running interpreter's site-packages, so the test needs no network and works inside CI's `.venv`.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import site
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

from tests.fakediscord import FakeDiscord

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The `bin` folder of a fresh virtual environment holding storybot installed from its wheel."""
    scratch = tmp_path_factory.mktemp("wheel")
    # Built from a copy of what the wheel is made of, so no build/ or egg-info is left in the checkout and
    # no stale build file can reach the wheel.
    source = scratch / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy2(ROOT / name, source / name)
    for package in ("bot", "index"):
        shutil.copytree(ROOT / package, source / package, ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q",
         "-w", str(scratch / "dist"), str(source)],
        check=True, capture_output=True, cwd=scratch, env=_clean_environment(),
    )  # fmt: skip
    (wheel,) = (scratch / "dist").glob("storybot-*.whl")
    environment = scratch / "venv"
    venv.EnvBuilder(with_pip=False).create(environment)
    python = environment / "bin" / "python"
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        check=True, capture_output=True, text=True, env=_clean_environment(),
    ).stdout.strip()  # fmt: skip
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-index", "-q",
         str(wheel)],
        check=True, capture_output=True, cwd=scratch, env=_clean_environment(),
    )  # fmt: skip
    # Installed before the dependencies are visible, so pip cannot take the checkout's own install for this
    # one. The .pth adds only paths: no .pth of theirs runs, so the checkout's editable install stays out.
    dependencies = {*site.getsitepackages(), sysconfig.get_path("purelib"), sysconfig.get_path("platlib")}
    Path(purelib, "storybot-test-dependencies.pth").write_text("\n".join(sorted(dependencies)) + "\n")
    return environment / "bin"


def _clean_environment() -> dict[str, str]:
    """The environment without storybot's settings and without anything pointing back at the checkout."""
    prefixes = ("STORYBOT_", "DISCORD_", "PYTHON", "VIRTUAL_ENV")
    return {key: value for key, value in os.environ.items() if not key.startswith(prefixes)}


def test_the_installed_storybot_is_the_wheel_not_the_checkout(installed: Path, tmp_path: Path) -> None:
    done = subprocess.run(
        [str(installed / "python"), "-c", "import bot, index; print(bot.__file__); print(index.__file__)"],
        check=True, capture_output=True, text=True, cwd=tmp_path, env=_clean_environment(),
    )  # fmt: skip
    for line in done.stdout.splitlines():
        assert Path(line).is_relative_to(installed.parent), line


def test_storybot_stats_reads_the_dotenv_of_the_working_directory(installed: Path, tmp_path: Path) -> None:
    database = tmp_path / "from-dotenv.db"
    (tmp_path / ".env").write_text(f"# the operator's settings\nSTORYBOT_DB={database}\n", encoding="utf-8")

    done = subprocess.run(
        [str(installed / "storybot"), "stats"],
        check=True, capture_output=True, text=True, cwd=tmp_path, env=_clean_environment(),
    )  # fmt: skip

    assert done.stdout.splitlines()[:3] == [f"database: {database}", "sources: 1", "paragraphs: 15"]
    assert database.is_file()


def test_the_environment_beats_the_dotenv_and_env_file_replaces_it(installed: Path, tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(f"STORYBOT_DB={tmp_path / 'dotenv.db'}\n", encoding="utf-8")
    chosen = tmp_path / "chosen.env"
    chosen.write_text(f"STORYBOT_DB={tmp_path / 'chosen.db'}\n", encoding="utf-8")
    storybot = str(installed / "storybot")

    def database(*args: str, **extra: str) -> str:
        done = subprocess.run(
            [storybot, *args, "stats"],
            check=True, capture_output=True, text=True, cwd=tmp_path, env={**_clean_environment(), **extra},
        )  # fmt: skip
        return done.stdout.splitlines()[0]

    assert database(STORYBOT_DB=str(tmp_path / "env.db")) == f"database: {tmp_path / 'env.db'}"
    assert database("--env-file", str(chosen)) == f"database: {tmp_path / 'chosen.db'}"
    assert (
        database("--db", str(tmp_path / "flag.db"), STORYBOT_DB="x.db") == f"database: {tmp_path / 'flag.db'}"
    )


async def test_storybot_run_reads_the_token_and_endpoints_from_the_dotenv(
    installed: Path, tmp_path: Path
) -> None:
    async with FakeDiscord(token="MTIz.dotenv-token") as fake:
        (tmp_path / ".env").write_text(
            f"DISCORD_TOKEN={fake.token}\nSTORYBOT_DB={tmp_path / 'bot.db'}\n"
            f"DISCORD_API_BASE={fake.api_base}\nDISCORD_GATEWAY_URL={fake.gateway_url}\n",
            encoding="utf-8",
        )
        log_path = tmp_path / "run.log"
        with log_path.open("wb") as log:
            process = await asyncio.create_subprocess_exec(
                str(installed / "storybot"),
                "run",
                cwd=tmp_path,
                env=_clean_environment(),
                stdout=log,
                stderr=log,
            )
            try:
                connected = await fake.wait_until_connected(timeout=30)
            finally:
                process.send_signal(signal.SIGTERM)
                code = await asyncio.wait_for(process.wait(), timeout=15)

    logged = log_path.read_text(encoding="utf-8")
    assert connected is not None
    assert code == 0, logged
    assert f"index at {tmp_path / 'bot.db'}" in logged
    assert "DISCORD_TOKEN: is required" not in logged and fake.token not in logged
