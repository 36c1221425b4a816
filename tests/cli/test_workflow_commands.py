"""``mcphost workflows create|list|show|run|runs|delete`` as a user runs them: the real executable against a running
``mcphost up`` whose server runs on the fake runtime."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli import processes
from tests.cli.live import Instance, ok, one_line_error


def test_define_run_and_delete_a_workflow_from_the_command_line(instance: Instance, tmp_path: Path) -> None:
    env = instance.env(MCPHOST_URL=instance.url, MCPHOST_TOKEN=instance.token)
    slug = instance.server["slug"]
    definition = {
        "name": "Shout",
        "input_schema": {"type": "object", "properties": {"word": {"type": "string"}}, "required": ["word"]},
        "steps": [
            {"id": "loud", "server": slug, "tool": "echo", "arguments": {"text": "{{ input.word|upper }}"}},
            {"id": "twice", "server": slug, "tool": "echo", "arguments": {"text": "{{ steps.loud.output }}!"}},
        ],
    }
    path = tmp_path / "shout.json"
    path.write_text(json.dumps(definition))
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps({**definition, "steps": [{**definition["steps"][1], "id": "only"}]}))

    created = ok("workflows", "create", str(path), "--publish", env=env)
    listed = ok("workflows", "list", env=env)
    shown = ok("workflows", "show", "shout", env=env)
    ran = ok("workflows", "run", "shout", "--input", '{"word": "hey"}', env=env)
    runs = json.loads(ok("workflows", "runs", "shout", "--json", env=env))
    one = ok("workflows", "runs", "shout", runs[0]["id"], env=env)
    refused = one_line_error(processes.run("workflows", "create", str(broken), env=env))
    bad_input = one_line_error(processes.run("workflows", "run", "shout", env=env))
    deleted = ok("workflows", "delete", "shout", "--yes", env=env)
    gone = one_line_error(processes.run("workflows", "show", "shout", env=env))

    assert "Created workflow shout" in created and "/mcp/workflows/shout" in created
    assert "shout" in listed and "Shout" in listed
    assert "loud" in shown and "twice" in shown and "published at" in shown
    assert "HEY!" in ran and "succeeded" in ran
    assert [run["status"] for run in runs] == ["succeeded"]
    assert "loud" in one and "HEY!" in one
    assert "steps.loud.output refers to a step 'loud', and there is none" in refused
    assert "The input lacks word" in bad_input
    assert "shout: deleted" in deleted
    assert "No workflow with the id, slug or name 'shout'" in gone
