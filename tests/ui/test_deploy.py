"""Deploying from the console: catalog search, the form generated from an entry's inputs, the package form,
sources that are not available, quotas, and the live progress of a new server with its key shown once."""

from __future__ import annotations

import httpx
from playwright.async_api import Page, expect

from tests.ui.browser import ConsoleWatch, sign_in, sign_up
from tests.ui.live import ADMIN_EMAIL, Console, unique_email

TIME = "io.github.modelcontextprotocol/time"
POSTGRES = "io.github.modelcontextprotocol/postgres"
GITHUB = "io.github.modelcontextprotocol/github"
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}},
}


async def test_search_the_catalog_deploy_time_and_watch_it_reach_running(page: Page, console: Console) -> None:
    await sign_up(page, unique_email("deploy"))
    await page.goto("/catalog")
    await page.get_by_role("searchbox", name="Search the catalog").fill("time")
    results = page.locator("#catalog-results")
    await expect(results).to_contain_text("matching “time”")
    await expect(results.get_by_role("link", name="PostgreSQL")).to_have_count(0)
    await expect(results.get_by_role("listitem")).to_have_count(1)
    await results.get_by_role("link", name="Time", exact=True).click()
    await page.wait_for_url(f"**/catalog/{TIME}")

    await expect(page.get_by_label("Server name")).to_have_value("Time")
    await page.get_by_label("Server name").fill("My clock")
    await page.get_by_role("button", name="Deploy Time").click()

    await page.wait_for_url("**/servers/*/deployed")  # the address of a page that no longer holds the key
    badge = page.locator("h1 [data-status-for]")
    # Installing from PyPI into a fresh home: up to a minute and more on a loaded machine.
    await expect(badge).to_have_text("running", timeout=120_000)
    progress = page.get_by_role("list", name="Deployment progress")
    for step in ("Queued", "Installing the package", "Starting the server", "Running"):
        await expect(progress.get_by_role("listitem").filter(has_text=step)).to_have_attribute("data-state", "done")
    await expect(page.get_by_role("status").filter(has_text="My clock is running")).to_be_visible()

    key = (await page.locator("#access-key").text_content() or "").strip()
    endpoint = (await page.locator("#endpoint").text_content() or "").strip()
    assert key and endpoint.startswith(console.url + "/mcp/")
    headers = {"Authorization": f"Bearer {key}", "Accept": "application/json, text/event-stream"}
    async with httpx.AsyncClient(timeout=10) as http:
        answer = await http.post(endpoint, json=INITIALIZE, headers=headers)
        assert answer.status_code == 200, answer.text
        assert (await http.get(f"{console.url}/api/me", headers={"Authorization": f"Bearer {key}"})).status_code == 401

    await page.reload()  # the key was shown once; the progress page stays
    await expect(badge).to_have_text("running")
    await expect(page.locator("#access-key")).to_have_count(0)
    await expect(page.get_by_text("The access key was shown once")).to_be_visible()
    assert key not in await page.content()
    await page.get_by_role("link", name="Servers", exact=True).first.click()
    await expect(page.get_by_role("listitem", name="My clock")).to_be_visible()


async def test_a_required_input_left_empty_is_named(page: Page, console_watch: ConsoleWatch) -> None:
    console_watch.expect_status(422)
    await sign_up(page, unique_email("required"))
    await page.goto(f"/catalog/{POSTGRES}")
    field = page.get_by_label("DATABASE_URL")
    await expect(field).to_have_attribute("type", "password")
    await expect(field).to_have_attribute("required", "")
    await expect(page.get_by_text("postgresql:// connection URL")).to_be_visible()  # the description as a hint
    await field.evaluate("el => el.removeAttribute('required')")
    await page.get_by_label("Server name").fill("Kept name")
    await page.get_by_role("button", name="Deploy PostgreSQL").click()
    await expect(page.get_by_role("alert").filter(has_text="Please correct: DATABASE_URL")).to_be_visible()
    await expect(page.get_by_text("DATABASE_URL is required")).to_be_visible()
    await expect(page.get_by_label("DATABASE_URL")).to_have_attribute("aria-invalid", "true")
    await expect(page.get_by_label("Server name")).to_have_value("Kept name")


async def test_catalog_inputs_bring_defaults_choices_and_keep_secrets_out(
    page: Page, console: Console, console_watch: ConsoleWatch
) -> None:
    console_watch.expect_status(422)
    name = f"io.example/inputs-{unique_email('entry').split('@')[0]}"
    document = {
        "name": name,
        "title": "Inputs demo",
        "description": "Has inputs of every kind.",
        "version": "1.0.0",
        "packages": [
            {
                "registryType": "pypi",
                "identifier": "inputs-demo",
                "version": "1.0.0",
                "transport": {"type": "stdio"},
                "environmentVariables": [
                    {"name": "REGION", "description": "Where", "choices": ["eu", "us"], "default": "us"},
                    {"name": "TIMEOUT", "description": "Seconds", "default": "30"},
                    {"name": "API_TOKEN", "description": "The token", "isRequired": True, "isSecret": True},
                    {"name": "LABEL", "description": "A label", "isRequired": True},
                ],
            }
        ],
    }
    with console.api() as api:
        assert api.post("/api/catalog", json=document).status_code == 201
    await sign_up(page, unique_email("inputs"))
    await page.goto(f"/catalog/{name}")
    await expect(page.get_by_label("REGION")).to_have_value("us")
    await expect(page.get_by_label("TIMEOUT")).to_have_value("30")
    await page.get_by_label("API_TOKEN").fill("s3cret-value")
    await page.get_by_label("LABEL").evaluate("el => el.removeAttribute('required')")
    await page.get_by_label("REGION").select_option("eu")
    await page.get_by_role("button", name="Deploy Inputs demo").click()

    await expect(page.get_by_text("LABEL is required")).to_be_visible()
    await expect(page.get_by_label("REGION")).to_have_value("eu")
    await expect(page.get_by_label("API_TOKEN")).to_have_value("")  # never echoed back
    assert "s3cret-value" not in await page.content()

    await page.get_by_label("API_TOKEN").fill("s3cret-value")
    await page.get_by_label("LABEL").fill("hello")
    await page.get_by_role("button", name="Deploy Inputs demo").click()
    await expect(page.locator("h1 [data-status-for]")).to_have_text("running")
    server_id = page.url.split("/servers/")[1].split("/")[0]
    with console.api() as api:
        created = api.get(f"/api/servers/{server_id}").json()
    assert created["env"] == {"REGION": "eu", "TIMEOUT": "30", "LABEL": "hello"}
    assert created["secret_env"] == ["API_TOKEN"]


async def test_per_user_inputs_are_left_to_each_user(page: Page, console: Console) -> None:
    await sign_up(page, unique_email("github"))
    await page.goto(f"/catalog/{GITHUB}")
    await expect(page.get_by_label("GITHUB_PERSONAL_ACCESS_TOKEN")).to_have_count(0)  # not asked of the deployer
    await expect(page.locator("#per-user-inputs")).to_contain_text("sets their own GITHUB_PERSONAL_ACCESS_TOKEN")
    await page.get_by_role("button", name="Deploy GitHub").click()
    await expect(page.locator("h1 [data-status-for]")).to_have_text("running")
    server_id = page.url.split("/servers/")[1].split("/")[0]
    with console.api() as api:
        created = api.get(f"/api/servers/{server_id}").json()
    assert created["isolation"] == "per_user" and created["per_user_env"] == ["GITHUB_PERSONAL_ACCESS_TOKEN"]


async def test_a_package_with_an_invalid_name_says_what_to_fix(page: Page, console_watch: ConsoleWatch) -> None:
    console_watch.expect_status(422)
    await sign_up(page, unique_email("package"))
    await page.goto("/servers/new")
    await page.get_by_label("Server name").fill("Bad package")
    await page.get_by_label("Package name").fill("not a package!")
    await page.get_by_label("Variable name").fill("API_KEY")
    await page.get_by_label("Value").fill("hidden-value")
    await page.get_by_label("Kind").select_option("secret")
    await expect(page.get_by_label("Value")).to_have_attribute("type", "password")
    await page.get_by_role("button", name="Add variable").click()
    await expect(page.get_by_label("Variable name")).to_have_count(2)
    await page.get_by_label("Variable name").nth(1).fill("MODE")
    await page.get_by_label("Value").nth(1).fill("fast")
    await page.get_by_role("button", name="Deploy", exact=True).click()

    await expect(page.get_by_text("“not a package!” is not a valid package name")).to_be_visible()
    await expect(page.get_by_label("Package name")).to_have_value("not a package!")
    await expect(page.get_by_label("Package name")).to_have_attribute("aria-invalid", "true")
    await expect(page.get_by_label("Variable name").nth(0)).to_have_value("API_KEY")
    await expect(page.get_by_label("Value").nth(0)).to_have_value("")  # the secret is not sent back
    await expect(page.get_by_label("Value").nth(1)).to_have_value("fast")
    assert "hidden-value" not in await page.content()

    await page.get_by_role("button", name="Remove this variable").nth(1).click()
    await expect(page.get_by_label("Variable name")).to_have_count(1)
    await page.get_by_label("Package name").fill("mcp-server-fetch")
    await page.get_by_label("Value").fill("hidden-value")
    await page.get_by_role("button", name="Deploy", exact=True).click()
    await expect(page.locator("h1 [data-status-for]")).to_have_text("running")
    await expect(page.locator("#access-key")).to_be_visible()


async def test_a_non_admin_sees_command_disabled_with_the_reason(page: Page) -> None:
    await sign_up(page, unique_email("command"))
    await page.goto("/servers/new")
    await page.get_by_role("navigation", name="Source").get_by_role("link", name="Command").click()
    await expect(page.get_by_text("Only administrators can deploy commands")).to_be_visible()
    await expect(page.get_by_role("textbox", name="Command")).to_be_disabled()
    await expect(page.get_by_role("button", name="Deploy", exact=True)).to_be_disabled()


async def test_an_admin_may_deploy_a_command(page: Page) -> None:
    await sign_in(page, ADMIN_EMAIL)
    await page.goto("/servers/new?kind=command")
    await page.get_by_label("Server name").fill("Admin command")
    await page.get_by_label("Command").fill("python -m 'my server'")
    await page.get_by_role("button", name="Deploy", exact=True).click()
    await expect(page.locator("h1 [data-status-for]")).to_have_text("running")


async def test_image_and_git_say_why_they_are_unavailable(page: Page) -> None:
    await sign_up(page, unique_email("image"))
    for tab, field in (("Image", "Image"), ("Git", "Repository URL")):
        await page.goto("/servers/new")
        await page.get_by_role("navigation", name="Source").get_by_role("link", name=tab).click()
        reason = f"{tab} sources run on Docker, and docker.default_for_images is off"
        await expect(page.get_by_text(reason)).to_be_visible()
        await expect(page.get_by_role("textbox", name=field)).to_be_disabled()
        await expect(page.get_by_role("button", name="Deploy", exact=True)).to_be_disabled()


async def test_a_user_at_quota_sees_the_quota_error(page: Page, console: Console, console_watch: ConsoleWatch) -> None:
    console_watch.expect_status(403)
    email = unique_email("quota")
    token = console.register(email)
    with console.api(token) as mine:
        user_id = mine.get("/api/me").json()["id"]
    with console.api() as admin:
        assert admin.patch(f"/api/users/{user_id}", json={"server_quota": 0}).status_code == 200
    await sign_in(page, email)
    await page.goto(f"/catalog/{TIME}")
    await page.get_by_role("button", name="Deploy Time").click()
    await expect(page.get_by_role("alert").filter(has_text="Your server quota is 0")).to_be_visible()
    await expect(page.get_by_label("Server name")).to_have_value("Time")
