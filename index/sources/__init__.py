"""Offline reading: files, text, Markdown, HTML and JSONL become `Article`s; no SQLite, no network."""
