"""Extract an article's main text and metadata from an HTML page with trafilatura, offline.

trafilatura is untyped; this module is the one place that calls it and converts what it returns.
It is given the page as a string and never a URL to download, so it never touches the network.
"""

from __future__ import annotations

import re
from typing import Any, NamedTuple

from index.errors import SourceError
from index.models import iso_date
from index.sources.cleaning import normalize_text

# trafilatura rejects a string without "html" near its start as "not HTML"; uploads are often fragments.
_HTML_PROBE = 1024
# Subheadings are navigation inside an article, not passages (as in Markdown); trafilatura marks them "head".
_HEADING_TAGS = ("head",)
# trafilatura writes list items with a marker even in plain text; the item's text is the passage.
_LIST_MARKER = re.compile(r"^(?:[-*•]|\d{1,3}[.)])\s+")


class HtmlPage(NamedTuple):
    """What a page yields: its main text (paragraphs separated by blank lines) and metadata, all optional."""

    body: str
    title: str | None
    url: str | None
    outlet: str | None
    author: str | None
    published: str | None


def extract_html(html: str, *, name: str, url: str | None = None) -> HtmlPage:
    """Extract the main text and metadata of `html`; `url` (never fetched) is the fallback URL.

    Navigation, ads, comments and other boilerplate are left out. Raises SourceError naming `name` when the
    page has no article text.
    """
    # Imported here: trafilatura takes a fifth of a second to load, and `storybot ask` never needs it.
    import trafilatura  # noqa: PLC0415
    from trafilatura.settings import Document  # noqa: PLC0415

    if "<html" not in html[:_HTML_PROBE].lower():
        html = f"<html><body>{html}</body></html>"
    document = trafilatura.bare_extraction(
        html,
        url=url,
        include_comments=False,
        include_tables=True,
        include_formatting=False,
        include_links=False,
        include_images=False,
        with_metadata=True,
    )
    # bare_extraction returns a dict only when asked to (as_dict), and None when it finds no article.
    if not isinstance(document, Document) or document.body is None:
        raise SourceError(f"{name}: no article text found in the HTML")
    return HtmlPage(
        body=_body_text(document.body),
        title=_field(document.title),
        url=_field(document.url),
        outlet=_field(document.sitename),
        author=_field(document.author),
        published=_iso_date(document.date),
    )


def _body_text(body: Any) -> str:
    """The extracted tree as text, one blank line between blocks, with subheadings left out."""
    for heading in list(body.iter(*_HEADING_TAGS)):
        # The text after a heading (its tail) is article text: hand it to the previous node before removal.
        tail, previous, parent = heading.tail or "", heading.getprevious(), heading.getparent()
        if previous is not None:
            previous.tail = (previous.tail or "") + tail
        else:
            parent.text = (parent.text or "") + tail
        parent.remove(heading)
    from trafilatura.xml import xmltotxt  # noqa: PLC0415 (see extract_html)

    text = xmltotxt(body, False)
    # trafilatura puts each block (paragraph, list item, quote, cell row) on its own line.
    lines = (_LIST_MARKER.sub("", line.strip(), count=1) for line in normalize_text(text).split("\n"))
    return "\n\n".join(line for line in lines if line)


def _field(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    text = " ".join(normalize_text(value).split())
    return text or None


def _iso_date(value: object) -> str | None:
    """trafilatura dates are YYYY-MM-DD already; anything else is not trusted as a date."""
    return iso_date(value) if isinstance(value, str) else None
