"""Small projects of each kind the builds generate a Dockerfile for. Each is a stdio program that answers one
JSON-RPC ``initialize`` line with ``serverInfo.name`` = "<kind>-sample" and its user id as the version."""

from __future__ import annotations

PYTHON = {
    "pyproject.toml": """\
[build-system]
requires = ["hatchling"]
build-backend = "hatchling.build"

[project]
name = "python-sample"
version = "0.1.0"

[project.scripts]
python-sample = "python_sample:main"
""",
    "src/python_sample/__init__.py": """\
import json
import os
import sys


def main() -> None:
    request = json.loads(sys.stdin.readline())
    info = {"name": "python-sample", "version": str(os.getuid())}
    print(json.dumps({"jsonrpc": "2.0", "id": request["id"], "result": {"serverInfo": info}}), flush=True)
""",
}

NODE = {
    "package.json": """\
{"name": "node-sample", "version": "0.1.0", "bin": {"node-sample": "./bin/server.js"}}
""",
    "bin/server.js": """\
#!/usr/bin/env node
const readline = require("readline");
const lines = readline.createInterface({ input: process.stdin });
lines.once("line", (line) => {
  const request = JSON.parse(line);
  const info = { name: "node-sample", version: String(process.getuid()) };
  process.stdout.write(JSON.stringify({ jsonrpc: "2.0", id: request.id, result: { serverInfo: info } }) + "\\n");
  lines.close();
});
""",
}

GO = {
    "go.mod": "module example.com/gosample\n\ngo 1.19\n",
    "main.go": """\
package main

import (
	"bufio"
	"encoding/json"
	"os"
	"strconv"
)

func main() {
	line, _ := bufio.NewReader(os.Stdin).ReadBytes('\\n')
	var request struct {
		ID int `json:"id"`
	}
	json.Unmarshal(line, &request)
	info := map[string]string{"name": "go-sample", "version": strconv.Itoa(os.Getuid())}
	reply := map[string]any{"jsonrpc": "2.0", "id": request.ID, "result": map[string]any{"serverInfo": info}}
	json.NewEncoder(os.Stdout).Encode(reply)
}
""",
}

RUST = {
    "Cargo.toml": '[package]\nname = "rust-sample"\nversion = "0.1.0"\nedition = "2021"\n',
    "src/main.rs": """\
use std::io::BufRead;

fn main() {
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).unwrap();
    // The uid from /proc (std has no getuid): "Uid:\\t<real>\\t<effective>...".
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let uid = status.lines().find(|l| l.starts_with("Uid:")).unwrap().split_whitespace().nth(1).unwrap().to_string();
    println!(
        "{{\\"jsonrpc\\":\\"2.0\\",\\"id\\":1,\\"result\\":{{\\"serverInfo\\":{{\\"name\\":\\"rust-sample\\",\\"version\\":\\"{}\\"}}}}}}",
        uid
    );
}
""",
}
