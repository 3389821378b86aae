"""Shared by the Discord tests: discord.py imported once without its `audioop` warning, and the `scene`."""

from __future__ import annotations

import warnings
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio

with warnings.catch_warnings():
    # discord.py 2.7 imports the deprecated stdlib `audioop`; pyproject turns warnings into errors.
    warnings.filterwarnings("ignore", "'audioop' is deprecated", DeprecationWarning)
    import discord  # noqa: F401

from tests.bot.discord_app.harness import Scene, open_scene
from tests.fakediscord import fake as fake_module
from tests.fakediscord.spec.validator import SPEC_TOTALS


@pytest_asyncio.fixture
async def scene(tmp_path: Path) -> AsyncIterator[Scene]:
    """The fake Discord and its world, with the bot running on a new database (the built-in story)."""
    async with open_scene(tmp_path) as opened:
        yield opened


@pytest.fixture(autouse=True)
def requests_match_discords_spec(request: pytest.FixtureRequest) -> Iterator[None]:
    """After each test, every request each fake Discord received matches Discord's OpenAPI description
    (tests that send malformed requests on purpose say so with `spec_problems_expected`)."""
    fake_module.CREATED.clear()
    yield
    made, checked = list(fake_module.CREATED), sum(fake.spec_checked for fake in fake_module.CREATED)
    fake_module.CREATED.clear()
    SPEC_TOTALS["requests"] += checked
    if request.node.get_closest_marker("spec_problems_expected") is None:
        problems = [str(problem) for fake in made for problem in fake.spec_problems]
        assert problems == [], "requests Discord's OpenAPI spec does not allow:\n" + "\n".join(problems)
