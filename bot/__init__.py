"""storybot's front-ends over the `index` core, in three parts:

- `bot.config`: the one reader of the environment (`Settings`, the fetch policy, the default database);
- `bot.cli`: the `storybot` command line (`output` is what it prints);
- `bot.discord_app`: the Discord bot, put together in one place (`runner.open_bot`).

Importing this package imports neither discord.py nor the database: `storybot ask` stays quick to start.
"""
