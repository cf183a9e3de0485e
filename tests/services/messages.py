"""Message templates as regular expressions, for tests that import the message constants."""

from __future__ import annotations

import re
import string

__all__ = ["ANY", "message_prefix", "message_re"]

ANY = "@ANY@"
"""A field value (also inside a nested template) that `message_re` lets match any text."""


def message_re(template: str, hint: str | None = None, /, **fields: object) -> str:
    """A regex of the whole line ``<message>; <hint>`` of a message template and its hint.

    The ``fields`` given are filled in (a compiled pattern stands for what it matches); any
    other field of ``template``, and every `ANY` in a value, matches any text on one line.
    """
    markers = {ANY: ".*"}

    def marker(regex: str) -> str:
        name = f"@RE{len(markers)}@"
        markers[name] = regex
        return name

    parts = []
    for literal, name, spec, conversion in string.Formatter().parse(template):
        parts.append(literal.replace("{", "{{").replace("}", "}}"))
        if name is None:
            continue
        value = fields.get(name, ANY)
        if isinstance(value, re.Pattern):
            parts.append(marker(value.pattern))
        elif name not in fields:
            parts.append(ANY)
        else:
            parts.append(
                "{" + name + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "") + "}"
            )
    text = "".join(parts).format(**fields)
    if hint is not None:
        text += "; " + hint
    regex = re.escape(text)
    for name, pattern in markers.items():
        regex = regex.replace(re.escape(name), pattern)
    return f"^{regex}$"


def message_prefix(template: str, /, **fields: object) -> str:
    """The start of a message: ``template`` up to its first field not given, the others filled in."""
    formatter = string.Formatter()
    parts = []
    for literal, name, spec, conversion in formatter.parse(template):
        parts.append(literal)
        if name is None:
            continue
        if name not in fields:
            break
        parts.append(formatter.format_field(formatter.convert_field(fields[name], conversion), spec or ""))
    return "".join(parts)
