"""Benchmarks of storybot: retrieval quality (`evaluate.py`) and speed at scale (`scale.py`)."""
