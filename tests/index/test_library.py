"""StoryIndex end to end on real SQLite files: the story, sources, scopes, exact statistics, reindex."""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from pathlib import Path

import numpy as np
import pytest
from rank_bm25 import BM25Okapi

from index import SHARED_SCOPE, QuestionError, SourceError, StoryIndex, UnknownSource
from index.answers import NOT_FOUND
from index.engine.searcher import Searcher
from index.engine.terms import paragraph_terms
from tests.conftest import write_jsonl

# The story's development questions, copied into the repository: see fixtures/README.md.
STORY_QUESTIONS = Path(__file__).parent / "fixtures" / "story_questions.jsonl"
DEV_SET = [json.loads(line) for line in STORY_QUESTIONS.read_text(encoding="utf-8").splitlines() if line]


def _normalise(text: str) -> str:
    return " ".join(text.replace("’", "'").casefold().split())


def reference_scores(
    index: StoryIndex, question: str, scopes: tuple[str, ...]
) -> tuple[dict[int, float], float]:
    """rank-bm25's BM25Okapi over exactly the tokens storybot indexed for the view, keyed by paragraph id."""
    conn = sqlite3.connect(index.path)
    placeholders = ",".join("?" * len(scopes))
    sources = conn.execute(
        f"SELECT id, title FROM sources WHERE scope IN ({placeholders})", scopes
    ).fetchall()
    ids, corpus = [], []
    for source_id, title in sources:
        rows = conn.execute(
            "SELECT id, text FROM paragraphs WHERE source_id = ? ORDER BY position", (source_id,)
        )
        paragraph_rows = rows.fetchall()
        ids.extend(row[0] for row in paragraph_rows)
        corpus.extend(paragraph_terms(index.tokenizer, title, [row[1] for row in paragraph_rows]))
    conn.close()
    params = index.params
    bm25 = BM25Okapi(corpus, k1=params.k1, b=params.b, epsilon=params.epsilon)
    scores = bm25.get_scores(index.tokenizer.tokenize(question, for_query=True))
    return dict(zip(ids, scores.tolist(), strict=True)), float(np.min(scores))


def assert_scores_match_reference(index: StoryIndex, question: str, scopes: tuple[str, ...]) -> None:
    expected, _ = reference_scores(index, question, scopes)
    conn = sqlite3.connect(index.path)
    result = Searcher(conn, index.tokenizer, index.params).search(question, 10_000, scopes)
    conn.close()
    got = {hit.passage.paragraph_id: hit.bm25 for hit in result.hits}
    assert got, "the question should match something"
    for paragraph_id, value in got.items():
        assert value == pytest.approx(expected[paragraph_id], abs=1e-9)
    # Paragraphs we did not return are exactly those holding no query term: rank-bm25 scores them 0.
    assert all(expected[pid] == 0.0 for pid in expected.keys() - got.keys())


# -- the built-in story ------------------------------------------------------------------------------


def test_a_new_database_answers_from_the_built_in_story(story_index: StoryIndex) -> None:
    answer = story_index.ask("why did Musk leave OpenAI?")
    assert answer.answered
    top = answer.results[0]
    assert "failed power struggle left Musk reeling" in top.text
    assert top.highlight == "That failed power struggle left Musk reeling and eventually leaving OpenAI."
    assert top.source.id == "musk-twitter-ai-gpus"
    assert top.source.title == "Working on the Twitter AI Project, Elon Musk Purchases 10,000 GPUs"
    assert (top.paragraph, top.paragraphs) == (10, 15)


@pytest.mark.parametrize(
    "item", [item for item in DEV_SET if not item.get("abstain")], ids=lambda item: item["q"]
)
def test_story_development_questions_top_1(story_index: StoryIndex, item: dict[str, object]) -> None:
    answer = story_index.ask(str(item["q"]))
    assert answer.answered
    gold = [_normalise(str(g)) for g in item["gold"]]  # type: ignore[attr-defined]
    assert any(g in _normalise(answer.results[0].text) for g in gold)


@pytest.mark.parametrize(
    "question",
    [
        *[str(item["q"]) for item in DEV_SET if item.get("abstain")],
        "What is the capital of France?",
        "How do I bake bread?",
    ],
)
def test_off_topic_questions_are_not_answered(story_index: StoryIndex, question: str) -> None:
    answer = story_index.ask(question)
    assert not answer.answered
    assert answer.message.startswith(NOT_FOUND)


def test_a_question_of_only_stopwords_asks_for_words(story_index: StoryIndex) -> None:
    answer = story_index.ask("what is it?")
    assert not answer.answered
    assert answer.results == ()
    assert "no words" in answer.message


@pytest.mark.parametrize("question", ["", "   ", "x" * 1001])
def test_empty_and_overlong_questions_are_refused(story_index: StoryIndex, question: str) -> None:
    with pytest.raises(QuestionError):
        story_index.ask(question)


@pytest.mark.parametrize(
    "question", ["why did Musk leave OpenAI?", "Musk Musk GPUs", "Twitter data", "OpenAI 2015 $1 billion"]
)
def test_story_scores_equal_rank_bm25(story_index: StoryIndex, question: str) -> None:
    assert_scores_match_reference(story_index, question, (SHARED_SCOPE,))


def test_context_gives_the_neighbouring_paragraphs(story_index: StoryIndex) -> None:
    top = story_index.ask("why did Musk leave OpenAI?").results[0]
    context = story_index.context(top.paragraph_id)
    assert [paragraph.position for paragraph in context] == [9, 10, 11]


def test_more_pages_past_earlier_passages(story_index: StoryIndex) -> None:
    first = story_index.ask("Musk OpenAI", top=2)
    second = story_index.ask("Musk OpenAI", top=2, skip=2)
    assert {p.paragraph_id for p in first.results}.isdisjoint({p.paragraph_id for p in second.results})
    assert [p.rank for p in second.results] == [1, 2]


# -- sources -----------------------------------------------------------------------------------------

ARTICLE = {
    "id": "moon",
    "title": "Moon base opens",
    "text": "The lunar base opened on Monday.\n\nIt houses twelve astronauts.",
}


def test_adding_finds_the_new_article_and_re_adding_unchanged_changes_nothing(
    story_index: StoryIndex, tmp_path: Path
) -> None:
    path = write_jsonl(tmp_path / "news.jsonl", [ARTICLE])
    report = story_index.add_paths([path])
    assert [record.id for record in report.added] == ["moon"]
    assert story_index.ask("how many astronauts live on the lunar base?").results[0].source.id == "moon"
    before = story_index.stats()
    again = story_index.add_paths([path])
    assert [record.id for record in again.unchanged] == ["moon"]
    assert not again.added and not again.updated
    assert story_index.stats().segments == before.segments


def test_re_adding_a_changed_source_updates_it(story_index: StoryIndex, tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "news.jsonl", [ARTICLE])
    story_index.add_paths([path])
    write_jsonl(
        path, [{**ARTICLE, "text": "The lunar base closed on Friday.\n\nIt housed twelve astronauts."}]
    )
    report = story_index.add_paths([path])
    assert [record.id for record in report.updated] == ["moon"]
    top = story_index.ask("when did the lunar base close?").results[0]
    assert top.text == "The lunar base closed on Friday."
    assert story_index.ask("lunar base opened Monday").results[0].text != "The lunar base opened on Monday."
    assert_scores_match_reference(story_index, "lunar base astronauts", (SHARED_SCOPE,))


def test_removing_a_source_keeps_statistics_exact(story_index: StoryIndex, tmp_path: Path) -> None:
    articles = [
        {
            "id": f"a{i}",
            "title": f"Report {i}",
            "text": f"Musk bought {i} GPUs.\n\nOpenAI replied on day {i}.",
        }
        for i in range(6)
    ]
    story_index.add_paths([write_jsonl(tmp_path / "many.jsonl", articles)])
    story_index.remove("a2")
    story_index.remove("a4")
    assert {record.id for record in story_index.sources()} == {"musk-twitter-ai-gpus", "a0", "a1", "a3", "a5"}
    assert_scores_match_reference(story_index, "Musk GPUs OpenAI replied", (SHARED_SCOPE,))
    with pytest.raises(UnknownSource):
        story_index.remove("a2")


def test_many_small_adds_merge_segments_without_changing_scores(
    story_index: StoryIndex, tmp_path: Path
) -> None:
    for i in range(30):
        story_index.add_paths(
            [
                write_jsonl(
                    tmp_path / f"n{i}.jsonl",
                    [{"id": f"n{i}", "title": f"Note {i}", "text": f"GPU note {i} on OpenAI."}],
                )
            ]
        )
        if i % 3 == 0:
            story_index.remove(f"n{i}")
    assert story_index.stats().segments <= 13
    assert_scores_match_reference(story_index, "GPU note OpenAI", (SHARED_SCOPE,))


def test_a_server_view_has_exact_statistics_and_other_servers_do_not_see_it(
    story_index: StoryIndex, tmp_path: Path
) -> None:
    story_index.add_paths([write_jsonl(tmp_path / "a.jsonl", [ARTICLE])], scope="guild:1")
    other = {"id": "mars", "title": "Mars rover lands", "text": "The Musk rover landed on Mars."}
    story_index.add_paths([write_jsonl(tmp_path / "b.jsonl", [other])], scope="guild:2")
    view = (SHARED_SCOPE, "guild:1")
    assert story_index.ask("lunar base astronauts", scopes=view).results[0].source.id == "moon"
    assert all(
        p.source.id != "moon"
        for p in story_index.ask("lunar base astronauts", scopes=(SHARED_SCOPE, "guild:2")).results
    )
    assert all(p.source.id != "moon" for p in story_index.ask("lunar base astronauts").results)
    assert_scores_match_reference(story_index, "Musk lunar base GPUs", view)
    assert_scores_match_reference(story_index, "Musk rover Mars", (SHARED_SCOPE, "guild:2"))
    with pytest.raises(UnknownSource):
        story_index.remove("moon", scopes=["guild:2"])


def test_unreadable_paths_are_reported_and_the_rest_is_added(story_index: StoryIndex, tmp_path: Path) -> None:
    good = write_jsonl(tmp_path / "good.jsonl", [ARTICLE])
    report = story_index.add_paths([tmp_path / "missing.txt", good])
    assert [record.id for record in report.added] == ["moon"]
    assert len(report.failed) == 1 and "missing.txt" in report.failed[0][1]


# -- reindex -----------------------------------------------------------------------------------------


def test_reindex_picks_up_changes_and_removals(story_index: StoryIndex, tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "news.jsonl", [ARTICLE, {**ARTICLE, "id": "sun", "title": "Sun flare"}])
    story_index.add_paths([path])
    write_jsonl(path, [{**ARTICLE, "text": "The lunar base closed."}])
    report = story_index.reindex()
    assert (report.changed, report.removed, report.added) == (1, 1, 0)
    assert report.sources == 2
    assert story_index.stats().segments == 1
    assert story_index.ask("lunar base closed").results[0].text == "The lunar base closed."
    assert_scores_match_reference(story_index, "lunar base Musk", (SHARED_SCOPE,))


def test_a_missing_source_is_kept_as_stale_on_reindex(story_index: StoryIndex, tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "news.jsonl", [ARTICLE])
    story_index.add_paths([path])
    path.unlink()
    report = story_index.reindex()
    assert [origin for origin, _ in report.failed] == [str(path.resolve())]
    moon = next(record for record in story_index.sources() if record.id == "moon")
    assert moon.status == "stale"
    assert story_index.ask("lunar base astronauts").results[0].source.id == "moon"


def test_a_failing_reindex_leaves_the_old_index_answering(story_index: StoryIndex, tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "news.jsonl", [ARTICLE])
    story_index.add_paths([path])
    before = story_index.ask("lunar base astronauts").to_json()

    def broken_loader(origin: str) -> list:  # type: ignore[type-arg]
        if origin.endswith("news.jsonl"):
            raise RuntimeError("disk on fire")
        from index.sources.origins import load_origin

        return load_origin(origin)

    with pytest.raises(RuntimeError, match="disk on fire"):
        story_index.reindex(load=broken_loader)
    assert story_index.ask("lunar base astronauts").to_json() == before
    with closing(sqlite3.connect(story_index.path)) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)


def test_a_source_error_is_a_source_error(empty_index: StoryIndex, tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text("{not json\n")
    report = empty_index.add_paths([bad])
    assert "line 1" in report.failed[0][1]
    with pytest.raises(SourceError):
        from index.sources.readers import read_path

        read_path(bad)


def test_an_empty_index_says_so(empty_index: StoryIndex) -> None:
    answer = empty_index.ask("why did Musk leave OpenAI?")
    assert not answer.answered
    assert "No articles" in answer.message


def test_a_change_from_another_connection_is_seen_by_the_next_question(
    story_index: StoryIndex, tmp_path: Path
) -> None:
    question = "Musk lunar base GPUs"
    before = story_index.ask(question, top=50)
    with StoryIndex(story_index.path) as writer:  # another process would hold its own connection like this
        writer.add_paths([write_jsonl(tmp_path / "a.jsonl", [ARTICLE])])
    after = story_index.ask(question, top=50)
    expected, _ = reference_scores(story_index, question, (SHARED_SCOPE,))
    assert after.results[0].source.id == "moon"
    assert {p.paragraph_id: p.bm25 for p in after.results} == pytest.approx(
        {p.paragraph_id: expected[p.paragraph_id] for p in after.results}, abs=1e-9
    )
    assert before.results[0].bm25 != pytest.approx(expected[before.results[0].paragraph_id], abs=1e-9)


def test_an_id_that_starts_with_another_articles_id_is_its_own_article(
    empty_index: StoryIndex, tmp_path: Path
) -> None:
    """ "x-1" and "x-intro" beside "x" in one file are three articles, stored and re-added as three."""
    articles = [
        {"id": "x-1", "title": "First", "text": "The first note on the harbour."},
        {"id": "x-intro", "title": "Intro", "text": "An introduction to the tides."},
        {"id": "x", "title": "Main", "text": "The main report on the barrier."},
    ]
    path = tmp_path / "notes.jsonl"
    path.write_text("".join(json.dumps(article) + "\n" for article in articles), encoding="utf-8")
    first = empty_index.add_paths([path])
    again = empty_index.add_paths([path])
    assert sorted(record.id for record in empty_index.sources()) == ["x", "x-1", "x-intro"]
    assert first.total("added").articles == 3
    assert again.total("unchanged").articles == 3
