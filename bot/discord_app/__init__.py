"""The Discord bot: `storybot run` opens it with `open_bot` and serves it with `serve` (both in `runner`).

Handlers (`questions`, `buttons`, `admin`, `announcer`) are thin: they admit a question (`admission`), run the
blocking core off the event loop (`service`), and format with `replies`, the one formatter. `admission`,
`lifecycle`, `progress` and `service` are plain asyncio and import no discord.py.
"""
