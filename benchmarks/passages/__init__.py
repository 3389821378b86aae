"""The passage-QA benchmark's parts, driven by `benchmarks/passage_qa.py`, whose docstring describes the run.

`data` reads the set, `scoring` turns a run into figures as the set's score.py does, `storybot` asks through
the command line, `peers` ranks with rank-bm25, bm25s and FTS5, `tradeoff` draws the confidence curve,
`runs` gathers each part, `report` prints the tables.
"""
