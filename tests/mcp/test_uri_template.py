"""Which URIs a resource template matches, for refusing reads through a held template."""

from __future__ import annotations

import pytest

from mcphost.mcp.uri_template import template_pattern


@pytest.mark.parametrize(
    ("template", "uri", "matches"),
    [
        ("fixture://items/{id}", "fixture://items/42", True),
        ("fixture://items/{id}", "fixture://items/42/more", False),  # a simple variable has no /
        ("fixture://items/{id}", "fixture://other/42", False),
        ("file:///{+path}", "file:///etc/passwd", True),  # reserved expansion: anything
        ("repo://{owner}/{name}{/path*}", "repo://me/it/src/main.py", True),
        ("repo://{owner}/{name}{/path*}", "repo://me/it", True),
        ("search://q{?query,limit}", "search://q?query=x&limit=2", True),
        ("search://q{?query,limit}", "search://q", True),
        ("db://t.{table}", "db://tXusers", False),  # literal characters are literal, not regex
    ],
)
def test_a_template_matches_what_it_can_expand_to(template: str, uri: str, matches: bool) -> None:
    assert (template_pattern(template).fullmatch(uri) is not None) is matches
