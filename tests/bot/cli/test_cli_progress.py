"""The progress bar, in a real pseudo-terminal: one bar for `add FILE`, `add DIR` and `reindex`, true totals.

Each command runs as a real subprocess whose stdout and stderr are the slave end of a pty, so click sees a
terminal and draws the bar exactly as an operator would see it.
"""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import struct
import subprocess
import sys
import termios
from pathlib import Path

from tests.conftest import ROOT

_ESCAPES = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_BAR = re.compile(r"^(?P<label>[A-Za-z ]+?)\s+\[[#-]+\]\s+(?P<done>\d+)/(?P<total>\d+)\s+(?P<percent>\d+)%")


def in_terminal(db: Path, *args: str) -> list[str]:
    """What `storybot --db DB ARGS` writes to a 200-column terminal, as the lines and bar frames shown."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 200, 0, 0))
    env = {**os.environ, "PYTHONPATH": str(ROOT), "STORYBOT_DB": str(db)}
    with subprocess.Popen(
        [sys.executable, "-c", "from bot.cli import main; main()", *args],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=env,
        cwd=ROOT,
    ) as process:
        os.close(slave)
        chunks = []
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            chunks.append(chunk)
        os.close(master)
        assert process.wait() == 0, b"".join(chunks).decode()
    text = _ESCAPES.sub("", b"".join(chunks).decode("utf-8"))
    return [frame.strip() for line in text.replace("\r\n", "\n").split("\n") for frame in line.split("\r")]


def bar_frames(lines: list[str]) -> list[tuple[str, int, int, int]]:
    """(label, done, total, percent) of every frame of a bar drawn."""
    return [
        (match["label"], int(match["done"]), int(match["total"]), int(match["percent"]))
        for line in lines
        if (match := _BAR.match(line))
    ]


def assert_one_truthful_bar(frames: list[tuple[str, int, int, int]], label: str, total: int) -> None:
    assert frames, "no bar was drawn"
    assert {frame[0] for frame in frames} == {label}
    assert {frame[2] for frame in frames} == {total}, "the total must not change, and must be the real one"
    done = [frame[1] for frame in frames]
    assert done == sorted(done) and done[-1] == total
    assert frames[-1][3] == 100


def article(number: int, paragraphs: int) -> dict[str, str]:
    body = "\n\n".join(
        f"Paragraph {p} of article {number} about the harbour works." for p in range(paragraphs)
    )
    return {"id": f"a{number}", "title": f"Harbour report {number}", "text": body}


def test_add_file_counts_the_articles_of_one_big_jsonl(tmp_path: Path) -> None:
    big = tmp_path / "big.jsonl"
    big.write_text("".join(json.dumps(article(n, 10)) + "\n" for n in range(300)), encoding="utf-8")

    lines = in_terminal(tmp_path / "db.sqlite", "add", str(big))

    assert_one_truthful_bar(bar_frames(lines), "Indexing articles", 300)
    summary = [line for line in lines if line.startswith("added ")]
    assert len(summary) == 1
    assert re.fullmatch(
        r"added 300, updated 0, unchanged 0, failed 0, skipped 0: 3,000 paragraphs in \d+\.\d\ds", summary[0]
    )
    assert not any(line.startswith("added a") for line in lines), "per-article lines only with --verbose"


def test_add_dir_and_reindex_each_show_one_bar_with_the_right_total(tmp_path: Path) -> None:
    folder = tmp_path / "news"
    for number in range(40):
        body = "\n\n".join(f"Paragraph {p} of note {number} on the tides." for p in range(5))
        (folder / f"sub{number % 3}").mkdir(parents=True, exist_ok=True)
        (folder / f"sub{number % 3}" / f"note-{number}.txt").write_text(f"Note {number}\n\n{body}\n")
    db = tmp_path / "db.sqlite"

    added = in_terminal(db, "add", str(folder))
    reindexed = in_terminal(db, "reindex")

    assert_one_truthful_bar(bar_frames(added), "Indexing articles", 40)
    assert any(re.fullmatch(r"added 40, .*: 200 paragraphs in \d+\.\d\ds", line) for line in added)
    # 41 origins read again: the 40 files and the built-in story.
    assert_one_truthful_bar(bar_frames(reindexed), "Reading sources again", 41)
    assert any(line.startswith("reindexed 41 sources, 215 paragraphs: ") for line in reindexed)


def test_no_bar_when_piped(tmp_path: Path) -> None:
    big = tmp_path / "big.jsonl"
    big.write_text("".join(json.dumps(article(n, 3)) + "\n" for n in range(50)), encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-m", "bot", "--db", str(tmp_path / "db.sqlite"), "add", str(big)],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        check=True,
    )
    assert result.stderr == ""
    assert re.fullmatch(
        r"added 50, updated 0, unchanged 0, failed 0, skipped 0: 150 paragraphs in \S+s\n", result.stdout
    )
