"""A merge killed with SIGKILL at its first commit of a phase, as a crash would stop it.

Run as `python -m tests.index.engine.crashing_merge DB building` or `... DB clearing`.
"""

from __future__ import annotations

import os
import signal
import sys

from index import SHARED_SCOPE
from index.engine import staging
from index.engine.database import connect
from index.engine.merging import merge_in_turns


def main(db: str, phase: str) -> None:
    """Merge every shared segment, dying at the first commit of `phase`."""
    staging.TURN_SECONDS = 0
    commit = staging.Turns.commit

    def commit_then_die(self: staging.Turns, *, rest: bool = True) -> None:
        commit(self, rest=rest)
        if (phase == "building") == (self.staging is not None):
            os.kill(os.getpid(), signal.SIGKILL)

    staging.Turns.commit = commit_then_die  # type: ignore[method-assign]
    conn = connect(db)
    ids = [row[0] for row in conn.execute("SELECT id FROM segments WHERE scope = ?", (SHARED_SCOPE,))]
    chosen = [ids]
    merge_in_turns(conn, SHARED_SCOPE, lambda taken: chosen.pop() if chosen else None)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
