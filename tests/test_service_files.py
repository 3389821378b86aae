"""The service files a deployment copies (Dockerfile, compose.yaml, the systemd unit) say what the README
promises: a slim non-root image with the database on a volume, a stop signal and a health check; a compose
service that restarts; a unit with a restart policy that systemd itself accepts."""

from __future__ import annotations

import configparser
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order, continuation lines joined and comments left out."""
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    joined = re.sub(r"\\\n\s*", " ", text)
    lines = [line.strip() for line in joined.splitlines()]
    return [
        (line.split(maxsplit=1)[0].upper(), line.split(maxsplit=1)[1] if " " in line else "")
        for line in lines
        if line and not line.startswith("#")
    ]


def _final_stage() -> list[tuple[str, str]]:
    instructions = _dockerfile_instructions()
    last_from = max(number for number, (name, _) in enumerate(instructions) if name == "FROM")
    return instructions[last_from:]


def test_the_image_is_slim_python_run_by_a_user_who_is_not_root() -> None:
    stage = _final_stage()
    base = stage[0][1]
    assert re.fullmatch(r"python:3\.1[1-9]-slim", base), base
    users = [arguments for name, arguments in stage if name == "USER"]
    assert users == ["storybot"]
    # The user is made in the image, before it is switched to.
    made = next(number for number, (name, arguments) in enumerate(stage) if "useradd" in arguments)
    switched = next(number for number, (name, _) in enumerate(stage) if name == "USER")
    assert made < switched


def test_the_database_lives_on_the_volume() -> None:
    stage = _final_stage()
    volumes = [json.loads(arguments) for name, arguments in stage if name == "VOLUME"]
    env = " ".join(arguments for name, arguments in stage if name == "ENV")
    database = re.search(r"STORYBOT_DB=(\S+)", env)
    assert volumes == [["/data"]]
    assert database is not None and Path(database.group(1)).parent == Path("/data")


def test_the_image_stops_on_sigterm_checks_its_health_and_runs_the_bot() -> None:
    stage = dict(_final_stage())
    assert stage["STOPSIGNAL"] == "SIGTERM"
    health = re.fullmatch(r"(--\S+\s+)*CMD\s+(\[.*\])", stage["HEALTHCHECK"])
    assert health is not None and json.loads(health.group(2)) == ["storybot", "health"]
    assert "--start-period" in stage["HEALTHCHECK"]
    assert json.loads(stage["CMD"]) == ["storybot", "run"]


def test_what_the_image_copies_is_in_the_repository() -> None:
    copied = [
        part
        for name, arguments in _dockerfile_instructions()
        if name == "COPY" and not arguments.startswith("--from")
        for part in arguments.split()[:-1]
    ]
    assert copied and [part for part in copied if not (ROOT / part).exists()] == []


def test_the_compose_service_restarts_and_keeps_the_database_on_a_named_volume() -> None:
    compose = (ROOT / "compose.yaml").read_text(encoding="utf-8")
    assert re.search(r"^    restart: unless-stopped$", compose, re.M)
    assert re.search(r"^    env_file: \.env$", compose, re.M)
    assert re.search(r"^      STORYBOT_DB: /data/storybot\.db$", compose, re.M)
    assert re.search(r"^      - storybot-data:/data$", compose, re.M)
    assert re.search(r"^volumes:\n  storybot-data:$", compose, re.M)


def _unit() -> configparser.ConfigParser:
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.optionxform = str  # type: ignore[assignment,method-assign]  # systemd keys are case-sensitive
    unit.read(ROOT / "deploy" / "storybot.service", encoding="utf-8")
    return unit


def test_the_systemd_unit_restarts_the_bot_and_stops_it_gracefully() -> None:
    service = _unit()["Service"]
    assert service["ExecStart"].split()[1:] == ["run"]
    assert service["ExecStart"].split()[0].endswith("/bin/storybot")
    assert service["Restart"] == "on-failure"
    assert service["KillSignal"] == "SIGTERM"
    assert service["Environment"] == "STORYBOT_DB=/var/lib/storybot/storybot.db"
    assert service["StateDirectory"] == "storybot"
    assert _unit()["Unit"]["After"] == "network-online.target"


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_systemd_accepts_the_unit(tmp_path: Path) -> None:
    # Pointed at an executable that exists here; everything else exactly as shipped.
    text = (ROOT / "deploy" / "storybot.service").read_text(encoding="utf-8")
    unit = tmp_path / "storybot.service"
    unit.write_text(text.replace("/opt/storybot/.venv/bin/storybot", sys.executable), encoding="utf-8")

    done = subprocess.run(
        ["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, check=False
    )

    assert done.returncode == 0, done.stderr
