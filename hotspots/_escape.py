"""Text from data made safe for the formats packs are written in (Markdown, XML/GPX).

Data text (ward names, street descriptions, categories, a user's ``--area-name``) may
carry markup: ``<img src=x onerror=alert(1)>`` in a ward name must reach a reader as
those characters, never as a tag, a link or emphasis, whichever viewer renders it.
HTML escaping lives with the HTML writers (``html.escape``); these are the other two.
"""

from __future__ import annotations

import re
from xml.sax.saxutils import escape as _xml_escape

#: characters XML 1.0 forbids (C0 controls but tab/newline/CR, surrogates, U+FFFE/FFFF)
_XML_BAD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
#: C0/C1 controls other than tab (newlines are folded to spaces before this)
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
#: Markdown punctuation that starts inline markup: emphasis, code, links and images
#: (no "[", no link), table cells, strikethrough, backslash escapes themselves
_MD_INLINE = re.compile(r"([\\`*_\[\]|~])")
#: a block marker at the start of the text (heading, quote, list, rule, setext line)
_MD_BLOCK_START = re.compile(r"^(\s*)([#+=-]|\d+[.)])(?=\s|$)")


def md_text(value: object) -> str:
    """`value` as Markdown text that renders as exactly those characters.

    One line (newlines and controls become spaces, so data cannot open a new block);
    ``<``, ``>`` and entity-like ``&`` as HTML entities (no raw HTML, no ``<autolink>``);
    Markdown punctuation backslash-escaped (no emphasis, code, ``[link](...)`` or
    table cell break); ``://`` and ``www.`` broken with a character reference so
    linkifying viewers (GitHub's extended autolinks) find no URL. CommonMark renders
    every escape back to the original character.
    """
    text = plain_text(re.sub(r"\r\n|[\r\n\u2028\u2029]", " ", "" if value is None else str(value)))
    text = _MD_INLINE.sub(r"\\\1", text)
    text = re.sub(r"&(?=#?\w+;)", "&amp;", text)
    text = text.replace("<", "&lt;").replace(">", "&gt;")
    text = text.replace("://", "&#58;//")
    text = re.sub(r"(?i)\b(www)\.", r"\1&#46;", text)
    return _MD_BLOCK_START.sub(_block_escape, text, count=1)


def plain_text(value: object) -> str:
    """`value` as text any font can draw: control characters (C0 and C1, but tab and
    newline) become spaces.

    Used for every label of a static map (titles, ward and street names, legends):
    matplotlib cannot draw a BEL ("Glyph 7 missing") and would print a box.
    """
    return _CONTROL.sub(" ", "" if value is None else str(value))


def _block_escape(m: re.Match) -> str:
    """"# x" -> "\\# x"; "1. x" -> "1\\. x" (the marker's punctuation escaped)."""
    lead, mark = m.group(1), m.group(2)
    return lead + mark[:-1] + "\\" + mark[-1]


def xml_text(value: object, *, attribute: bool = False) -> str:
    """`value` as XML 1.0 character data: forbidden control characters removed and
    ``& < >`` (and ``"`` for an attribute value) escaped, so any parser reads it back."""
    text = _XML_BAD.sub("", "" if value is None else str(value))
    return _xml_escape(text, {'"': "&quot;"} if attribute else {})
