"""The network: fetching links and uploads safely. aiohttp lives only here (feedparser only in index.feeds).

Kept light on purpose: importing this package loads nothing; `index.web.policy` needs only the standard
library, and `index.web.fetcher` and `index.web.remote` load aiohttp.
"""
