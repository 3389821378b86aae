"""The static token embedding: the shipped table loads, related words meet, empty texts are nothing."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from tokenizers import Tokenizer as WordPiece

from index.engine import semantic
from index.engine.ranking import BM25Parameters, CorpusStats
from index.engine.rerank import Candidate, Reranker, RerankWeights, rerank
from index.engine.semantic import TABLE, StaticEmbedding, shipped_embedding
from index.engine.tokenizer import STOPWORDS, Tokenizer

EMBEDDING = shipped_embedding()


def test_the_shipped_table_is_small_and_says_where_it_came_from() -> None:
    sizes = {path.name: path.stat().st_size for path in TABLE.iterdir()}
    assert set(sizes) == {"tokenizer.json", "embeddings.npy", "scales.npy", "SOURCE.json"}
    assert sum(sizes.values()) <= 8 * 2**20
    rows = np.load(TABLE / "embeddings.npy", mmap_mode="r")
    assert rows.dtype == np.int8
    assert np.load(TABLE / "scales.npy").shape == (rows.shape[0],)
    source = json.loads((TABLE / "SOURCE.json").read_text(encoding="utf-8"))
    assert len(source["model_safetensors_sha256"]) == 64
    assert source["rows"] == rows.shape[0]


def test_a_text_has_the_content_tokens_of_the_whole_though_read_a_word_at_a_time() -> None:
    whole = WordPiece.from_file(str(TABLE / "tokenizer.json"))
    vocabulary = {token_id: token for token, token_id in whole.get_vocab().items()}
    text = 'Chopin\'s ÉTUDES, written in 1829–32, ("Op. 10") were dedicated to Liszt.'
    content = [
        token_id
        for token_id in whole.encode(text, add_special_tokens=False).ids
        if vocabulary[token_id] not in STOPWORDS and any(c.isalnum() for c in vocabulary[token_id])
    ]
    assert len(content) >= 8
    assert EMBEDDING.token_ids(text) == content
    assert EMBEDDING.token_ids(text) == content  # from the words remembered the first time
    assert EMBEDDING.token_ids(text.upper()) == content


@pytest.mark.parametrize(
    ("question", "related", "unrelated"),
    [
        ("a yearly festival", "the annual festival", "the piano festival"),
        ("when did he die", "his death came in 1849", "his birth came in 1849"),
        ("how large is the city", "the city is huge", "the city is old"),
    ],
)
def test_a_paragraph_of_related_words_covers_the_question_more_than_unrelated_ones(
    question: str, related: str, unrelated: str
) -> None:
    near, far = EMBEDDING.coverage(question, [related, unrelated])
    assert near > far


def test_the_questions_own_words_cover_it_wholly_and_none_of_them_partly() -> None:
    full, partial, none = EMBEDDING.coverage(
        "annual festival Warsaw", ["The annual festival of Warsaw.", "The annual fair.", "Bananas grow."]
    )
    assert full == pytest.approx(1.0, abs=1e-5)
    assert 0 < none < partial < full


@pytest.mark.parametrize(
    ("question", "texts", "expected"),
    [
        ("", ["the annual festival"], [0.0]),
        ("annual festival", [""], [0.0]),
        ("annual festival", ["   ", "?!"], [0.0, 0.0]),
        ("what is the", ["the annual festival"], [0.0]),  # only stopwords: nothing to cover
        ("annual festival", [], []),
    ],
)
def test_empty_texts_and_questions_cover_nothing(
    question: str, texts: list[str], expected: list[float]
) -> None:
    assert EMBEDDING.coverage(question, texts).tolist() == expected


def test_a_texts_meaning_does_not_depend_on_what_was_read_before(monkeypatch: pytest.MonkeyPatch) -> None:
    question = "Why did the founder leave the annual festival in 1849?"
    texts = [
        "The founder left the festival.",
        "Founder's festival, (annual) in 1849: the FOUNDER left!",
        "«Festival» — founder’s “annual” departure… in 1849.",
        "founder festival annual 1849",
    ]
    expected = [float(EMBEDDING.coverage(question, [text])[0]) for text in texts]
    assert len(set(expected)) == len(texts)  # each reads differently
    # A reader keeping next to nothing forgets words and texts between reads (and within one).
    monkeypatch.setattr(semantic, "WORDS_KEPT", 3)
    monkeypatch.setattr(semantic, "TEXTS_KEPT", 1)
    forgetful = StaticEmbedding(TABLE)
    for _ in range(2):
        assert [float(forgetful.coverage(question, [text])[0]) for text in texts] == expected


def test_a_text_given_in_parts_reads_as_the_parts_joined() -> None:
    question = "Why did the founder leave the annual festival in 1849?"
    parts = [("The Founder's Festival", "He left in 1849."), ("", "He left."), ("Annual.", ""), ()]
    joined = [". ".join(text) for text in parts]
    assert EMBEDDING.coverage(question, parts).tolist() == EMBEDDING.coverage(question, joined).tolist()
    assert EMBEDDING.coverage(question, parts)[0] > EMBEDDING.coverage(question, [parts[0][1]])[0]


def test_the_table_is_read_once_on_first_use(tmp_path: Path) -> None:
    missing = StaticEmbedding(tmp_path / "nowhere")  # nothing is read until a text is
    with pytest.raises(FileNotFoundError):
        missing.coverage("annual festival", ["the annual festival"])
    assert shipped_embedding() is EMBEDDING


def test_the_second_stage_puts_the_paragraph_in_the_questions_meaning_first() -> None:
    tokenizer = Tokenizer()
    question = "How often is the festival held?"
    terms = tokenizer.tokenize(question, for_query=True)
    idf = dict.fromkeys(terms, 2.0)
    stats = CorpusStats(paragraphs=100, tokens=2000, average_idf=1.0)

    def candidate(text: str) -> Candidate:
        return Candidate("town", text, "Town news", 2, 5, len(tokenizer.tokenize(text)), 2.0)

    texts = ["The festival was held with bread and cakes.", "The festival is held every year, annually."]
    candidates = [candidate(text) for text in texts]
    plain = Reranker(
        tokenizer, terms, idf, stats, BM25Parameters(), RerankWeights(semantic=0.0), question=question
    )
    meaning = Reranker(tokenizer, terms, idf, stats, BM25Parameters(), question=question)
    assert [index for index, _ in rerank(candidates, plain)] == [0, 1]  # a tie: the first stage's order
    order = rerank(candidates, meaning)
    assert [index for index, _ in order] == [1, 0]
    assert order[0][1].semantic > order[1][1].semantic > 0


def test_the_questions_rarest_word_in_the_view_weighs_most() -> None:
    # Both paragraphs name Musk and OpenAI, as every paragraph of a story about them does: what tells them
    # apart is the word of the question that no paragraph holds.
    question = "Why did Musk leave OpenAI?"
    texts = ["Musk quit OpenAI after the feud.", "Musk praised OpenAI after the feud."]
    in_the_view = {"why": 0.0, "did": 0.0, "musk": 0.1, "leave": 3.0, "openai": 0.1}
    quit_, praised = EMBEDDING.coverage(question, texts)
    rarer_quit, rarer_praised = EMBEDDING.coverage(question, texts, in_the_view)
    assert quit_ > praised
    assert rarer_quit - rarer_praised > 3 * (quit_ - praised)
    # A question whose words the view does not weigh keeps the table's own weights.
    unweighed = EMBEDDING.coverage(question, texts, dict.fromkeys(in_the_view, 0.0))
    assert unweighed.tolist() == [quit_, praised]


def test_a_question_word_no_paragraph_holds_still_weighs_in_the_meaning() -> None:
    # "quit" adds nothing to BM25 (no paragraph holds it), and Musk and OpenAI are in every paragraph: only
    # the meaning can find the paragraph that says "left", and it must weigh enough to beat a higher BM25.
    tokenizer = Tokenizer()
    question = "Why did Musk quit OpenAI?"
    terms = tokenizer.tokenize(question, for_query=True)
    assert "quit" in terms
    idf = {"musk": 0.1, "openai": 0.1}
    rarity = {"musk": 0.1, "quit": 4.0, "openai": 0.1}
    stats = CorpusStats(paragraphs=100, tokens=2000, average_idf=1.0)

    def candidate(text: str, bm25: float) -> Candidate:
        return Candidate("story", text, "Story", 2, 5, len(tokenizer.tokenize(text)), bm25)

    candidates = [candidate("Musk praised OpenAI's lab.", 0.4), candidate("Musk resigned from OpenAI.", 0.2)]
    reranker = Reranker(tokenizer, terms, idf, stats, BM25Parameters(), question=question, rarity=rarity)
    assert [index for index, _ in rerank(candidates, reranker)] == [1, 0]
