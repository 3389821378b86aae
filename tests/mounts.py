"""Small disks and read-only folders for the storage tests: a tmpfs when the tests run as root, else chmod.

A full disk cannot be faked honestly: SQLite must meet ENOSPC from the kernel. Root can mount a tmpfs of a
few megabytes (and remount it read-only, which root's own writes then also meet); anyone else is skipped
with the reason. Read-only without root is chmod, which root would ignore.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

CANNOT_MOUNT = (
    None
    if os.geteuid() == 0 and shutil.which("mount") and shutil.which("umount")
    else "mounting a small tmpfs needs root (and mount/umount); the tests are not running as root"
)
"""Why a small disk cannot be made here, or None when it can."""


@contextmanager
def small_disk(where: Path, size: str) -> Iterator[Path]:
    """A tmpfs of `size` (e.g. "3m") mounted at `where` for the block; skips the test without root."""
    if CANNOT_MOUNT:
        pytest.skip(CANNOT_MOUNT)
    where.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(where)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], capture_output=True, check=False)


@contextmanager
def read_only(folder: Path) -> Iterator[None]:
    """Make `folder` and its files unwritable for the block: remount its tmpfs as root, chmod otherwise."""
    if os.geteuid() == 0:
        subprocess.run(["mount", "-o", "remount,ro", str(folder)], capture_output=True, check=True)
        try:
            yield
        finally:
            subprocess.run(["mount", "-o", "remount,rw", str(folder)], capture_output=True, check=False)
        return
    paths = [folder, *folder.iterdir()]
    modes = {path: stat.S_IMODE(path.stat().st_mode) for path in paths}
    for path in paths:
        path.chmod(modes[path] & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
    try:
        yield
    finally:
        for path, mode in modes.items():
            path.chmod(mode)


@contextmanager
def writable_folder(where: Path) -> Iterator[Path]:
    """A folder that `read_only` can lock: a tmpfs as root (chmod would not stop root), else a plain one."""
    if os.geteuid() == 0:
        with small_disk(where, "16m") as folder:
            yield folder
        return
    where.mkdir(parents=True, exist_ok=True)
    yield where
