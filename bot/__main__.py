"""`python -m bot` runs the `storybot` command line."""

from bot.cli import main

main()
