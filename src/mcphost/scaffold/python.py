"""The Python project: the official MCP SDK (``mcp>=2``), an example tool, in-process tests."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mcphost.scaffold.names import Names

PYPROJECT = """\
[build-system]
requires = ["hatchling"]
build-backend = "hatchling.build"

[project]
name = "{{dist}}"
version = "{{version}}"
description = "{{display}} MCP server"
readme = "README.md"
requires-python = ">=3.10"
dependencies = ["mcp>=2"]

[project.optional-dependencies]
dev = ["pytest>=8"]

[project.scripts]
{{dist}} = "{{module}}.server:main"

[tool.hatch.build.targets.wheel]
packages = ["src/{{module}}"]

[tool.pytest.ini_options]
pythonpath = ["src"]
testpaths = ["tests"]
"""

INIT = '''\
"""{{display}}: an MCP server."""
'''

SERVER = '''\
"""{{display}}: an MCP server built with the official MCP Python SDK.

Add tools with ``@server.tool()``: the function's type hints become the tool's input schema and its docstring
the description the model reads.
"""

from __future__ import annotations

from mcp.server.mcpserver import MCPServer

server = MCPServer("{{dist}}", version="{{version}}")


@server.tool()
def greet(name: str) -> str:
    """Greet someone by name."""
    return f"Hello, {name}!"


def main() -> None:
    """Serve over stdio (MCP Host and local MCP clients start the server this way)."""
    server.run("stdio")


if __name__ == "__main__":
    main()
'''

MAIN = """\
from {{module}}.server import main

main()
"""

TEST = '''\
"""The server, tested in-process with the SDK's client (no subprocess, no network)."""

from __future__ import annotations

import asyncio

from mcp import Client

from {{module}}.server import server


def test_lists_the_greet_tool() -> None:
    async def main() -> list[str]:
        async with Client(server) as client:
            return [tool.name for tool in (await client.list_tools()).tools]

    assert "greet" in asyncio.run(main())


def test_greet_answers_with_a_greeting() -> None:
    async def main() -> tuple[bool, str]:
        async with Client(server) as client:
            result = await client.call_tool("greet", {"name": "Ada"})
            return bool(result.is_error), result.content[0].text  # type: ignore[union-attr]

    assert asyncio.run(main()) == (False, "Hello, Ada!")
'''

README = """\
# {{display}}

An [MCP](https://modelcontextprotocol.io) server, made with `mcphost create`. It has one example tool,
`greet(name)`, in `src/{{module}}/server.py`.

## Run

```sh
python -m venv .venv && . .venv/bin/activate
pip install -e '.[dev]'
python -m {{module}}          # serves MCP over stdio
```

Try it with a live view of every call, behind a local Streamable HTTP endpoint:

```sh
mcphost dev -- python -m {{module}}
```

## Test

```sh
pytest
```

The tests use the SDK's in-process client (`mcp.Client(server)`) to list and call the tools.

## Deploy to MCP Host

```sh
mcphost servers create {{dist}} --command "python -m {{module}}" --wait
mcphost servers call {{dist}} greet --arg name=Ada
```

(If the package is not installed where the server runs, add `--env PYTHONPATH=/path/to/this/project/src`.)

## Publish

`server.json` describes the server in the official MCP registry format. Set `name` to your own namespace
(e.g. `io.github.<you>/{{dist}}`), publish the package to PyPI, then publish `server.json` to the registry.
"""

GITIGNORE = """\
.venv/
__pycache__/
*.egg-info/
dist/
.pytest_cache/
"""


def fill(template: str, names: Names, version: str) -> str:
    return (
        template.replace("{{dist}}", names.dist)
        .replace("{{module}}", names.module)
        .replace("{{display}}", names.display)
        .replace("{{version}}", version)
    )


def files(names: Names, version: str) -> dict[str, str]:
    package = f"src/{names.module}"
    templates = {
        "pyproject.toml": PYPROJECT,
        f"{package}/__init__.py": INIT,
        f"{package}/__main__.py": MAIN,
        f"{package}/server.py": SERVER,
        "tests/test_server.py": TEST,
        "README.md": README,
        ".gitignore": GITIGNORE,
    }
    return {path: fill(text, names, version) for path, text in templates.items()}
