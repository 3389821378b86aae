"""The scale benchmark's report: the machine, the targets of issue 5 with pass/fail, markdown tables."""

from __future__ import annotations

import hashlib
import os
import platform
import sqlite3
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import psutil

from benchmarks.paths import ROOT
from benchmarks.scaling.targets import figure, speedup

PEERS = ("rank-bm25", "bm25s", "fts5")
PEER_NAMES = {"storybot": "storybot", "rank-bm25": "rank-bm25", "bm25s": "bm25s", "fts5": "SQLite FTS5"}


def machine() -> dict[str, Any]:
    """What the figures were measured on: CPU, cores, memory, and the versions that matter."""
    cpu = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    versions: dict[str, str | None] = {}
    for package in ("numpy", "rank-bm25", "bm25s", "PyStemmer", "psutil"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "usable_cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "ram_gb": round(psutil.virtual_memory().total / 1024**3, 1),
        "os": platform.platform(),
        "python": sys.version.split()[0],
        "sqlite": sqlite3.sqlite_version,
        **versions,
        "storybot_commit": _git("rev-parse", "--short", "HEAD"),
        "engine_changes_uncommitted": bool(_git("status", "--porcelain", "--", "index")),
        "engine_fingerprint": engine_fingerprint(),
    }


def engine_fingerprint() -> str:
    """A digest of the engine's source (index/): others edit it while the benchmark runs."""
    digest = hashlib.sha256()
    for path in sorted((ROOT / "index").rglob("*.py")):
        digest.update(path.relative_to(ROOT).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def _git(*args: str) -> str | None:
    # Read-only queries: which commit was measured, and whether index/ had uncommitted edits.
    try:
        done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False)
    except OSError:
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def _number(value: Any, digits: int = 1) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "NO"
    if isinstance(value, float) and abs(value) < 10 and digits == 1:
        return f"{value:,.2f}"
    return f"{value:,.{digits}f}"


def _engine_row(label: str, values: dict[str, Any]) -> str:
    return f"| {label} | " + " | ".join(values.get(name, "—") for name in PEER_NAMES) + " |"


def size_table(size: int, figures: dict[str, Any]) -> str:
    """The markdown table of one size: engines side by side, storybot's own rows, ratios and targets."""
    engines = {name: figures.get(name) or {} for name in PEER_NAMES}
    ours = engines["storybot"]
    lines = [f"### {size:,} paragraphs", ""]
    skipped = {name: fig["skipped"] for name, fig in engines.items() if "skipped" in fig}
    lines += ["| | " + " | ".join(PEER_NAMES.values()) + " |", "|---" * (len(PEER_NAMES) + 1) + "|"]
    build = {name: _number(figure(fig, "build_seconds")) for name, fig in engines.items()}
    build["storybot"] = _number(figure(ours, "ingest", "seconds"))
    lines.append(_engine_row("build / ingest (s)", build))
    rate = {"storybot": _number(figure(ours, "ingest", "paragraphs_per_second"), 0)}
    for name in PEERS:
        seconds = figure(engines[name], "build_seconds")
        rate[name] = _number(size / seconds, 0) if seconds else "—"
    lines.append(_engine_row("paragraphs/s indexed", rate))
    cli_rate = {
        "storybot": _number(figure(ours, "cli_ingest", "paragraphs_per_second"), 0),
        "fts5": rate["fts5"],
    }
    lines.append(_engine_row("`storybot add FILE.jsonl` through the CLI: paragraphs/s", cli_rate))
    disk = {
        "storybot": _number(_bytes_mb(figure(ours, "ingest", "database_bytes"))),
        "fts5": _number(_bytes_mb(figure(engines["fts5"], "database_bytes"))),
        "rank-bm25": "in memory",
        "bm25s": "in memory",
    }
    lines.append(_engine_row("database on disk (MiB)", disk))
    cold = {"storybot": _number(figure(ours, "cold_start", "median_seconds"), 3)}
    cold.update({name: "rebuild: " + build[name] for name in ("rank-bm25", "bm25s")})
    lines.append(_engine_row("cold start to first answer (s)", cold))
    for key, label in (("p50_ms", "p50 (ms)"), ("p95_ms", "p95 (ms)"), ("p99_ms", "p99 (ms)")):
        lat = {"storybot": _number(figure(ours, "answer", "latency", key), 2)}
        lat.update({name: _number(figure(engines[name], "latency", key), 2) for name in PEERS})
        lines.append(_engine_row(label, lat))
    timed = {"storybot": _number(figure(ours, "answer", "latency", "questions"), 0)}
    timed.update({name: _number(figure(engines[name], "latency", "questions"), 0) for name in PEERS})
    lines.append(_engine_row("questions timed", timed))
    rss = {"storybot": _number(figure(ours, "answer", "peak_rss_mb"), 0)}
    rss.update({name: _number(figure(engines[name], "peak_rss_mb"), 0) for name in PEERS})
    lines.append(_engine_row("peak RSS of the answering process (MiB)", rss))
    speed = {name: _ratio(speedup({"storybot": ours, name: engines[name]}, name)) for name in PEERS}
    lines.append(_engine_row("peer p50 / storybot p50", {"storybot": "1x", **speed}))
    lines += ["", *_storybot_rows(ours, figures), "", _loads(figures), ""]
    for name, reason in skipped.items():
        lines.append(f"- {PEER_NAMES[name]} skipped: {reason}")
    lines += ["", "| target (issue 5) | bound | measured | verdict | margin |", "|---|---|---|---|---|"]
    for verdict in figures.get("targets", []):
        row = [verdict["target"], verdict["bound"], _shown(verdict), verdict["verdict"], verdict["margin"]]
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def _shown(verdict: dict[str, Any]) -> str:
    """A measured value as the targets table shows it."""
    value = verdict["value"]
    if value is None:
        return "—"
    if verdict["bound"] == "yes":
        return "yes" if value else "NO"
    digits = 0 if abs(value) >= 100 or value == int(value) else (1 if verdict["unit"] == "x" else 2)
    return f"{value:,.{digits}f}{verdict['unit']}"


def _storybot_rows(ours: dict[str, Any], figures: dict[str, Any]) -> list[str]:
    changes = figure(ours, "changes") or {}
    lag = changes.get("loop_lag") or {}
    same = figure(figures, "rank-bm25", "same_answers") or {}
    mismatches = same.get("mismatches")
    rows = [
        ("ingest: articles per `add_articles` call", _number(figure(ours, "ingest", "batch_articles"), 0)),
        ("ingest process peak RSS (MiB)", _number(figure(ours, "ingest", "peak_rss_mb"), 0)),
        (
            "`storybot add FILE.jsonl`: seconds / peak RSS of its biggest process (MiB) / file (MiB)",
            " / ".join(
                (
                    _number(figure(ours, "cli_ingest", "seconds")),
                    _number(figure(ours, "cli_ingest", "peak_rss_mb"), 0),
                    _number(_bytes_mb(figure(ours, "cli_ingest", "file_bytes"))),
                )
            ),
        ),
        (
            "process start and imports alone, `storybot --version` (s)",
            _number(figure(ours, "cold_start", "version_seconds"), 3),
        ),
        ("index: terms / segments after ingest", _index_shape(ours)),
        ("paragraphs matching a question, median / p95", _matched(ours)),
        ("p50 / p99 (ms) asked again for the top ten (rank-bm25's check)", _top_ten_again(ours)),
        ("head to head with bm25s in one process: p50 (ms) bm25s / storybot", _head_to_head(figures)),
        ("add one article (s): median / worst (adds, merges)", _series(changes.get("add"))),
        ("remove one article (s): median / worst (removes)", _series(changes.get("remove"))),
        ("added article seen by another process", _number(changes.get("added_seen_by_other_process"))),
        ("removed article gone for another process", _number(changes.get("removed_unseen_by_other_process"))),
        (
            "event-loop lag, max (ms): ask / add / remove",
            " / ".join(_number(lag.get(key), 1) for key in ("ask_max_ms", "add_max_ms", "remove_max_ms")),
        ),
        (
            "same answers as rank-bm25: questions checked / mismatches",
            f"{same.get('checked', '—')} / {'—' if mismatches is None else len(mismatches)}",
        ),
    ]
    return ["| storybot | |", "|---|---|", *(f"| {label} | {value} |" for label, value in rows)]


def _top_ten_again(ours: dict[str, Any]) -> str:
    again = figure(ours, "answer", "latency_top_ten_again") or {}
    return " / ".join(_number(again.get(key), 2) for key in ("p50_ms", "p99_ms"))


def _head_to_head(figures: dict[str, Any]) -> str:
    together = figure(figures, "bm25s", "head_to_head")
    if not together:
        return "—"
    peer, ours = (_number(figure(together, name, "p50_ms"), 2) for name in ("peer", "storybot"))
    return f"{peer} / {ours} ({together['ratio']:.2f}x)"


def _matched(ours: dict[str, Any]) -> str:
    matched = figure(ours, "answer", "matched_paragraphs")
    if not matched:
        return "—"
    return f"{np.percentile(matched, 50):,.0f} / {np.percentile(matched, 95):,.0f}"


def _series(series: dict[str, Any] | None) -> str:
    if not series:
        return "—"
    merges = f", {series['merges']} merged" if "merges" in series else ""
    return f"{series['median_seconds']:.3f} / {series['max_seconds']:.3f} ({series['count']}{merges})"


def _loads(figures: dict[str, Any]) -> str:
    """The load average when each phase started: a busy neighbour on a shared machine shows here."""
    phases = [
        ("storybot ingest", figure(figures, "storybot", "ingest", "load_average")),
        ("answers", figure(figures, "storybot", "answer", "load_average")),
        *((PEER_NAMES[name], figure(figures, name, "load_average")) for name in PEERS),
        ("changes", figure(figures, "storybot", "changes", "load_average")),
    ]
    shown = ", ".join(f"{label} {value:.2f}" for label, value in phases if value is not None)
    return f"Load average (1 min, 2 cores) as each phase started: {shown}." if shown else ""


def _index_shape(ours: dict[str, Any]) -> str:
    terms, segments = figure(ours, "ingest", "terms"), figure(ours, "ingest", "segments")
    return "—" if terms is None else f"{terms:,} / {segments:,}"


def _bytes_mb(value: Any) -> float | None:
    return None if value is None else value / 1024**2


def _ratio(value: float | None) -> str:
    return "—" if value is None else f"{value:,.1f}x"


def machine_line(described: dict[str, Any]) -> str:
    """One line describing the machine, for the top of the report."""
    return (
        f"Machine: {described['cpu']}, {described['cores']} cores, {described['ram_gb']} GB RAM; "
        f"{described['os']}; Python {described['python']}, numpy {described['numpy']}, "
        f"SQLite {described['sqlite']}, rank-bm25 {described['rank-bm25']}, bm25s {described['bm25s']}, "
        f"PyStemmer {described['PyStemmer']}; storybot {described['storybot_commit']}"
        f" (index/ digest {described.get('engine_fingerprint', '?')})"
        + (" with uncommitted engine changes" if described.get("engine_changes_uncommitted") else "")
        + "."
    )


def profile_section(size: int, figures: dict[str, Any]) -> str:
    """The cProfile tables of questions and of writes, where the run profiled them."""
    ask = figure(figures, "storybot", "answer", "profile")
    single = figure(figures, "storybot", "changes", "profiles", "single_adds")
    batch = figure(figures, "storybot", "changes", "profiles", "batch")
    parts = []
    if ask:
        title = f"{ask['questions']} questions at {size:,} paragraphs, posting cache empty"
        parts += _profile_tables(title, ask)
    if single:
        title = (
            f"single-article adds into the {size:,}-paragraph index, up to the first that merged"
            f" segments ({single['articles']} of them)"
        )
        parts += _profile_tables(title, single)
    if batch:
        title = (
            f"add_articles of one batch of {batch['articles']:,} articles"
            f" ({batch['paragraphs']:,} paragraphs) into the {size:,}-paragraph index"
        )
        parts += _profile_tables(title, batch)
    return "\n".join(parts)


def _profile_tables(title: str, tables: dict[str, Any]) -> list[str]:
    return [
        f"#### Profile: {title}",
        "",
        "By own time:",
        "",
        "```",
        tables["tottime"],
        "```",
        "",
        "By cumulative time:",
        "",
        "```",
        tables["cumulative"],
        "```",
        "",
    ]
