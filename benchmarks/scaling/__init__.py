"""The scale benchmark's phases, each run in its own process by `benchmarks/scale.py`.

`python -m benchmarks.scaling.<phase> <role>`: `storybot` (ingest, answer), `peers` (rank-bm25, bm25s,
FTS5) and `changes` (single adds and removes, loop lag) are workers; `common`, `corpus`, `report` and
`targets` are what the driver and the workers share.
"""
