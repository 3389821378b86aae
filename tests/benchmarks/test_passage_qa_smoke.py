"""The passage-QA benchmark in miniature: a made-up set of three articles, run end to end through the CLI.

The real set and its score.py live outside the repository, so the run here is scored by the benchmark's own
functions; a score.py written into the set's folder must agree with them, or the run fails.
"""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path
from typing import Any

import pytest

from benchmarks.passage_qa import main
from benchmarks.passages.peers import fts5_query
from benchmarks.passages.scoring import BUILT_IN, ScorersDisagree, judge, official_scorer
from benchmarks.passages.tradeoff import THRESHOLDS

ARTICLES = {
    "glass-harbour": [
        "Glass Harbour is a fishing town on a cold coast. Its lighthouse was built from green bottles.",
        "Every spring the town holds a lantern regatta, when sailors race painted skiffs across the bay.",
        "The harbour school teaches knot tying, net mending and the old whistling signals of the fleet.",
    ],
    "clockwork-bees": [
        "Clockwork bees are tiny brass machines that pollinate orchards when real bees are scarce.",
        "A watchmaker named Odile Ferrand wound the first swarm in a cellar workshop in 1911.",
        "Each bee runs for forty minutes on one winding, then returns to a copper hive to rest.",
        "Collectors pay fortunes for bees with sapphire eyes, which were made only for a single summer.",
    ],
    "moon-turnips": [
        "Moon turnips are a purple root vegetable grown in greenhouses on a research station.",
        "Botanists found that the turnips grow twice as fast under violet lamps as under white light.",
        "The station cook pickles them with juniper and serves them at the midwinter feast.",
    ],
}
QUESTIONS = [  # (article, gold paragraph, question)
    ("glass-harbour", 0, "What was the lighthouse built from?"),
    ("glass-harbour", 1, "When is the lantern regatta held?"),
    ("glass-harbour", 2, "Which skills does the harbour school teach besides knot tying?"),
    ("clockwork-bees", 1, "Who wound the first swarm of clockwork bees?"),
    ("clockwork-bees", 2, "How long does a bee run on one winding?"),
    ("clockwork-bees", 3, "Why do collectors pay fortunes for sapphire eyes?"),
    ("moon-turnips", 1, "Under which lamps do moon turnips grow twice as fast?"),
    ("moon-turnips", 2, "What does the station cook pickle them with?"),
]
OFFTOPIC = [  # (asked of, from, question): words the article asked of never uses
    ("glass-harbour", "moon-turnips", "Which purple vegetable do botanists study?"),
    ("clockwork-bees", "glass-harbour", "What regatta do sailors race in spring?"),
    ("moon-turnips", "clockwork-bees", "Which watchmaker worked in a cellar?"),
]
STORY = [
    {"q": "How many GPUs did Musk buy?", "gold": ["10,000 GPUs"]},
    {"q": "Who co-founded OpenAI in 2015?", "gold": ["co-founded in 2015"]},
    {"q": "Recommend a good pizza recipe", "gold": [], "abstain": True},
]
ENGINES = ("storybot", "rank-bm25", "bm25s", "FTS5")


def _write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")


def _write_set(folder: Path) -> None:
    folder.mkdir()
    articles = [
        {"id": aid, "title": aid.replace("-", " ").title(), "text": "\n\n".join(texts)}
        for aid, texts in ARTICLES.items()
    ]
    questions = [
        {"id": f"q{i}", "question": text, "article": aid, "paragraph": number, "answers": ["x"]}
        for i, (aid, number, text) in enumerate(QUESTIONS)
    ]
    offtopic = [
        {"id": f"{aid}~o{i}", "question": text, "article": aid, "from_article": source}
        for i, (aid, source, text) in enumerate(OFFTOPIC)
    ]
    _write_jsonl(folder / "articles.jsonl", articles)
    _write_jsonl(folder / "questions.jsonl", questions)
    _write_jsonl(folder / "offtopic.jsonl", offtopic)


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], str, Path]:
    """One run of the whole benchmark on the tiny set: its JSON figures, printed report and work folder."""
    tmp = tmp_path_factory.mktemp("passage_qa")
    _write_set(tmp / "set")
    _write_jsonl(tmp / "story.jsonl", STORY)
    argv = ["--set", str(tmp / "set"), "--story", str(tmp / "story.jsonl"), "--json", str(tmp / "out.json")]
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        status = main([*argv, "--per-article", "--keep", str(tmp / "work")])
    assert status == 0
    return json.loads((tmp / "out.json").read_text()), printed.getvalue(), tmp / "work"


def test_easy_questions_are_all_found_first(run: tuple[dict[str, Any], str, Path]) -> None:
    figures, _, _ = run
    engines = figures["squad"]["engines"]
    assert list(engines) == list(ENGINES)
    for name in ENGINES:
        for setting in ("global", "within"):
            assert engines[name][setting]["questions"] == len(QUESTIONS)
            assert engines[name][setting]["missing"] == 0
            assert (engines[name][setting]["top1"], engines[name][setting]["mrr10"]) == (1.0, 1.0), name
    assert engines["storybot"]["offtopic"] == {"questions": 3, "declined": 1.0, "missing": 0}
    assert engines["storybot"]["within"]["answered"] == 1.0
    assert "answered" not in engines["rank-bm25"]["global"]  # a peer has no abstain decision
    assert figures["squad"]["scored_by"] == ["built-in"]
    assert figures["squad"]["misaligned_results"] == 0
    assert figures["squad"]["per_article"]["rank-bm25"]["moon-turnips"] == {"global": 1.0, "within": 1.0}


def test_story_figures_are_exact(run: tuple[dict[str, Any], str, Path]) -> None:
    figures, _, _ = run
    assert figures["story"] == {
        "answerable": 2,
        "top1": 2,
        "top3": 2,
        "answered": 2,
        "offtopic": 1,
        "declined": 1,
        "misses": [],
    }


def test_the_curve_declines_more_and_answers_less_as_the_threshold_rises(
    run: tuple[dict[str, Any], str, Path],
) -> None:
    figures, printed, _ = run
    if figures["curve"] is None:
        assert 'storybot\'s answers carry no "confidence": no trade-off curve.' in printed
        return
    rows = figures["curve"]
    assert [row["threshold"] for row in rows if row["threshold"] in THRESHOLDS] == THRESHOLDS
    assert [row["shipped"] for row in rows].count(True) == len(figures["shipped_thresholds"]) == 1
    assert figures["rule_breaks"] == 0
    for part in ("squad", "story"):
        declined = [row[part]["declined"] for row in rows]
        answered = [row[part]["answered"] for row in rows]
        assert declined == sorted(declined)
        assert answered == sorted(answered, reverse=True)
        assert all(0.0 <= share <= 1.0 for share in declined + answered)
    assert rows[0]["squad"] == {"declined": 0.0, "answered": 1.0}
    assert "| 0.50 |" in printed
    assert " (shipped) |" in printed


def test_the_report_prints_every_table_and_keeps_the_work(run: tuple[dict[str, Any], str, Path]) -> None:
    _, printed, work = run
    for name in ENGINES:
        assert f"\n| {name} | 100.0% | 100.0% | 1.000 | 100.0% | 100.0% | 1.000 |" in printed
    assert "| moon-turnips | 100.0% | 100.0% | 100.0% | 100.0% |" in printed
    assert "| storybot | 2 of 2 (100.0%) | 2 of 2 (100.0%) | 1 of 1 (100.0%) | 2 of 2 (100.0%) |" in printed
    assert "Wall seconds: storybot SQuAD " in printed
    for article in ARTICLES:
        assert (work / "squad" / "within" / article / "answers.jsonl").is_file()
    assert len((work / "squad" / "all" / "answers.jsonl").read_text().splitlines()) == len(QUESTIONS)


def test_a_score_py_in_the_set_must_agree(tmp_path: Path) -> None:
    run = {"q0": (True, [("a", 1), ("a", 0)]), "q1": (False, [("a", 2)])}
    questions = [{"id": "q0", "article": "a", "paragraph": 0}, {"id": "q1", "article": "a", "paragraph": 2}]
    (tmp_path / "score.py").write_text(
        "from benchmarks.passages.scoring import BUILT_IN, declined, ranking\nload_run = BUILT_IN.load_run\n"
    )
    agreeing = official_scorer(tmp_path)
    assert agreeing is not None
    figures = judge("tiny", [(BUILT_IN, run), (agreeing, run)], questions, [{"id": "q1"}, {"id": "q9"}])
    assert figures["ranking"] == {
        "questions": 2,
        "top1": 0.5,
        "top3": 1.0,
        "mrr10": 0.75,
        "answered": 0.5,
        "missing": 0,
    }
    assert figures["offtopic"] == {"questions": 2, "declined": 0.5, "missing": 1}
    (tmp_path / "score.py").write_text(
        "from benchmarks.passages.scoring import BUILT_IN, declined, ranking as _ranking\n"
        "load_run = BUILT_IN.load_run\n"
        "def ranking(run, questions):\n"
        "    return {**_ranking(run, questions), 'top3': 0.0}\n"
    )
    disagreeing = official_scorer(tmp_path)
    assert disagreeing is not None
    with pytest.raises(ScorersDisagree, match="top3"):
        judge("tiny", [(BUILT_IN, run), (disagreeing, run)], questions, None)


def test_no_score_py_means_the_built_in_scorer_alone(tmp_path: Path) -> None:
    assert official_scorer(tmp_path) is None


def test_a_missing_set_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--only", "squad", "--set", str(tmp_path / "nowhere")]) == 1
    assert "nowhere/articles.jsonl" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("question", "query"),
    [
        (
            "What was the lighthouse built from?",
            '"what" OR "was" OR "the" OR "lighthouse" OR "built" OR "from"',
        ),
        ('Is "NEAR" a - keyword?', '"is" OR "near" OR "a" OR "keyword"'),
        ("?", ""),
        ("", ""),
    ],
)
def test_fts5_queries_quote_every_word(question: str, query: str) -> None:
    assert fts5_query(question) == query
