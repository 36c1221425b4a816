"""Which URIs a resource template (RFC 6570, as MCP's ``uriTemplate``) can expand to, as a regular expression.

Used to refuse reads through a template that is withheld. The match is generous where expansion is ambiguous (a
variable matches any run of characters its operator could produce), so it may take in a URI the template would not
produce but never misses one it would."""

from __future__ import annotations

import re
from functools import lru_cache

__all__ = ["template_pattern"]

_EXPRESSION = re.compile(r"\{([^{}]*)\}")
#: Operator → what its expansion may look like (RFC 6570 section 3.2).
_OPERATORS = {
    "": r"[^/?#]*",  # simple string: reserved characters are percent-encoded
    "+": r".*",  # reserved: anything
    "#": r"(?:#.*)?",
    ".": r"(?:\.[^/?#]*)*",
    "/": r"(?:/[^?#]*)*",
    ";": r"(?:;[^/?#]*)*",
    "?": r"(?:\?[^#]*)?",
    "&": r"(?:&[^#]*)*",
}


@lru_cache(maxsize=1024)
def template_pattern(template: str) -> re.Pattern[str]:
    """A pattern that matches (with ``fullmatch``) every URI the template can expand to."""
    parts: list[str] = []
    position = 0
    for found in _EXPRESSION.finditer(template):
        parts.append(re.escape(template[position : found.start()]))
        body = found.group(1)
        operator = body[0] if body and body[0] in _OPERATORS else ""
        parts.append(_OPERATORS[operator])
        position = found.end()
    parts.append(re.escape(template[position:]))
    return re.compile("".join(parts), re.DOTALL)
