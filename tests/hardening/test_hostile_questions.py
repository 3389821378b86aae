"""Any text a user can type goes through the question path without an exception or a misread query."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.cli import cli
from index import QuestionError, StoryIndex
from index.engine.searcher import RERANK_DEPTH, Searcher

# Each hostile question, and the plain words it must be read as.
HOSTILE = [
    ('Musk AND NOT "OpenAI*"', "Musk OpenAI"),
    ("Musk OR OpenAI NEAR(leave, 5)", "Musk OpenAI near leave 5"),
    ("musk:openai -leave ^left", "musk openai leave left"),
    ("Musk' OR '1'='1'; DROP TABLE paragraphs; --", "Musk 1 1 drop table paragraphs"),
    ("Musk%_* OpenAI\\ (leave) {left} [why]", "Musk OpenAI leave left"),
    ("\u202eMusk\u202c \u200bOpen\u200bAI\u200b leave", "Musk OpenAI leave"),  # RTL override, zero-width
]


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StoryIndex]:
    with StoryIndex(tmp_path_factory.mktemp("hostile") / "q.db") as story:
        yield story


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(max_size=10_000))
def test_any_text_is_answered_or_refused_with_a_message(index: StoryIndex, question: str) -> None:
    try:
        answer = index.ask(question)
    except QuestionError as error:
        assert str(error)
        return
    assert answer.message
    assert len(answer.results) <= 3


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(min_size=1_001, max_size=10_000))
def test_the_search_itself_takes_any_long_text(index: StoryIndex, question: str) -> None:
    # Below the length check: the ranking path must cope with whatever reaches it.
    conn = index._connection()
    result = Searcher(conn, index.tokenizer, index.params).search(question, 3)
    assert len(result.hits) <= max(3, RERANK_DEPTH)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(question=st.text(max_size=2_000))
def test_the_command_line_never_shows_a_traceback(
    tmp_path_factory: pytest.TempPathFactory, question: str
) -> None:
    db = tmp_path_factory.getbasetemp() / "cli-hostile.db"
    # After "--", as a shell user would type a question that starts with a dash.
    result = CliRunner().invoke(cli, ["--db", str(db), "ask", "--", question])
    assert result.exit_code in (0, 1), result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    if result.exit_code:
        assert len(result.stderr.strip().splitlines()) == 1
        assert result.stderr.startswith("Error: ")


@pytest.mark.parametrize(("question", "words"), HOSTILE)
def test_query_syntax_is_read_as_words_not_operators(index: StoryIndex, question: str, words: str) -> None:
    tokenize = index.tokenizer.tokenize
    assert tokenize(question, for_query=True) == tokenize(words, for_query=True)
    answer, plain = index.ask(question), index.ask(words)
    assert [(p.paragraph_id, p.score) for p in answer.results] == [
        (p.paragraph_id, p.score) for p in plain.results
    ]


def test_an_injection_attempt_leaves_the_database_alone(index: StoryIndex, tmp_path: Path) -> None:
    before = index.stats()
    index.ask(HOSTILE[3][0])
    assert index.stats() == before
