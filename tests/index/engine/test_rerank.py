"""The second stage: where the question's words stand, and the title as evidence about the article."""

from __future__ import annotations

from pathlib import Path

import pytest

from index import StoryIndex
from index.engine.occurrences import TermFinder
from index.engine.ranking import BM25Parameters, CorpusStats
from index.engine.rerank import BODY_PARAMETERS, WINDOW, Candidate, Reranker, RerankWeights, rerank
from index.engine.searcher import RERANK_DEPTH, Searcher
from index.engine.tokenizer import Tokenizer
from index.models import Article

TOKENIZER = Tokenizer()
STATS = CorpusStats(paragraphs=100, tokens=2000, average_idf=1.0)


def reranker(question: str, idf: dict[str, float], weights: RerankWeights | None = None) -> Reranker:
    terms = TOKENIZER.tokenize(question, for_query=True)
    return Reranker(TOKENIZER, terms, idf, STATS, BM25Parameters(), weights)


def candidate(text: str, *, position: int = 2, paragraphs: int = 5, bm25: float = 1.0) -> Candidate:
    length = len(TOKENIZER.tokenize(text))
    return Candidate("harbour", text, "Harbour news", position, paragraphs, length, bm25)


def test_the_finder_confirms_each_word_and_meets_numbers_however_written() -> None:
    finder = TermFinder(["car", "10000", "universiti"], TOKENIZER)
    text = "A career in cars: 10,000 cars left the University; a car."
    # "career" starts with "car" but is not a car; "universiti" stands for "university".
    assert finder.occurrences(text) == [
        (12, "car"),
        (18, "10000"),
        (25, "car"),
        (39, "universiti"),
        (53, "car"),
    ]
    assert TermFinder(["car"]).occurrences("A career, a car") == [(2, "car"), (12, "car")]  # unconfirmed
    assert TermFinder(["car"], TOKENIZER).occurrences("Oscar") == []  # a term starts a word


def test_the_finder_meets_a_stem_whose_last_letter_its_word_drops() -> None:
    # Snowball stems "hiring" as "hire" and "studies" as "studi": neither is a prefix of its word.
    finder = TermFinder(["hire", "make", "studi"], TOKENIZER)
    text = "Hiring, making, studies; he hired us, made a hirsute maker."
    assert finder.occurrences(text) == [(0, "hire"), (8, "make"), (16, "studi"), (28, "hire")]


def test_terms_together_in_one_sentence_outrank_the_same_terms_scattered() -> None:
    ranker = reranker("when did the barrier open", {"barrier": 2.0, "open": 1.5})
    scattered = candidate("The barrier was built. Many years later a museum would open nearby.")
    together = candidate("The museum was built. Many years later the barrier would open nearby.")
    order = rerank([scattered, together], ranker)
    assert [index for index, _ in order] == [1, 0]
    assert order[0][1].sentence == pytest.approx(0.25 * 3.5)
    assert order[1][1].sentence == pytest.approx(0.25 * 2.0)


def test_proximity_adds_the_rarer_terms_idf_over_the_words_between() -> None:
    ranker = reranker("barrier open", {"barrier": 2.0, "open": 1.5}, RerankWeights(0, 0, 1))
    adjacent = ranker.read(candidate("the barrier open today"))
    three_apart = ranker.read(candidate("the barrier will soon open"))
    too_far = ranker.read(candidate("the barrier " + "word " * WINDOW + "open"))
    assert adjacent.proximity == pytest.approx(1.5 / 1)
    assert three_apart.proximity == pytest.approx(1.5 / 3)
    assert too_far.proximity == 0.0


def test_the_word_naming_the_kind_of_answer_is_not_where_the_answer_stands() -> None:
    question = "What year did the barrier open?"
    assert TOKENIZER.kind_terms(question) == {"year"}
    terms = TOKENIZER.tokenize(question, for_query=True)
    idf = {"year": 1.0, "barrier": 2.0, "open": 1.5}
    ranker = Reranker(
        TOKENIZER, terms, idf, STATS, BM25Parameters(), RerankWeights(0, 1, 1, 0), question=question
    )
    # "year" beside "barrier" is no sign of the answer: only "barrier" and "open" are read where they stand.
    reading = ranker.read(candidate("That year the barrier was built. It would open in 1901."))
    assert reading.sentence == pytest.approx(2.0)
    assert reading.proximity == pytest.approx(1.5 / 5)  # "barrier" and "open", five words apart


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("How many GPUs did Musk buy?", {"mani"}),
        ("Which company did Musk found?", {"compani"}),
        ("In what year did Chopin die?", {"year"}),
        ("Why did Musk leave OpenAI?", set()),
        ("What did Musk do?", set()),  # a stopword names no kind
    ],
)
def test_the_kind_of_answer_follows_how_what_which_or_whose(question: str, kind: set[str]) -> None:
    assert TOKENIZER.kind_terms(question) == kind


def test_a_one_paragraph_article_counts_its_title_in_its_body_as_the_first_stage_does() -> None:
    ranker = reranker("harbour barrier", {"harbour": 1.0, "barrier": 2.0}, RerankWeights(1, 0, 0))
    # "Harbour news" counts twice in the article's one paragraph: 1 term of its own and 4 of the title.
    whole = Candidate("harbour", "A barrier.", "Harbour news", 1, 1, 5, 7.25)
    reading = ranker.read(whole)
    k1, b = BODY_PARAMETERS.k1, BODY_PARAMETERS.b
    saturation = k1 * (1 - b + b * 5 / STATS.average_length)
    body = 1.0 * 2 * (k1 + 1) / (2 + saturation) + 2.0 * 1 * (k1 + 1) / (1 + saturation)
    assert reading.body == pytest.approx(body)
    assert (reading.title, reading.score) == (0.0, reading.body)  # no title reading besides


def test_the_title_counts_for_every_paragraph_of_its_article_alike() -> None:
    ranker = reranker("harbour barrier", {"harbour": 1.0, "barrier": 2.0}, RerankWeights(1, 0, 0))
    lead = ranker.read(candidate("The barrier.", position=1, bm25=9.0))
    later = ranker.read(candidate("The barrier.", position=3, bm25=1.2))
    assert lead.title == later.title == 1.0  # "harbour" is in the title "Harbour news"
    # The lead's first-stage score counted the title twice; its body alone is what a later paragraph has.
    assert lead.body < 9.0


def test_the_body_is_bm25_of_the_paragraphs_own_words_weighing_length_more() -> None:
    ranker = reranker("harbour barrier", {"harbour": 1.0, "barrier": 2.0}, RerankWeights(0, 0, 0, 0))
    short = candidate("The barrier held.")
    long = candidate("The barrier held " + "while the tide rose " * 8 + "all night.")
    k1, b = BODY_PARAMETERS.k1, BODY_PARAMETERS.b

    def bm25(tf: int, length: int) -> float:
        return 2.0 * tf * (k1 + 1) / (tf + k1 * (1 - b + b * length / STATS.average_length))

    # Read from the paragraph's words, whatever the first stage scored it (`bm25=1.0` for both here).
    assert ranker.read(short).body == pytest.approx(bm25(1, short.length))
    assert ranker.read(long).body == pytest.approx(bm25(1, long.length))
    assert b > BM25Parameters().b  # the long paragraph loses more than in the first stage
    assert ranker.read(candidate("The barrier, the barrier.")).body == pytest.approx(bm25(2, 2))


def test_a_question_repeating_the_title_finds_the_paragraph_that_answers_not_the_lead(tmp_path: Path) -> None:
    article = Article(
        "saltmarsh",
        "Saltmarsh tidal barrier delayed",
        (
            "Engineers met on Monday in the town hall to discuss the plans.",
            "The council expects the final bill to reach 40 million pounds.",
            "It is now expected to open in 2027, after the first contractor failed.",
        ),
        origin="test",
    )
    other = Article("weather", "Storm warning", ("A storm will reach the coast on Friday.",), origin="test")
    with StoryIndex(tmp_path / "db.sqlite", with_builtin_story=False) as index:
        index.add_articles([article, other])
        question = "When is the Saltmarsh tidal barrier expected to open?"
        first = index.first_stage(question, top=3)
        answer = index.ask(question, top=3)
    assert first[0].passage.position == 1  # the title, counted in the lead, carries the first stage
    assert answer.results[0].paragraph == 3
    assert answer.answered


def test_a_question_about_what_followed_finds_the_paragraph_that_carries_on(tmp_path: Path) -> None:
    article = Article(
        "bridge",
        "River crossing",
        (
            "The town's old footbridge was built in 1902 by local masons.",
            "The footbridge collapsed in March after a week of heavy rain.",
            "Two weeks later, the council closed the road and ordered a ferry.",
            "Tourists still visit the river for its birds.",
        ),
        origin="test",
    )
    with StoryIndex(tmp_path / "db.sqlite", with_builtin_story=False) as index:
        index.add_articles([article])
        followed = index.ask("What happened after the footbridge collapsed?", top=2)
        why = index.ask("Why did the footbridge collapse?", top=2)
    # The third paragraph shares no word with the question: it is read because it carries on from the second.
    assert [passage.paragraph for passage in followed.results] == [3, 2]
    assert followed.answered
    assert why.results[0].paragraph == 2


def test_the_paragraph_after_is_read_once_when_it_is_already_among_the_hits(tmp_path: Path) -> None:
    notes = [
        f"Footbridge note {number}: the footbridge had a survey in {2000 + number}."
        for number in range(RERANK_DEPTH + 2)
    ]
    paragraphs = (
        notes[0],
        "The footbridge collapsed in March after a week of heavy rain.",
        "Two weeks later, the council closed the footbridge road and ordered a ferry.",
        *notes[1:],
    )
    question = "What happened after the footbridge collapsed?"
    with StoryIndex(tmp_path / "db.sqlite", with_builtin_story=False) as index:
        index.add_articles([Article("bridge", "River crossing", paragraphs, origin="test")])
        first = [hit.passage.position for hit in index.first_stage(question, top=len(paragraphs))]
        searcher = Searcher(index._connection(), index.tokenizer, index.params)
        hits = searcher.search(question, len(paragraphs)).hits
    assert first.index(3) >= RERANK_DEPTH  # the paragraph after the event is among the later hits
    positions = [hit.passage.position for hit in hits]
    assert positions[:2] == [3, 2]
    assert sorted(positions) == list(range(1, len(paragraphs) + 1))  # every paragraph once, none read twice
