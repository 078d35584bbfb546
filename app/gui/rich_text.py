"""Text put into Qt's rich text (labels, the preview, the conversation), escaped."""

from __future__ import annotations


def escape(text: str) -> str:
    """``text`` as HTML shows it: what html.escape(text) returns, character
    for character.  Not that function itself: the html module brings
    html.entities, which costs the window's start some 3 ms, and nothing
    before the first sessions show needs more than these five replacements."""
    text = text.replace("&", "&amp;")  # first: the other replacements add ampersands
    text = text.replace("<", "&lt;")
    text = text.replace(">", "&gt;")
    text = text.replace('"', "&quot;")
    return text.replace("'", "&#x27;")
