"""The printed report: the SQuAD, per-article, story and trade-off tables, and the machine line."""

from __future__ import annotations

from benchmarks.passages.data import Row


def pct(share: float) -> str:
    """A share as a percentage with one decimal."""
    return f"{100 * share:.1f}%"


def squad_table(figures: Row) -> list[str]:
    """One row per engine: both settings' top-1 / top-3 / MRR@10, storybot's answered and declined."""
    lines = [
        f"SQuAD dev: {figures['set']['articles']} articles, {figures['set']['paragraphs']:,} paragraphs, "
        f"{figures['set']['questions']:,} questions, {figures['set']['offtopic']} off-topic; "
        f"scored by {' and '.join(figures['scored_by'])}",
        "",
        "| engine | global top-1 | global top-3 | global MRR@10 | within top-1 | within top-3 | within MRR@10"
        " | answered (global / within) | off-topic declined (within) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, engine in figures["engines"].items():
        cells = [name]
        for setting in ("global", "within"):
            ranked = engine[setting]
            cells += [pct(ranked["top1"]), pct(ranked["top3"]), f"{ranked['mrr10']:.3f}"]
        if "offtopic" in engine:
            cells += [f"{pct(engine['global']['answered'])} / {pct(engine['within']['answered'])}"]
            cells += [pct(engine["offtopic"]["declined"])]
        else:
            cells += ["–", "–"]
        lines.append("| " + " | ".join(cells) + " |")
    missing = {
        name: engine["global"]["missing"] + engine["within"]["missing"]
        for name, engine in figures["engines"].items()
    }
    lines += [
        f"warning: {name}: {count} questions missing from its runs"
        for name, count in missing.items()
        if count
    ]
    if figures["misaligned_results"]:
        lines.append(
            f"warning: {figures['misaligned_results']} of storybot's results are not the set's paragraph of"
            " that number: its paragraph splitting no longer matches the set's"
        )
    return lines


def per_article_table(figures: Row) -> list[str]:
    """Each article's top-1 for storybot and rank-bm25, in both settings."""
    storybot_top1, reference = figures["per_article"]["storybot"], figures["per_article"]["rank-bm25"]
    lines = [
        "| article | storybot global top-1 | rank-bm25 global top-1 | storybot within top-1"
        " | rank-bm25 within top-1 |",
        "|---|---|---|---|---|",
    ]
    for article, ours in storybot_top1.items():
        theirs = reference[article]
        cells = [pct(ours["global"]), pct(theirs["global"]), pct(ours["within"]), pct(theirs["within"])]
        lines.append(f"| {article} | " + " | ".join(cells) + " |")
    return lines


def story_table(figures: Row) -> list[str]:
    """top-1, top-3, off-topic declined and answerable answered, as counts and shares."""

    def of(count: int, total: int) -> str:
        return f"{count} of {total} ({pct(count / total) if total else '–'})"

    answerable, offtopic = figures["answerable"], figures["offtopic"]
    lines = [
        "| story dev | top-1 | top-3 | off-topic declined | answerable answered |",
        "|---|---|---|---|---|",
        f"| storybot | {of(figures['top1'], answerable)} | {of(figures['top3'], answerable)} "
        f"| {of(figures['declined'], offtopic)} | {of(figures['answered'], answerable)} |",
    ]
    return lines + [f"miss: {question}" for question in figures["misses"]]


def curve_table(rows: list[Row], names: dict[str, str]) -> list[str]:
    """The trade-off curve: one row per threshold, for each set its declined and answered shares."""
    header, rule = ["threshold"], ["---"]
    for label in names.values():
        header += [f"{label}: off-topic declined", f"{label}: answerable answered"]
        rule += ["---", "---"]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(rule) + "|"]
    for row in rows:
        cells = [f"{row['threshold']:.2f}" + (" (shipped)" if row["shipped"] else "")]
        for name in names:
            cells += [pct(row[name]["declined"]), pct(row[name]["answered"])]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def machine_line(described: Row, seconds: dict[str, float]) -> str:
    """The machine, the code measured, and the wall seconds of each phase."""
    phases = ", ".join(f"{phase} {value:.1f}" for phase, value in seconds.items())
    return (
        f"Machine: {described['cpu']}, {described['cores']} cores, {described['ram_gb']} GB RAM; Python "
        f"{described['python']}, SQLite {described['sqlite']}, rank-bm25 {described['rank-bm25']}, bm25s "
        f"{described['bm25s']}; storybot {described['storybot_commit'] or '(commit unknown)'}"
        + (" with uncommitted changes to index/" if described["engine_changes_uncommitted"] else "")
        + f" (index/ digest {described['engine_fingerprint']}). Wall seconds: {phases}."
    )


def report(results: Row, per_article: bool) -> list[str]:
    """Every table, in order, as markdown lines."""
    lines: list[str] = []
    if "squad" in results:
        lines += [*squad_table(results["squad"]), ""]
        if per_article:
            lines += [*per_article_table(results["squad"]), ""]
    if "story" in results:
        lines += [*story_table(results["story"]), ""]
    if results["curve"] is None:
        lines += ['storybot\'s answers carry no "confidence": no trade-off curve.', ""]
    else:
        names = {"squad": "SQuAD within", "story": "story dev"}
        lines += [
            "Trade-off: answered when confidence >= threshold (shipped "
            + ", ".join(f"{t:.2f}" for t in results["shipped_thresholds"])
            + f"; answers breaking that rule: {results['rule_breaks']})",
            "",
            *curve_table(results["curve"], {key: names[key] for key in results["curve"][0] if key in names}),
            "",
        ]
    if results["fingerprint_changed"]:
        lines += [
            "warning: index/ changed during the run: the figures may mix two versions of the engine",
            "",
        ]
    return [*lines, machine_line(results["machine"], results["seconds"])]
