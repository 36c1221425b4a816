"""Screenshots of the web console's main pages, for docs/screenshots/ (``make screenshots``).

Starts ``mcphost up`` in a temporary home on the fake runtime (servers reach running at once and answer
``echo``), fills it with an administrator, two servers, calls, a key and an organisation, then photographs each
page in Debian's Chromium at desktop width (1280) and, for the main pages, at phone width (390). A few pages are
also taken in dark mode. Needs ``chromium`` (apt) and the dev extra (playwright).

    python scripts/screenshots.py [--out docs/screenshots]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from playwright.async_api import Page, async_playwright

ROOT = Path(__file__).resolve().parent.parent
EMAIL, PASSWORD = "ada@example.com", "a long passphrase for screenshots"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]  # fmt: skip
DESKTOP = {"width": 1280, "height": 860}
PHONE = {"width": 390, "height": 844}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_instance(home: Path, port: int) -> subprocess.Popen[bytes]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("MCPHOST_")}
    env |= {
        "MCPHOST_RUNTIME__DEFAULT": "fake",
        "MCPHOST_JOBS__POLL_INTERVAL": "0.05",
        "MCPHOST_SERVER_LOGS__FLUSH_INTERVAL_SECONDS": "0.1",
        "MCPHOST_TRACES__FLUSH_INTERVAL_SECONDS": "0.1",
    }
    mcphost = shutil.which("mcphost", path=str(Path(sys.executable).parent)) or "mcphost"
    log = (home.parent / "mcphost.log").open("wb")
    command = [mcphost, "up", "--home", str(home), "--port", str(port)]
    return subprocess.Popen(command, env=env, stdout=log, stderr=log)  # noqa: S603 (our own executable)


def wait_for(probe: object, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if probe():  # type: ignore[operator]
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"error: no {what} within {timeout:.0f}s")


def seed(url: str) -> dict[str, str]:
    """An administrator with two servers (one with calls and a key), an organisation with a second member."""
    with httpx.Client(base_url=url, timeout=20) as http:
        http.post("/api/auth/register", json={"email": EMAIL, "password": PASSWORD}).raise_for_status()
        http.post("/api/auth/register", json={"email": "grace@example.com", "password": PASSWORD}).raise_for_status()
        token = http.post("/api/auth/login", json={"email": EMAIL, "password": PASSWORD}).json()["access_token"]
        http.headers["Authorization"] = f"Bearer {token}"
        catalog_source = {"type": "catalog", "name": "io.github.modelcontextprotocol/time"}
        time_server = http.post("/api/servers", json={"name": "time", "source": catalog_source}).json()
        http.post(
            "/api/servers",
            json={"name": "notes", "source": {"type": "package", "registry_type": "npm", "identifier": "notes-mcp"},
                  "env": {"NOTES_DIR": "/data/notes"}, "resources": {"memory_limit": 512}},
        ).raise_for_status()  # fmt: skip
        server_id = time_server["id"]
        wait_for(lambda: http.get(f"/api/servers/{server_id}").json()["status"] == "running", "running server")
        for text in ("hello", "what time is it in Lisbon?", "bonjour", "ping"):
            call = {"method": "tools/call", "params": {"name": "echo", "arguments": {"text": text}}}
            http.post(f"/api/servers/{server_id}/invoke", json=call).raise_for_status()
        http.post(f"/api/servers/{server_id}/keys", json={"name": "laptop"}).raise_for_status()
        org = http.post("/api/orgs", json={"name": "Research"}).json()
        http.post(f"/api/orgs/{org['id']}/members", json={"email": "grace@example.com", "role": "member"})
        http.post(f"/api/orgs/{org['id']}/members", json={"email": "linus@example.com", "role": "viewer"})
        time.sleep(0.5)  # let the trace and log writers flush (they batch every 0.1 s)
        return {"server": server_id, "org": org["id"]}


async def shoot(url: str, ids: dict[str, str], out: Path) -> list[Path]:
    server, org = ids["server"], ids["org"]
    pages = [  # (name, path, also at phone width)
        ("landing", "/", True),
        ("sign-in", "/login", False),
        ("dashboard", "/dashboard", True),
        ("catalog", "/catalog", True),
        ("deploy-from-catalog", "/catalog/io.github.modelcontextprotocol/time", False),
        ("new-server", "/servers/new", False),
        ("server-overview", f"/servers/{server}", True),
        ("server-tools", f"/servers/{server}/tools", True),
        ("server-logs", f"/servers/{server}/logs", False),
        ("server-metrics", f"/servers/{server}/metrics", True),
        ("server-invocations", f"/servers/{server}/invocations", False),
        ("server-keys", f"/servers/{server}/keys", False),
        ("server-settings", f"/servers/{server}/settings", False),
        ("organisations", "/orgs", False),
        ("organisation", f"/orgs/{org}", False),
        ("profile", "/profile", False),
        ("admin", "/admin", False),
        ("docs", "/docs", False),
    ]
    dark = {"dashboard", "server-overview", "server-metrics"}
    saved: list[Path] = []
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        for scheme in ("light", "dark"):
            for viewport, suffix in ((DESKTOP, "desktop"), (PHONE, "mobile")):
                context = await browser.new_context(
                    base_url=url,
                    viewport=viewport,
                    color_scheme=scheme,
                    device_scale_factor=1,  # type: ignore[arg-type]
                )
                page = await context.new_page()
                await sign_in(page)
                for name, path, phone in pages:
                    if (suffix == "mobile" and not phone) or (scheme == "dark" and name not in dark):
                        continue
                    if scheme == "dark" and suffix == "mobile":
                        continue
                    await page.goto(path)
                    await page.wait_for_load_state("networkidle")
                    if name == "server-tools":
                        await try_echo(page)
                    target = out / f"{name}-{suffix}{'-dark' if scheme == 'dark' else ''}.png"
                    await page.screenshot(path=str(target), full_page=suffix == "desktop")
                    saved.append(target)
                await context.close()
        await browser.close()
    return saved


async def sign_in(page: Page) -> None:
    await page.goto("/login")
    await page.get_by_label("Email").fill(EMAIL)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url("**/dashboard")


async def try_echo(page: Page) -> None:
    """Run the echo tool from its "try it" form, so the picture shows a result."""
    echo = page.get_by_role("article").filter(has=page.get_by_role("heading", name="echo", exact=True))
    await echo.get_by_text("Try it").click()
    await echo.get_by_label("text").fill("hello from the console")
    await echo.get_by_role("button", name="Call echo").click()
    await echo.locator(".result-text").wait_for()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="mcphost-screens-") as scratch:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        process = start_instance(Path(scratch) / "home", port)
        try:
            wait_for(lambda: httpx.get(f"{url}/healthz", timeout=2).status_code == 200, "answer on /healthz")
            saved = asyncio.run(shoot(url, seed(url), args.out))
        finally:
            process.terminate()
            process.wait(20)
    for path in saved:
        print(f"saved {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")


if __name__ == "__main__":
    main()
