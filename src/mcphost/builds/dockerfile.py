"""What a repository's own Dockerfile says that MCP Host cares about: the port it exposes, and what it asks for that a
hosted server does not get (volumes, root, UDP, a health check), as warnings in words.

Only the final stage counts (it is the image that runs). Line continuations, comments, the ``escape`` parser directive
and ``$VAR`` / ``${VAR:-default}`` from the stage's ``ARG`` and ``ENV`` are understood; what cannot be read is warned
about rather than guessed.
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass

__all__ = ["DockerfileFacts", "Instruction", "inspect_dockerfile", "instructions"]

_DIRECTIVE = re.compile(r"^#\s*([a-zA-Z]+)\s*=\s*(\S+)\s*$")
_VARIABLE = re.compile(
    r"\$(?:\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?::(?P<op>[-+])(?P<word>[^}$]*))?\}"
    r"|(?P<bare>[A-Za-z_][A-Za-z0-9_]*))"
)
_ROOT_USERS = frozenset({"root", "0"})


@dataclass(frozen=True)
class Instruction:
    keyword: str  # upper case: FROM, RUN, EXPOSE...
    arguments: str
    line: int  # where it starts (1-based)


@dataclass(frozen=True)
class DockerfileFacts:
    port: int | None  # the first TCP port of the final stage's EXPOSE
    tcp_ports: tuple[int, ...]
    base_image: str | None  # the final stage's FROM
    stages: int
    warnings: tuple[str, ...]


def instructions(text: str) -> list[Instruction]:
    """The instructions of a Dockerfile, continuation lines joined and comments dropped."""
    escape = "\\"
    lines = text.splitlines()
    # Parser directives: comment lines of the form '# key=value' at the very top.
    for line in lines:
        match = _DIRECTIVE.match(line.strip())
        if not match:
            break
        if match.group(1).lower() == "escape" and match.group(2) in ("\\", "`"):
            escape = match.group(2)
    found: list[Instruction] = []
    pending: list[str] = []
    start = 0
    for number, raw in enumerate(lines, 1):
        stripped = raw.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if pending and (stripped.startswith("#") or not stripped):
            continue  # comments and empty lines inside a continued instruction
        if not pending:
            start = number
        if stripped.endswith(escape):
            pending.append(stripped[:-1].rstrip())
            continue
        pending.append(stripped)
        keyword, _, arguments = " ".join(pending).partition(" ")
        found.append(Instruction(keyword.upper(), arguments.strip(), start))
        pending = []
    if pending:
        keyword, _, arguments = " ".join(pending).partition(" ")
        found.append(Instruction(keyword.upper(), arguments.strip(), start))
    return found


def inspect_dockerfile(text: str, name: str = "Dockerfile") -> DockerfileFacts:
    """The port and warnings of a Dockerfile."""
    all_instructions = instructions(text)
    stages = [index for index, instruction in enumerate(all_instructions) if instruction.keyword == "FROM"]
    if not stages:
        return DockerfileFacts(None, (), None, 0, (f"{name} has no FROM instruction",))
    final = all_instructions[stages[-1] :]
    global_args: dict[str, str] = {}
    for instruction in all_instructions[: stages[0]]:
        if instruction.keyword == "ARG":
            global_args.update(_assignments(instruction.arguments, "ARG", {}))
    variables: dict[str, str] = {}
    tcp: list[int] = []
    warnings: list[str] = []
    user: tuple[str, int] | None = None
    base_image = _expand(final[0].arguments, global_args).split()[0] if final[0].arguments else None
    for instruction in final[1:]:
        where = f"{name}:{instruction.line}"
        keyword, arguments = instruction.keyword, instruction.arguments
        if keyword in ("ARG", "ENV"):
            variables.update(_assignments(arguments, keyword, global_args))
        elif keyword == "EXPOSE":
            for spec in _expand(arguments, variables).split():
                port, protocol = _port_spec(spec)
                if port is None:
                    warnings.append(f"{where}: EXPOSE {spec} is not a port MCP Host can read; ignored")
                elif protocol != "tcp":
                    warnings.append(f"{where}: EXPOSE {spec} is ignored: MCP is served over TCP")
                elif port not in tcp:
                    tcp.append(port)
        elif keyword == "VOLUME":
            paths = _list_or_words(_expand(arguments, variables))
            warnings.append(
                f"{where}: VOLUME {' '.join(paths)} is not honoured: a server keeps its files only in /data "
                "(the root file system is read-only and volumes are not created)"
            )
        elif keyword == "USER":
            user = (_expand(arguments, variables).split(":")[0].strip(), instruction.line)
        elif keyword == "HEALTHCHECK" and arguments.split()[:1] != ["NONE"]:
            warnings.append(f"{where}: HEALTHCHECK is not used: MCP Host checks a server's health with MCP pings")
    if user is not None and user[0] in _ROOT_USERS:
        warnings.append(
            f"{name}:{user[1]}: USER {user[0]} is not honoured: servers run as an unprivileged user, without "
            "capabilities"
        )
    if len(tcp) > 1:
        warnings.append(f"{name} exposes several TCP ports ({', '.join(map(str, tcp))}); MCP Host uses {tcp[0]}")
    return DockerfileFacts(tcp[0] if tcp else None, tuple(tcp), base_image, len(stages), tuple(warnings))


def _port_spec(spec: str) -> tuple[int | None, str]:
    """``8000``, ``8000/tcp``, ``53/udp``, ``8000-8010/tcp`` → (first port, protocol)."""
    number, _, protocol = spec.partition("/")
    first = number.split("-", 1)[0]
    if not first.isdigit() or not 1 <= int(first) <= 65535:
        return None, protocol or "tcp"
    return int(first), (protocol or "tcp").lower()


def _expand(text: str, variables: dict[str, str]) -> str:
    def replace(match: re.Match[str]) -> str:
        name = match.group("braced") or match.group("bare")
        value = variables.get(name, "")
        operator, word = match.group("op"), match.group("word") or ""
        if operator == "-":
            return value or word
        if operator == "+":
            return word if value else ""
        return value

    for _ in range(5):  # innermost first: ${A:-${B}}
        expanded = _VARIABLE.sub(replace, text)
        if expanded == text:
            break
        text = expanded
    return text


def _assignments(arguments: str, keyword: str, global_args: dict[str, str]) -> dict[str, str]:
    """``ENV A=1 B="two"``, the old ``ENV A 1``, ``ARG NAME[=default]`` (a global ARG's default when none)."""
    try:
        words = shlex.split(arguments)
    except ValueError:
        return {}
    if keyword == "ENV" and words and "=" not in words[0]:
        return {words[0]: " ".join(words[1:])}
    found = {}
    for word in words:
        name, equals, value = word.partition("=")
        if equals:
            found[name] = value
        elif keyword == "ARG":
            found[name] = global_args.get(name, "")
    return found


def _list_or_words(arguments: str) -> list[str]:
    if arguments.startswith("["):
        try:
            value = json.loads(arguments)
        except ValueError:
            return [arguments]
        if isinstance(value, list):
            return [str(item) for item in value]
    return arguments.split()
