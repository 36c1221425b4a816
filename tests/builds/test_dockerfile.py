"""Reading a repository's Dockerfile (port, warnings) and generating one for projects without (no engine needed)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mcphost.builds.dockerfile import inspect_dockerfile, instructions
from mcphost.builds.generate import generate_dockerfile
from mcphost.builds.plan import plan_build
from mcphost.builds.source import GitSource
from mcphost.runtimes.base import PrepareFailed
from mcphost.settings import BuildSettings


def test_the_first_tcp_port_of_the_final_stage() -> None:
    facts = inspect_dockerfile(
        "# escape=\\\n"
        "FROM golang AS build\n"
        "EXPOSE 9999\n"
        "FROM debian\n"
        "ARG PORT=8080\n"
        "# a comment\n"
        "EXPOSE 53/udp \\\n"
        "  # inside a continuation\n"
        "  ${PORT}/tcp 9000\n"
    )
    assert facts.port == 8080
    assert facts.tcp_ports == (8080, 9000)
    assert facts.stages == 2
    assert facts.base_image == "debian"
    assert any("EXPOSE 53/udp is ignored: MCP is served over TCP" in warning for warning in facts.warnings)
    assert any("exposes several TCP ports (8080, 9000); MCP Host uses 8080" in warning for warning in facts.warnings)


def test_variables_global_args_and_ranges() -> None:
    text = "ARG BASE=debian\nARG PORT=7000\nFROM $BASE\nARG PORT\nENV OTHER 1\nEXPOSE ${MISSING:-${PORT}}-7010\n"
    assert inspect_dockerfile(text).port == 7000
    assert inspect_dockerfile(text).base_image == "debian"
    assert inspect_dockerfile("FROM x\nENV P=3000\nEXPOSE $P\n").port == 3000


def test_nothing_exposed_and_unreadable_ports() -> None:
    facts = inspect_dockerfile('FROM x\nEXPOSE $UNSET\nCMD ["run"]\n')
    assert facts.port is None
    assert facts.warnings == ()
    facts = inspect_dockerfile("FROM x\nEXPOSE http\n")
    assert facts.port is None
    assert facts.warnings == ("Dockerfile:2: EXPOSE http is not a port MCP Host can read; ignored",)


def test_what_is_not_honoured_is_warned_about() -> None:
    facts = inspect_dockerfile(
        'FROM x\nVOLUME ["/var/lib/app", "/cache"]\nUSER root\nHEALTHCHECK CMD curl -f http://localhost/\nEXPOSE 80\n'
    )
    assert facts.port == 80
    warnings = "\n".join(facts.warnings)
    assert "Dockerfile:2: VOLUME /var/lib/app /cache is not honoured" in warnings
    assert "Dockerfile:3: USER root is not honoured" in warnings
    assert "Dockerfile:4: HEALTHCHECK is not used" in warnings


def test_a_non_root_user_and_no_healthcheck_are_quiet() -> None:
    assert inspect_dockerfile("FROM x\nUSER root\nRUN true\nUSER 1000:1000\nHEALTHCHECK NONE\n").warnings == ()
    assert "USER 0" in inspect_dockerfile("FROM x\nUSER 0:0\n").warnings[0]


def test_instructions_join_continuations_with_a_backtick_escape() -> None:
    parsed = instructions("# escape=`\nFROM x\nRUN a `\n    b\n")
    assert [(item.keyword, item.arguments, item.line) for item in parsed] == [("FROM", "x", 2), ("RUN", "a b", 3)]


def test_a_dockerfile_without_from_is_refused(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("RUN true\n")
    with pytest.raises(PrepareFailed, match="Dockerfile has no FROM instruction"):
        plan_build(tmp_path, tmp_path, git_source(), BuildSettings())


def git_source(**fields: object) -> GitSource:
    return GitSource.parse({"url": "https://example.com/r.git", **fields}, frozenset())


def project(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, content in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(content)
    return tmp_path


def test_the_repository_dockerfile_wins_and_the_source_port_overrides(tmp_path: Path) -> None:
    root = project(tmp_path, {"app/Dockerfile": "FROM x\nEXPOSE 8000\n", "app/pyproject.toml": "[project]\n"})
    plan = plan_build(tmp_path, tmp_path / "app", git_source(subdir="app"), BuildSettings())
    assert (plan.kind, plan.origin, plan.port) == ("dockerfile", "app/Dockerfile", 8000)
    plan = plan_build(root, root / "app", git_source(subdir="app", port=9000), BuildSettings())
    assert plan.port == 9000
    assert "app/Dockerfile exposes 8000; the source's port 9000 is used" in plan.warnings


def test_a_named_dockerfile_must_stay_inside(tmp_path: Path) -> None:
    root = project(tmp_path / "repo", {"docker/server.Dockerfile": "FROM x\nEXPOSE 7000\n"})
    plan = plan_build(root, root, git_source(dockerfile="docker/server.Dockerfile"), BuildSettings())
    assert (plan.origin, plan.port) == ("docker/server.Dockerfile", 7000)
    (tmp_path / "outside").write_text("FROM secret\n")
    (root / "Dockerfile").symlink_to(tmp_path / "outside")
    with pytest.raises(PrepareFailed, match="Dockerfile 'Dockerfile' leads outside the repository"):
        plan_build(root, root, git_source(), BuildSettings())
    with pytest.raises(PrepareFailed, match="the dockerfile 'missing' is not a file"):
        plan_build(root, root, git_source(dockerfile="missing"), BuildSettings())


def test_python_with_project_scripts(tmp_path: Path) -> None:
    context = project(
        tmp_path,
        {"pyproject.toml": '[project]\nname = "x"\n[project.scripts]\nx-server = "x:main"\n', "requirements.txt": ""},
    )
    generated = generate_dockerfile(context, BuildSettings(python_image="py:test"))
    assert generated.kind == "python"
    lines = generated.text.splitlines()
    assert lines[1] == "FROM py:test"
    assert "uv pip install --no-cache --python /opt/venv/bin/python -r requirements.txt" in generated.text
    assert "uv pip install --no-cache --python /opt/venv/bin/python ." in generated.text
    assert "WORKDIR /app" in lines
    assert lines[-2:] == ["USER 10001:10001", 'CMD ["/opt/venv/bin/x-server"]']


def test_python_requirements_and_server_py(tmp_path: Path) -> None:
    generated = generate_dockerfile(project(tmp_path, {"requirements.txt": "mcp\n", "server.py": ""}), BuildSettings())
    assert generated.text.splitlines()[-1] == 'CMD ["/opt/venv/bin/python", "/app/server.py"]'
    assert " ." not in generated.text.split("uv venv", 1)[1].split("\n")[0]


def test_python_without_an_entry_point(tmp_path: Path) -> None:
    context = project(tmp_path, {"requirements.txt": "mcp\n"})
    with pytest.raises(PrepareFailed, match=r"looked for \[project.scripts\] in pyproject.toml, server.py or main.py"):
        generate_dockerfile(context, BuildSettings())
    assert "CMD" not in generate_dockerfile(context, BuildSettings(), command_given=True).text


@pytest.mark.parametrize(
    ("package", "files", "command", "install"),
    [
        ({"name": "s", "bin": {"s": "./bin/s.js"}}, {}, ["node", "/app/bin/s.js"], "RUN npm install --omit=dev"),
        ({"bin": "cli.js", "scripts": {"build": "tsc"}}, {"package-lock.json": "{}"}, ["node", "/app/cli.js"],
         "RUN npm ci --include=dev && npm run build && npm prune --omit=dev"),
        ({"scripts": {"start": "node x.js"}, "main": "lib.js"}, {}, ["npm", "start", "--silent"], "npm install"),
        ({"main": "lib/index.js"}, {}, ["node", "/app/lib/index.js"], "npm install"),
        ({}, {"index.js": ""}, ["node", "/app/index.js"], "npm install"),
    ],
)  # fmt: skip
def test_node_entry_points(
    tmp_path: Path, package: dict[str, object], files: dict[str, str], command: list[str], install: str
) -> None:
    context = project(tmp_path, {"package.json": json.dumps(package), **files})
    generated = generate_dockerfile(context, BuildSettings(node_image="node:test"))
    assert generated.kind == "node"
    assert "FROM node:test" in generated.text
    assert install in generated.text
    assert generated.text.splitlines()[-1] == f"CMD {json.dumps(command)}"


def test_node_refuses_a_bin_outside_and_warns_about_other_lockfiles(tmp_path: Path) -> None:
    context = project(tmp_path, {"package.json": '{"bin": "../../etc/x"}', "yarn.lock": ""})
    with pytest.raises(PrepareFailed, match=r"package.json's bin '../../etc/x' must be a path inside the project"):
        generate_dockerfile(context, BuildSettings())
    (tmp_path / "package.json").write_text('{"main": "a.js"}')
    assert generate_dockerfile(context, BuildSettings()).warnings == (
        "yarn.lock is not used: the project is installed with npm",
    )


def test_go_root_or_single_command(tmp_path: Path) -> None:
    context = project(tmp_path, {"go.mod": "module x\n", "cmd/srv/main.go": "package main\n", "lib.go": "package x\n"})
    generated = generate_dockerfile(context, BuildSettings(go_image="go:test", runtime_image="run:test"))
    assert "FROM go:test AS build" in generated.text
    assert "-o /out/server ./cmd/srv" in generated.text
    assert "FROM run:test" in generated.text
    assert generated.text.splitlines()[-2:] == ["USER 10001:10001", 'CMD ["/usr/local/bin/server"]']
    (tmp_path / "cmd" / "other").mkdir()
    (tmp_path / "cmd" / "other" / "main.go").write_text("package main\n")
    with pytest.raises(PrepareFailed, match=r"found several under cmd/ \(other, srv\)"):
        generate_dockerfile(context, BuildSettings())


def test_rust_binary_name(tmp_path: Path) -> None:
    context = project(tmp_path, {"Cargo.toml": '[package]\nname = "mcp-echo"\n', "Cargo.lock": ""})
    generated = generate_dockerfile(context, BuildSettings())
    assert "RUN cargo build --release --locked --bin mcp-echo" in generated.text
    assert "COPY --from=build /src/target/release/mcp-echo /usr/local/bin/mcp-echo" in generated.text
    (tmp_path / "Cargo.toml").write_text('[workspace]\nmembers = ["a"]\n')
    with pytest.raises(PrepareFailed, match="a workspace"):
        generate_dockerfile(context, BuildSettings())
    (tmp_path / "Cargo.toml").write_text('[package]\nname = "x\\nRUN evil"\n')
    with pytest.raises(PrepareFailed, match="is not a plain name"):
        generate_dockerfile(context, BuildSettings())


def test_an_unrecognised_project_says_what_was_looked_for(tmp_path: Path) -> None:
    with pytest.raises(PrepareFailed, match=r"looked for a Dockerfile, pyproject.toml or requirements.txt \(Python\)"):
        plan_build(tmp_path, tmp_path, git_source(), BuildSettings())


def test_two_kinds_build_the_first_and_say_so(tmp_path: Path) -> None:
    context = project(tmp_path, {"requirements.txt": "", "main.py": "", "package.json": "{}"})
    generated = generate_dockerfile(context, BuildSettings())
    assert generated.kind == "python"
    assert generated.warnings == (
        "the repository also looks like a node project; built as python (add a Dockerfile to choose)",
    )
