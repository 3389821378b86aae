"""Passage-level question answering: does storybot put the paragraph that answers a question first?

Measured through the command line exactly as a user runs it, on the SQuAD development set in
`../shared/evaldata/squad-dev` (20 Wikipedia articles, 1,257 paragraphs, 7,670 questions each written on one
paragraph, 500 off-topic questions). For each database: `storybot add articles.jsonl`, `storybot remove` of
the built-in story (every source whose origin starts with "builtin:"), then `storybot ask --batch ask.jsonl
--json --top 10`. rank-bm25, bm25s and SQLite FTS5 rank the same paragraphs (each article's text split on
blank lines, paragraph text only, no title) for the same questions, in this process. The story development
set (`../shared/eval/story_qa_dev.jsonl`) is asked of a new database as it comes, holding only the built-in
story.

    python benchmarks/passage_qa.py                        # about two minutes on two cores
    python benchmarks/passage_qa.py --only squad --per-article --json squad.json --keep /tmp/squad-run

The two settings, as the set's score.py defines them:

- **all articles in one index** (global): one database with the 20 articles, asked every question; a hit is
  the gold (article, paragraph) pair, so the right paragraph of the wrong article is a miss.
- **each article alone** (within): one database per article, asked that article's questions and the 25
  off-topic questions asked against it (20 runs, two at a time).

The figures: **top-1** and **top-3**, the share of questions whose gold paragraph is ranked first, or in the
first three; **MRR@10**, the mean of 1/rank of the gold paragraph in the first ten results (0 if absent);
**answered**, the share of the questions storybot answered (`"answered": true`); **off-topic declined**, the
share of the off-topic questions it did not answer, each article alone. Rankings count the passages storybot
returns whether or not it judged them an answer, and a question missing from a run counts as a miss. The
peers have no abstain decision, so the last two figures are storybot's only. On the story set a hit is a top
passage holding one of the question's gold phrases (case, white space and curly quotes aside).

The peers: rank-bm25's `BM25Okapi` with its defaults and bm25s with its own (method "lucene") on the same
tokens, bm25s's tokenizer with English stopwords and the Snowball stemmer; SQLite FTS5 (`porter unicode61`,
in memory) ranked by `bm25()`, each question an OR of its quoted words. rank-bm25 and FTS5 break ties by the
lower paragraph number. rank-bm25 and bm25s return ten paragraphs even when some score zero, FTS5 only those
holding a word of the question.

The figures are computed here with the same definitions as score.py; when the set's folder holds score.py, it
judges too (every engine's run, storybot's from its answer files) and the run fails unless both agree. Where
storybot's answers carry `"confidence"`, a trade-off table shows, for thresholds from 0 to 1, the off-topic
questions declined (confidence below the threshold) and the own questions answered (at or above it).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import math
import os
import re
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

# `python benchmarks/<script>.py` puts benchmarks/ first on sys.path; `import benchmarks` needs the root.
if not __package__:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import bm25s
import numpy as np
import numpy.typing as npt
import Stemmer
from rank_bm25 import BM25Okapi

from benchmarks.evaluate import _normalise as normalise
from benchmarks.paths import SHARED
from benchmarks.scaling.report import engine_fingerprint, machine

SQUAD_SET = SHARED / "evaldata" / "squad-dev"
STORY_SET = SHARED / "eval" / "story_qa_dev.jsonl"
TOP = 10
WORKERS = 2
"""storybot processes at a time: the machine the figures are reported for has two cores."""
THRESHOLDS = [i / 20 for i in range(21)]

Row = dict[str, Any]
Ranked = list[tuple[str, int] | None]
Run = dict[str, tuple[bool, Ranked]]
"""What score.py's load_run returns: {question id: (answered, [(article id, 0-based paragraph), ...])}."""


class StorybotFailed(Exception):
    """A storybot command exited with an error."""


class ScorersDisagree(Exception):
    """The built-in scoring and the set's score.py gave different figures for the same run."""


class BadInput(Exception):
    """A file to read is missing or not JSONL, or the folder to keep is not empty."""


# --- the data -------------------------------------------------------------------------------------------


def read_jsonl(path: Path) -> list[Row]:
    """The JSON objects of a JSONL file, blank lines skipped."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as error:
        raise BadInput(f"{path}: {error.strerror}") from error
    rows = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError as error:
            raise BadInput(f"{path}:{number}: not JSON ({error.msg})") from error
    return rows


def write_jsonl(path: Path, rows: Sequence[Row]) -> None:
    """Write rows as JSONL, one object a line."""
    path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")


@dataclass(frozen=True)
class QaSet:
    """The SQuAD set: articles, questions tied to a paragraph, off-topic questions asked of an article."""

    articles: list[Row]
    questions: list[Row]
    offtopic: list[Row]

    @classmethod
    def read(cls, folder: Path) -> QaSet:
        """Read the three files of the set's folder."""
        return cls(
            *(read_jsonl(folder / name) for name in ("articles.jsonl", "questions.jsonl", "offtopic.jsonl"))
        )

    def own(self, article_id: str) -> list[Row]:
        """The questions written on this article."""
        return [q for q in self.questions if q["article"] == article_id]

    def offtopic_for(self, article_id: str) -> list[Row]:
        """The off-topic questions asked against this article."""
        return [q for q in self.offtopic if q["article"] == article_id]


def paragraphs(article: Row) -> list[str]:
    """An article's paragraphs as the set numbers them."""
    return cast(list[str], article["text"].split("\n\n"))


# --- scoring, with score.py's definitions ---------------------------------------------------------------


def run_from_answers(answers: Sequence[Row]) -> Run:
    """A run from storybot's answers, read as score.py's load_run reads them (first answer of an id kept)."""
    run: Run = {}
    for answer in answers:
        if answer["id"] in run:
            continue
        ranked: Ranked = []
        for result in answer.get("results") or []:
            try:
                ranked.append((result["source"]["id"], int(result["paragraph"]) - 1))
            except (KeyError, TypeError, ValueError):
                ranked.append(None)  # a malformed result still takes its rank
        run[answer["id"]] = (answer.get("answered") is True, ranked)
    return run


def ranking(run: Run, questions: Sequence[Row]) -> dict[str, Any]:
    """top-1, top-3, MRR@10 and answered share over `questions`; one missing from the run is a miss."""
    n = len(questions)
    top1 = top3 = answered = missing = 0
    mrr = 0.0
    for question in questions:
        if question["id"] not in run:
            missing += 1
            continue
        said, ranked = run[question["id"]]
        answered += said
        gold = (question["article"], question["paragraph"])
        if gold in ranked[:TOP]:
            rank = ranked.index(gold) + 1
            top1 += rank == 1
            top3 += rank <= 3
            mrr += 1 / rank
    share = (lambda count: count / n) if n else (lambda count: 0.0)
    return {
        "questions": n,
        "top1": share(top1),
        "top3": share(top3),
        "mrr10": share(mrr),
        "answered": share(answered),
        "missing": missing,
    }


def declined(run: Run, offtopic: Sequence[Row]) -> dict[str, Any]:
    """Share of off-topic questions the run declined; one missing from the run is not declined."""
    missing = sum(q["id"] not in run for q in offtopic)
    count = sum(q["id"] in run and not run[q["id"]][0] for q in offtopic)
    return {
        "questions": len(offtopic),
        "declined": count / len(offtopic) if offtopic else 0.0,
        "missing": missing,
    }


@dataclass(frozen=True)
class Scorer:
    """The functions that turn a run into figures, named as in score.py."""

    name: str
    load_run: Callable[[Path], Run]
    ranking: Callable[[Run, Sequence[Row]], dict[str, Any]]
    declined: Callable[[Run, Sequence[Row]], dict[str, Any]]


BUILT_IN = Scorer("built-in", lambda path: run_from_answers(read_jsonl(path)), ranking, declined)


def official_scorer(folder: Path) -> Scorer | None:
    """The set's own score.py, if its folder has one."""
    path = folder / "score.py"
    if not path.is_file():
        return None
    spec = importlib.util.spec_from_file_location("squad_dev_score", path)
    if spec is None or spec.loader is None:
        raise BadInput(f"{path}: cannot be loaded")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return Scorer("score.py", module.load_run, module.ranking, module.declined)


def _agree(ours: dict[str, Any], theirs: dict[str, Any]) -> bool:
    return ours.keys() == theirs.keys() and all(
        math.isclose(ours[key], theirs[key], rel_tol=0, abs_tol=1e-12) for key in ours
    )


def judge(
    label: str, runs: Sequence[tuple[Scorer, Run]], questions: Sequence[Row], offtopic: Sequence[Row] | None
) -> Row:
    """The figures of one run by each scorer (built-in first), which must agree; the last one's returned."""
    judged = []
    for scorer, run in runs:
        figures: Row = {"ranking": scorer.ranking(run, questions)}
        if offtopic is not None:
            figures["offtopic"] = scorer.declined(run, offtopic)
        judged.append(figures)
    first = judged[0]
    for (scorer, _run), figures in zip(runs[1:], judged[1:], strict=True):
        for part, value in figures.items():
            if not _agree(first[part], value):
                raise ScorersDisagree(f"{label}, {part}: built-in {first[part]} but {scorer.name} {value}")
    return judged[-1]


# --- storybot, through its command line -----------------------------------------------------------------


def storybot(db: Path, *args: str) -> str:
    """Run the installed command line on `db` and return its standard output."""
    command = [sys.executable, "-m", "bot", "--db", str(db), *args]
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    done = subprocess.run(command, capture_output=True, text=True, encoding="utf-8", env=env, check=False)
    if done.returncode != 0:
        raise StorybotFailed(f"storybot --db {db} {' '.join(args)} failed:\n{done.stderr}")
    return done.stdout


def drop_builtin(db: Path) -> None:
    """Remove the built-in story a new database starts with, so that only the added articles are searched."""
    for source in json.loads(storybot(db, "sources", "--json")):
        if str(source.get("origin", "")).startswith("builtin:"):
            storybot(db, "remove", source["id"])


@dataclass(frozen=True)
class Job:
    """A storybot database in its own folder: the articles to add (none: the built-in story), questions."""

    folder: Path
    articles: list[Row]
    asks: list[Row]

    def answers(self) -> list[Row]:
        """The answers the job wrote."""
        return read_jsonl(self.folder / "answers.jsonl")


def run_job(job: Job) -> float:
    """Build the job's database, ask its questions into answers.jsonl; the wall seconds it took."""
    started = time.perf_counter()
    job.folder.mkdir(parents=True)
    db = job.folder / "index.db"
    if job.articles:
        write_jsonl(job.folder / "articles.jsonl", job.articles)
        storybot(db, "add", str(job.folder / "articles.jsonl"))
        drop_builtin(db)
    write_jsonl(job.folder / "ask.jsonl", [{"id": q["id"], "question": q["question"]} for q in job.asks])
    output = storybot(db, "ask", "--batch", str(job.folder / "ask.jsonl"), "--json", "--top", str(TOP))
    (job.folder / "answers.jsonl").write_text(output, encoding="utf-8")
    return time.perf_counter() - started


def squad_jobs(qa: QaSet, workdir: Path) -> tuple[Job, list[Job]]:
    """The global job (every article, every question) and one job per article."""
    everything = Job(workdir / "all", qa.articles, qa.questions)
    within = [
        Job(
            workdir / "within" / article["id"],
            [article],
            qa.own(article["id"]) + qa.offtopic_for(article["id"]),
        )
        for article in qa.articles
    ]
    return everything, within


def run_jobs(jobs: Sequence[Job]) -> list[float]:
    """Run the jobs, WORKERS at a time, in the order given; their seconds."""
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        return list(pool.map(run_job, jobs))


def misaligned(answers: Sequence[Row], qa: QaSet) -> int:
    """Results whose text is not the set's paragraph of that number: the paragraph splitting has changed."""
    texts = {(a["id"], i): normalise(p) for a in qa.articles for i, p in enumerate(paragraphs(a))}
    run_texts = (
        ((r["source"]["id"], r["paragraph"] - 1), normalise(r["text"])) for a in answers for r in a["results"]
    )
    return sum(texts.get(key) != text for key, text in run_texts)


# --- the peers ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Texts:
    """Texts with their bm25s tokens (English stopwords, Snowball stemmer), tokenized once for every peer."""

    texts: list[str]
    tokens: list[list[str]]

    @classmethod
    def of(cls, texts: list[str]) -> Texts:
        """Tokenize the texts as bm25s does."""
        stemmer = Stemmer.Stemmer("english")
        tokens = bm25s.tokenize(texts, stopwords="en", stemmer=stemmer, return_ids=False, show_progress=False)
        return cls(texts, cast(list[list[str]], tokens))

    def take(self, indices: Sequence[int]) -> Texts:
        """These texts only, in this order."""
        return Texts([self.texts[i] for i in indices], [self.tokens[i] for i in indices])


Engine = Callable[[Texts, Texts], list[list[int]]]
"""Paragraphs and questions in, each question's best paragraph numbers (up to TOP) out, best first."""


def rank_bm25_top(corpus: Texts, questions: Texts) -> list[list[int]]:
    """rank-bm25's BM25Okapi with its defaults, on token lists; ties go to the lower paragraph number."""
    model = BM25Okapi(corpus.tokens)
    return [_best(np.asarray(model.get_scores(tokens), dtype=np.float64)) for tokens in questions.tokens]


def _best(scores: npt.NDArray[np.float64]) -> list[int]:
    return [int(i) for i in np.argsort(-scores, kind="stable")[:TOP]]


def bm25s_top(corpus: Texts, questions: Texts) -> list[list[int]]:
    """bm25s with its defaults (method "lucene"); it refuses a k above the corpus size."""
    if not questions.tokens:
        return []
    model = bm25s.BM25()
    model.index(corpus.tokens, show_progress=False)
    found = model.retrieve(questions.tokens, k=min(TOP, len(corpus.tokens)), show_progress=False)
    return [[int(i) for i in row] for row in found.documents]


def fts5_query(question: str) -> str:
    """The question as an FTS5 query: an OR of its quoted words (raw text can be an FTS5 syntax error)."""
    words = re.findall(r"\w+", question.lower())
    return " OR ".join('"' + word.replace('"', '""') + '"' for word in words)


def fts5_top(corpus: Texts, questions: Texts) -> list[list[int]]:
    """SQLite FTS5 (porter unicode61) in memory, ranked by bm25() and then by paragraph number."""
    with contextlib.closing(sqlite3.connect(":memory:")) as conn:
        conn.execute("CREATE VIRTUAL TABLE t USING fts5(text, tokenize='porter unicode61')")
        conn.executemany("INSERT INTO t (rowid, text) VALUES (?, ?)", enumerate(corpus.texts, start=1))
        search = "SELECT rowid - 1 FROM t WHERE t MATCH ? ORDER BY bm25(t), rowid LIMIT ?"
        return [
            [row[0] for row in conn.execute(search, (query, TOP))] if (query := fts5_query(text)) else []
            for text in questions.texts
        ]


ENGINES: dict[str, Engine] = {"rank-bm25": rank_bm25_top, "bm25s": bm25s_top, "FTS5": fts5_top}


@dataclass(frozen=True)
class PeerInput:
    """Every paragraph (with its article id and number) and every question, tokenized once for all peers."""

    keys: list[tuple[str, int]]
    corpus: Texts
    questions: Texts
    qa: QaSet

    @classmethod
    def of(cls, qa: QaSet) -> PeerInput:
        """Split and tokenize the set."""
        keys = [(a["id"], i) for a in qa.articles for i in range(len(paragraphs(a)))]
        corpus = Texts.of([p for a in qa.articles for p in paragraphs(a)])
        return cls(keys, corpus, Texts.of([q["question"] for q in qa.questions]), qa)


def peer_runs(engine: Engine, given: PeerInput) -> dict[str, Run]:
    """The engine's global and within runs, in score.py's shape; a peer answers every question."""
    ids = [q["id"] for q in given.qa.questions]
    runs: dict[str, Run] = {"global": {}, "within": {}}
    _add_run(runs["global"], engine(given.corpus, given.questions), given.keys, ids)
    for article in given.qa.articles:
        rows = [i for i, key in enumerate(given.keys) if key[0] == article["id"]]
        asked = [i for i, q in enumerate(given.qa.questions) if q["article"] == article["id"]]
        found = engine(given.corpus.take(rows), given.questions.take(asked))
        _add_run(runs["within"], found, [given.keys[i] for i in rows], [ids[i] for i in asked])
    return runs


def _add_run(run: Run, found: list[list[int]], keys: Sequence[tuple[str, int]], ids: Sequence[str]) -> None:
    for question_id, numbers in zip(ids, found, strict=True):
        run[question_id] = (True, [keys[i] for i in numbers])


# --- the story development set --------------------------------------------------------------------------


def story_figures(items: Sequence[Row], answers: dict[str, Row]) -> Row:
    """top-1 and top-3 hits of the answerable questions, and how many of each kind were answered."""
    answerable = [(str(i), item) for i, item in enumerate(items) if not item.get("abstain")]
    offtopic = [str(i) for i, item in enumerate(items) if item.get("abstain")]
    top1 = top3 = answered = 0
    misses = []
    for question_id, item in answerable:
        answer = answers.get(question_id, {})
        texts = [normalise(result["text"]) for result in answer.get("results", [])]
        gold = [normalise(phrase) for phrase in item["gold"]]
        hit1 = any(phrase in texts[0] for phrase in gold) if texts else False
        top1 += hit1
        top3 += any(phrase in text for text in texts[:3] for phrase in gold)
        answered += answer.get("answered") is True
        if not hit1 or answer.get("answered") is not True:
            misses.append(item["q"])
    misses += [items[int(i)]["q"] for i in offtopic if answers.get(i, {}).get("answered", True) is not False]
    return {
        "answerable": len(answerable),
        "top1": top1,
        "top3": top3,
        "answered": answered,
        "offtopic": len(offtopic),
        "declined": sum(answers.get(i, {}).get("answered", True) is False for i in offtopic),
        "misses": misses,
    }


# --- the trade-off between declining and answering ------------------------------------------------------


@dataclass(frozen=True)
class Confidences:
    """The confidence of the answers to questions that should be declined, and to those that should not."""

    offtopic: list[float | None]
    own: list[float | None]

    def declined(self, threshold: float) -> float:
        """Share of the off-topic questions declined at this threshold (a missing answer is not declined)."""
        return _share(self.offtopic, lambda c: c < threshold)

    def answered(self, threshold: float) -> float:
        """Share of the own questions answered at this threshold (a missing answer is not answered)."""
        return _share(self.own, lambda c: c >= threshold)


def _share(values: list[float | None], test: Callable[[float], bool]) -> float:
    return sum(value is not None and test(value) for value in values) / len(values) if values else 0.0


def confidences(
    answers: dict[str, Row], offtopic_ids: Sequence[str], own_ids: Sequence[str]
) -> Confidences | None:
    """The answers' confidences, or None if storybot's answers carry none."""
    if not answers or any("confidence" not in answer for answer in answers.values()):
        return None

    def of(ids: Sequence[str]) -> list[float | None]:
        return [float(answers[i]["confidence"]) if i in answers else None for i in ids]

    return Confidences(of(offtopic_ids), of(own_ids))


def rule_breaks(answers: dict[str, Row]) -> int:
    """Answers whose "answered" is not `confidence >= threshold`, the rule storybot states."""
    return sum(
        answer["answered"] is not (answer["confidence"] >= answer["threshold"])
        for answer in answers.values()
        if "threshold" in answer
    )


def curve(curves: dict[str, Confidences], shipped: set[float]) -> list[Row]:
    """One row per threshold (the grid and the shipped ones): each set's declined and answered shares."""
    rows = []
    for threshold in sorted(set(THRESHOLDS) | shipped):
        row: Row = {"threshold": threshold, "shipped": threshold in shipped}
        for name, values in curves.items():
            row[name] = {"declined": values.declined(threshold), "answered": values.answered(threshold)}
        rows.append(row)
    return rows


# --- the runs -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Part:
    """A part's figures and answers, and the confidences for its trade-off curve (None: none given)."""

    figures: Row
    confidences: Confidences | None
    answers: dict[str, Row]


def by_id(answers: Sequence[Row]) -> dict[str, Row]:
    """Answers keyed by question id, the first of a repeated id kept (as score.py does)."""
    keyed: dict[str, Row] = {}
    for answer in answers:
        keyed.setdefault(answer["id"], answer)
    return keyed


def evaluate_squad(qa: QaSet, workdir: Path, official: Scorer | None, seconds: dict[str, float]) -> Part:
    """storybot through its command line and the three peers, both settings, judged by every scorer."""
    scorers = [BUILT_IN, *([official] if official else [])]
    started = time.perf_counter()
    files = storybot_squad(qa, workdir)
    seconds["storybot SQuAD"] = time.perf_counter() - started
    engines: dict[str, Row] = {}
    runs: dict[str, dict[str, Run]] = {}
    engines["storybot"], runs["storybot"] = judge_storybot(files, qa, scorers)
    started = time.perf_counter()
    given = PeerInput.of(qa)
    seconds["peers' tokenizing"] = time.perf_counter() - started
    for name, engine in ENGINES.items():
        started = time.perf_counter()
        runs[name] = peer_runs(engine, given)
        seconds[name] = time.perf_counter() - started
        engines[name] = {
            setting: _no_answered(
                judge(f"{name}, {setting}", [(s, run) for s in scorers], qa.questions, None)
            )
            for setting, run in runs[name].items()
        }
    within_answers = read_jsonl(files["within"])
    figures = {
        "set": _set_sizes(qa),
        "scored_by": [s.name for s in scorers],
        "engines": engines,
        "per_article": {name: per_article(runs[name], qa) for name in ("storybot", "rank-bm25")},
        "misaligned_results": misaligned([*read_jsonl(files["global"]), *within_answers], qa),
    }
    keyed = by_id(within_answers)
    own = [q["id"] for q in qa.questions]
    return Part(figures, confidences(keyed, [q["id"] for q in qa.offtopic], own), keyed)


def storybot_squad(qa: QaSet, workdir: Path) -> dict[str, Path]:
    """Run the global job and the 20 within jobs; the answer files of both settings."""
    everything, within = squad_jobs(qa, workdir)
    run_jobs([everything, *within])  # the long global job first, so that the two workers end together
    within_file = workdir / "within-answers.jsonl"
    within_file.write_text(
        "".join((job.folder / "answers.jsonl").read_text("utf-8") for job in within), "utf-8"
    )
    return {"global": everything.folder / "answers.jsonl", "within": within_file}


def judge_storybot(
    files: dict[str, Path], qa: QaSet, scorers: Sequence[Scorer]
) -> tuple[Row, dict[str, Run]]:
    """storybot's figures, each scorer reading the answer files itself; and its runs."""
    runs = {
        setting: [(scorer, scorer.load_run(path)) for scorer in scorers] for setting, path in files.items()
    }
    within = judge("storybot, within", runs["within"], qa.questions, qa.offtopic)
    figures = {
        "global": judge("storybot, global", runs["global"], qa.questions, None)["ranking"],
        "within": within["ranking"],
        "offtopic": within["offtopic"],
    }
    return figures, {setting: pairs[0][1] for setting, pairs in runs.items()}


def _no_answered(figures: Row) -> Row:
    # A peer has no abstain decision: its "answered" would always be 1.
    return {key: value for key, value in figures["ranking"].items() if key != "answered"}


def _set_sizes(qa: QaSet) -> Row:
    return {
        "articles": len(qa.articles),
        "paragraphs": sum(len(paragraphs(a)) for a in qa.articles),
        "questions": len(qa.questions),
        "offtopic": len(qa.offtopic),
    }


def per_article(runs: dict[str, Run], qa: QaSet) -> Row:
    """Each article's top-1, in both settings (by the built-in scoring, whose totals score.py confirmed)."""
    return {
        article["id"]: {setting: ranking(run, qa.own(article["id"]))["top1"] for setting, run in runs.items()}
        for article in qa.articles
    }


def evaluate_story(path: Path, workdir: Path, seconds: dict[str, float]) -> Part:
    """The story development questions, asked of a new database that holds only the built-in story."""
    items = read_jsonl(path)
    job = Job(workdir / "story", [], [{"id": str(i), "question": item["q"]} for i, item in enumerate(items)])
    seconds["story"] = run_job(job)
    answers = by_id(job.answers())
    offtopic = [str(i) for i, item in enumerate(items) if item.get("abstain")]
    answerable = [str(i) for i, item in enumerate(items) if not item.get("abstain")]
    return Part(story_figures(items, answers), confidences(answers, offtopic, answerable), answers)


@contextlib.contextmanager
def workspace(keep: Path | None) -> Iterator[Path]:
    """The work folder: `keep` (new or empty) if given, else a temporary one removed afterwards."""
    if keep is None:
        with tempfile.TemporaryDirectory(prefix="passage-qa-") as folder:
            yield Path(folder)
        return
    if keep.exists() and any(keep.iterdir()):
        raise BadInput(f"--keep {keep}: the folder is not empty")
    keep.mkdir(parents=True, exist_ok=True)
    yield keep


# --- the report -----------------------------------------------------------------------------------------


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


# --- the command ----------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command's options."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--set", type=Path, default=SQUAD_SET, metavar="DIR", help="the SQuAD set's folder")
    parser.add_argument("--story", type=Path, default=STORY_SET, metavar="FILE", help="the story questions")
    parser.add_argument(
        "--only", choices=["squad", "story"], action="append", help="run only this part (repeatable)"
    )
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write every figure to FILE")
    parser.add_argument("--per-article", action="store_true", help="also print each article's top-1")
    parser.add_argument("--keep", type=Path, metavar="DIR", help="keep the databases and answers in DIR")
    return parser.parse_args(argv)


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


def evaluate(args: argparse.Namespace) -> Row:
    """Run the chosen parts and gather every figure."""
    chosen = args.only or ["squad", "story"]
    fingerprint = engine_fingerprint()
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    parts: dict[str, Part] = {}
    with workspace(args.keep) as workdir:
        if "squad" in chosen:
            qa = QaSet.read(args.set)
            parts["squad"] = evaluate_squad(qa, workdir / "squad", official_scorer(args.set), seconds)
        if "story" in chosen:
            parts["story"] = evaluate_story(args.story, workdir, seconds)
    seconds["total"] = time.perf_counter() - started
    results: Row = {name: part.figures for name, part in parts.items()}
    curves = {name: part.confidences for name, part in parts.items()}
    answers = [answer for part in parts.values() for answer in part.answers.values()]
    shipped = {float(answer["threshold"]) for answer in answers if "threshold" in answer}
    drawn = all(values is not None for values in curves.values()) and bool(curves)
    results["curve"] = curve(cast(dict[str, Confidences], curves), shipped) if drawn else None
    results["shipped_thresholds"] = sorted(shipped)
    results["rule_breaks"] = rule_breaks(by_id(answers)) if drawn else None
    results["machine"] = {**machine(), "engine_fingerprint": fingerprint}
    results["fingerprint_changed"] = engine_fingerprint() != fingerprint
    results["seconds"] = seconds
    return results


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark, print its tables and optionally write its figures; the exit status."""
    args = parse_args(argv)
    try:
        results = evaluate(args)
    except (StorybotFailed, ScorersDisagree, BadInput) as error:
        print(f"passage_qa: {error}", file=sys.stderr)
        return 1
    print("\n".join(report(results, args.per_article)))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
