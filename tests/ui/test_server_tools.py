"""The tools tab: capabilities from the last sync and "try it" forms generated from each tool's JSON Schema."""

from __future__ import annotations

import pytest
from playwright.async_api import Locator, Page, expect

from mcphost.ui.routes.server import result_parts
from mcphost.ui.tool_forms import FieldProblem, arguments_from, fields_for
from tests.support.waiting import until
from tests.ui.browser import ConsoleWatch, sign_in
from tests.ui.live import Console
from tests.ui.observe import Hosted, hosted_server
from tests.ui.session_http import signed_in


async def open_tools(page: Page, hosted: Hosted) -> None:
    await sign_in(page, hosted.email)
    await page.goto(f"/servers/{hosted.id}/tools")


def tool_card(page: Page, name: str) -> Locator:
    return page.get_by_role("article").filter(has=page.get_by_role("heading", name=name, exact=True))


async def test_trying_echo_shows_its_answer_and_records_the_invocation(page: Page, console: Console) -> None:
    hosted = hosted_server(console, "tools-echo")
    await open_tools(page, hosted)
    await expect(tool_card(page, "echo")).to_contain_text("Returns its text.")
    await expect(tool_card(page, "crash")).to_be_visible()

    echo = tool_card(page, "echo")
    await echo.get_by_text("Try it").click()
    await echo.get_by_label("text").fill("hello")
    await echo.get_by_role("button", name="Call echo").click()

    await expect(echo.locator(".result-text")).to_have_text("hello")
    await expect(echo.locator(".result")).to_contain_text("Result of echo")

    def echo_invocations() -> list[dict[str, object]]:
        with console.api(hosted.token) as api:
            items = api.get(f"/api/servers/{hosted.id}/invocations").json()["items"]
        return [item for item in items if item.get("name") == "echo"]

    assert until(echo_invocations, "the echo invocation")


async def test_invalid_json_in_a_json_field_is_refused_naming_the_field(
    page: Page, console: Console, console_watch: ConsoleWatch
) -> None:
    console_watch.expect_status(422)
    hosted = hosted_server(console, "tools-json")
    await open_tools(page, hosted)
    crash = tool_card(page, "crash")
    await crash.get_by_text("Try it").click()
    field = crash.get_by_label("Arguments (JSON)")

    await field.fill("{not json")

    await expect(field).to_have_attribute("aria-invalid", "true")
    await crash.get_by_role("button", name="Call crash").click()
    problem = crash.locator(".result-problem")
    await expect(problem).to_contain_text("Arguments (JSON): not valid JSON")
    assert hosted.status() == "running"  # nothing was sent: the crash tool would have stopped it


async def test_trying_a_tool_of_a_stopped_server_says_it_is_not_running(
    page: Page, console: Console, console_watch: ConsoleWatch
) -> None:
    console_watch.expect_status(409)
    hosted = hosted_server(console, "tools-stopped")
    hosted.act("stop")
    hosted.wait_for("stopped")
    await open_tools(page, hosted)
    await expect(page.get_by_text("is not running (stopped)")).to_be_visible()

    echo = tool_card(page, "echo")
    await echo.get_by_text("Try it").click()
    await echo.get_by_label("text").fill("hello")
    await echo.get_by_role("button", name="Call echo").click()

    await expect(echo.get_by_role("alert")).to_contain_text("is not running")


def test_a_form_post_of_invalid_json_answers_422_and_an_unknown_tool_404(console: Console) -> None:
    hosted = hosted_server(console, "tools-http")
    call = f"/servers/{hosted.id}/tools/call"
    with signed_in(console, hosted.token) as http:
        bad = http.post(call, data={"tool": "crash", "arg.arguments": "[1,"})
        unknown = http.post(call, data={"tool": "nope"})
    assert bad.status_code == 422
    assert "Arguments (JSON): not valid JSON" in bad.text
    assert unknown.status_code == 404


SCHEMA = {
    "type": "object",
    "required": ["query", "limit"],
    "properties": {
        "query": {"type": "string", "description": "What to look for."},
        "body": {"type": "string", "format": "textarea"},
        "limit": {"type": "integer", "default": 10},
        "ratio": {"type": "number"},
        "exact": {"type": "boolean"},
        "order": {"enum": ["asc", "desc", 3]},
        "tags": {"type": "array", "items": {"type": "string"}},
        "filter": {"anyOf": [{"type": "object"}, {"type": "null"}]},
    },
}


def test_a_form_is_generated_from_a_json_schema_and_read_back() -> None:
    fields = {field.name: field for field in fields_for(SCHEMA)}
    assert {name: field.widget for name, field in fields.items()} == {
        "query": "text",
        "body": "textarea",
        "limit": "integer",
        "ratio": "number",
        "exact": "checkbox",
        "order": "select",
        "tags": "json",
        "filter": "json",
    }
    assert fields["query"].required and not fields["body"].required
    assert fields["query"].description == "What to look for."
    assert fields["limit"].initial == "10"
    form = {"arg.query": "mcp", "arg.limit": "5", "arg.ratio": "0.5", "arg.exact": "on", "arg.order": "3"}
    form |= {"arg.tags": '["a", "b"]', "arg.filter": ""}
    assert arguments_from(list(fields.values()), form) == {
        "query": "mcp",
        "limit": 5,
        "ratio": 0.5,
        "exact": True,
        "order": 3,
        "tags": ["a", "b"],
    }


@pytest.mark.parametrize(
    ("form", "problem"),
    [
        ({"arg.limit": "5"}, "query: this field is required"),
        ({"arg.query": "x", "arg.limit": "2.5"}, "limit: enter a whole number"),
        ({"arg.query": "x", "arg.limit": "1", "arg.tags": "[1,"}, "tags: not valid JSON"),
        ({"arg.query": "x", "arg.limit": "1", "arg.order": '"up"'}, "order: choose one of the listed values"),
    ],
)
def test_wrong_values_name_their_field(form: dict[str, str], problem: str) -> None:
    with pytest.raises(FieldProblem) as raised:
        arguments_from(fields_for(SCHEMA), form)
    assert str(raised.value).startswith(problem)


def test_results_show_text_pretty_json_images_and_structured_content() -> None:
    result = {
        "content": [
            {"type": "text", "text": "plain"},
            {"type": "text", "text": '{"b": 1}'},
            {"type": "image", "mimeType": "image/png", "data": "iVBORw0KGgo="},
            {"type": "image", "mimeType": "text/html", "data": "PHNjcmlwdD4="},
        ],
        "structuredContent": {"answer": 42},
    }
    parts = result_parts(result)
    assert parts[0] == {"kind": "text", "text": "plain"}
    assert parts[1] == {"kind": "json", "text": '{\n  "b": 1\n}'}
    assert parts[2] == {"kind": "image", "src": "data:image/png;base64,iVBORw0KGgo="}
    assert parts[3]["kind"] == "json"  # not an image type: shown as data, never as a data: URL
    assert parts[4] == {"kind": "structured", "text": '{\n  "answer": 42\n}'}
