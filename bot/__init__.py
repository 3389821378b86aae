"""storybot's front-ends over the `index` core: the Discord bot and the `storybot` command line.

Importing this package imports neither discord.py nor the database: `storybot ask` stays quick to start.
"""
