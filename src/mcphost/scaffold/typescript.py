"""The TypeScript project: the official MCP TypeScript SDK, an example tool, stdio."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from mcphost.scaffold.python import fill

if TYPE_CHECKING:
    from mcphost.scaffold.names import Names

INDEX = """\
#!/usr/bin/env node
// {{display}}: an MCP server built with the official MCP TypeScript SDK.
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import { z } from "zod";

const server = new McpServer({ name: "{{dist}}", version: "{{version}}" });

server.registerTool(
  "greet",
  {
    description: "Greet someone by name.",
    inputSchema: { name: z.string() },
  },
  async ({ name }) => ({ content: [{ type: "text", text: `Hello, ${name}!` }] }),
);

// Serve over stdio (MCP Host and local MCP clients start the server this way).
await server.connect(new StdioServerTransport());
"""

TSCONFIG = {
    "compilerOptions": {
        "target": "ES2022",
        "module": "Node16",
        "moduleResolution": "Node16",
        "outDir": "build",
        "rootDir": "src",
        "strict": True,
        "esModuleInterop": True,
        "skipLibCheck": True,
    },
    "include": ["src/**/*"],
}

README = """\
# {{display}}

An [MCP](https://modelcontextprotocol.io) server, made with `mcphost create`. It has one example tool,
`greet(name)`, in `src/index.ts`.

## Run

```sh
npm install
npm run build
node build/index.js        # serves MCP over stdio
```

Try it with a live view of every call, behind a local Streamable HTTP endpoint:

```sh
mcphost dev -- node build/index.js
```

## Deploy to MCP Host

```sh
mcphost servers create {{dist}} --command "node /path/to/this/project/build/index.js" --wait
mcphost servers call {{dist}} greet --arg name=Ada
```

## Publish

`server.json` describes the server in the official MCP registry format. Set `name` to your own namespace
(e.g. `io.github.<you>/{{dist}}`), publish the package to npm, then publish `server.json` to the registry.
"""

GITIGNORE = """\
node_modules/
build/
"""


def files(names: Names, version: str) -> dict[str, str]:
    package = {
        "name": names.dist,
        "version": version,
        "description": f"{names.display} MCP server",
        "type": "module",
        "bin": {names.dist: "build/index.js"},
        "files": ["build"],
        "scripts": {"build": "tsc", "start": "node build/index.js"},
        "dependencies": {"@modelcontextprotocol/sdk": "^1.17.0", "zod": "^3.25.0"},
        "devDependencies": {"@types/node": "^22.0.0", "typescript": "^5.6.0"},
    }
    return {
        "package.json": json.dumps(package, indent=2) + "\n",
        "tsconfig.json": json.dumps(TSCONFIG, indent=2) + "\n",
        "src/index.ts": fill(INDEX, names, version),
        "README.md": fill(README, names, version),
        ".gitignore": GITIGNORE,
    }
