"""A server's files through the API: uploads (raw and multipart) land in its data directory with their checksum
and content type, list, download and delete; who may read and who may write; the limits (per file, per server), and
that nothing half-written stays behind; and paths that would leave the directory (traversal, or symlinks the hosted
server made) are refused."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from mcphost.settings import Settings
from tests.conftest import make_settings
from tests.pinning.orgs import team
from tests.servers.hosting import deploy
from tests.support.accounts import Account, assert_error, sign_up


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return make_settings(tmp_path / "home", database_url, files={"max_file_bytes": 4096, "quota_bytes": 10_000})


@pytest.fixture
async def owner(client: httpx.AsyncClient) -> Account:
    return await sign_up(client, "owner@example.com")


def data_of(app: FastAPI, server: dict[str, Any]) -> Path:
    return Path(app.state.platform.settings.home) / "servers" / server["id"] / "data"


def leftovers(directory: Path) -> list[str]:
    return [path.name for path in directory.rglob("*") if path.name.startswith(".mcphost-upload-")]


async def test_upload_list_download_and_delete(app: FastAPI, client: httpx.AsyncClient, owner: Account) -> None:
    server = await deploy(client, owner, start=False)
    base = f"/api/servers/{server['id']}/files"
    body = b"hello from the owner\n"

    put = await client.put(f"{base}/notes/hello.txt", content=body, headers=owner.headers)
    again = await client.put(f"{base}/notes/hello.txt", content=body + b"more", headers=owner.headers)
    posted = await client.post(
        f"{base}/notes", files={"file": ("data.json", b'{"a": 1}', "application/json")}, headers=owner.headers
    )
    root = await client.get(base, headers=owner.headers)
    listing = await client.get(f"{base}/notes", headers=owner.headers)
    download = await client.get(f"{base}/notes/hello.txt", headers=owner.headers)

    assert put.status_code == 201, put.text
    assert put.json()["sha256"] == hashlib.sha256(body).hexdigest() and put.json()["created"] is True
    assert again.status_code == 200 and again.json()["created"] is False
    assert posted.status_code == 201, posted.text
    assert (data_of(app, server) / "notes" / "data.json").read_bytes() == b'{"a": 1}'
    assert [(e["name"], e["type"]) for e in root.json()["entries"]] == [("notes", "directory")]
    entries = {entry["name"]: entry for entry in listing.json()["entries"]}
    assert entries["hello.txt"]["size"] == len(body) + 4
    assert entries["hello.txt"]["sha256"] == hashlib.sha256(body + b"more").hexdigest()
    assert entries["hello.txt"]["content_type"] == "text/plain"
    assert entries["data.json"]["content_type"] == "application/json"
    assert listing.json()["used_bytes"] >= len(body) + 4 + 8 and listing.json()["quota_bytes"] == 10_000
    assert download.status_code == 200 and download.content == body + b"more"
    assert download.headers["content-type"].startswith("text/plain")
    assert download.headers["content-disposition"].startswith('attachment; filename="hello.txt"')
    assert download.headers["x-content-type-options"] == "nosniff"

    not_empty = await client.delete(f"{base}/notes", headers=owner.headers)
    deleted = await client.delete(f"{base}/notes/hello.txt", headers=owner.headers)
    gone = await client.get(f"{base}/notes/hello.txt", headers=owner.headers)
    tree = await client.delete(f"{base}/notes?recursive=true", headers=owner.headers)

    assert_error(not_empty, 409, "directory_not_empty")
    assert deleted.status_code == 200 and deleted.json()["type"] == "file"
    assert_error(gone, 404)
    assert tree.status_code == 200 and not (data_of(app, server) / "notes").exists()


async def test_overwrite_false_refuses_an_existing_file(client: httpx.AsyncClient, owner: Account) -> None:
    server = await deploy(client, owner, start=False)
    path = f"/api/servers/{server['id']}/files/a.txt"
    await client.put(path, content=b"one", headers=owner.headers)

    refused = await client.put(f"{path}?overwrite=false", content=b"two", headers=owner.headers)

    assert_error(refused, 409, "file_exists")
    assert (await client.get(path, headers=owner.headers)).content == b"one"


async def test_size_limits_and_quota_leave_nothing_half_written(
    app: FastAPI, client: httpx.AsyncClient, owner: Account
) -> None:
    server = await deploy(client, owner, start=False)
    base = f"/api/servers/{server['id']}/files"

    async def streamed(size: int) -> Any:  # no Content-Length: the limit is found while streaming
        for _ in range(size // 1000):
            yield b"x" * 1000

    too_big = await client.put(f"{base}/big.bin", content=b"x" * 5000, headers=owner.headers)
    too_big_streamed = await client.put(f"{base}/big.bin", content=streamed(5000), headers=owner.headers)
    fills = [await client.put(f"{base}/f{i}.bin", content=b"y" * 3000, headers=owner.headers) for i in range(3)]
    over_quota = await client.put(f"{base}/f3.bin", content=b"y" * 3000, headers=owner.headers)
    replace_fits = await client.put(f"{base}/f0.bin", content=b"z" * 3000, headers=owner.headers)

    assert_error(too_big, 413, "file_too_large")
    assert_error(too_big_streamed, 413, "file_too_large")
    assert [response.status_code for response in fills] == [201, 201, 201]
    error = assert_error(over_quota, 413, "quota_exceeded")
    assert "quota" in str(error["message"])
    assert replace_fits.status_code == 200, replace_fits.text  # replacing a file frees what it held
    names = sorted(os.listdir(data_of(app, server)))
    assert names == ["f0.bin", "f1.bin", "f2.bin"] and leftovers(data_of(app, server)) == []


async def test_a_big_upload_passes_the_api_body_limit_but_not_its_own(tmp_path: Path, database_url: str) -> None:
    from mcphost.api import create_app

    settings = make_settings(tmp_path / "h", database_url, files={"max_file_bytes": 3 * 1024 * 1024})
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            owner = await sign_up(http, "big@example.com")
            server = await deploy(http, owner, start=False)
            body = os.urandom(2 * 1024 * 1024)  # over server.max_body_bytes (1 MiB), binary (NUL bytes)
            stored = await http.put(f"/api/servers/{server['id']}/files/blob.bin", content=body, headers=owner.headers)
            back = await http.get(f"/api/servers/{server['id']}/files/blob.bin", headers=owner.headers)
    assert stored.status_code == 201, stored.text
    assert back.content == body and stored.json()["sha256"] == hashlib.sha256(body).hexdigest()


@pytest.mark.parametrize(
    ("path", "why"),
    [
        ("%2E%2E/%2E%2E/secret.key", "'..'"),
        ("a/%2E%2E/b", "'..'"),
        ("a//b", "empty"),
        ("a%5Cb", "backslash"),
        ("%2Fetc%2Fpasswd", "absolute"),
        ("a%1Bb", "control"),
        (".mcphost-upload-x", "platform"),
    ],
)
async def test_paths_that_leave_the_directory_are_refused(
    client: httpx.AsyncClient, owner: Account, path: str, why: str
) -> None:
    server = await deploy(client, owner, start=False)

    put = await client.put(f"/api/servers/{server['id']}/files/{path}", content=b"x", headers=owner.headers)
    get = await client.get(f"/api/servers/{server['id']}/files/{path}", headers=owner.headers)

    assert why in str(assert_error(put, 422, "invalid_path")["message"])
    assert_error(get, 422, "invalid_path")


async def test_nul_in_the_path_is_refused(client: httpx.AsyncClient, owner: Account) -> None:
    server = await deploy(client, owner, start=False)
    response = await client.put(f"/api/servers/{server['id']}/files/a%00b", content=b"x", headers=owner.headers)
    assert_error(response, 422)


async def test_symlinks_and_special_files_the_server_made_are_never_followed(
    app: FastAPI, client: httpx.AsyncClient, owner: Account, tmp_path: Path
) -> None:
    server = await deploy(client, owner, start=False)
    base = f"/api/servers/{server['id']}/files"
    data = data_of(app, server)
    data.mkdir(parents=True, exist_ok=True)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("platform secret")
    # What a hostile server can do in its own /data:
    (data / "escape").symlink_to(outside)
    (data / "secret-link.txt").symlink_to(outside / "secret.txt")
    os.mkfifo(data / "pipe")

    through_dir = await client.get(f"{base}/escape/secret.txt", headers=owner.headers)
    list_link = await client.get(f"{base}/escape", headers=owner.headers)
    read_link = await client.get(f"{base}/secret-link.txt", headers=owner.headers)
    write_through = await client.put(f"{base}/escape/planted.txt", content=b"x", headers=owner.headers)
    fifo = await client.get(f"{base}/pipe", headers=owner.headers)
    listing = await client.get(base, headers=owner.headers)
    replace_link = await client.put(f"{base}/secret-link.txt", content=b"mine", headers=owner.headers)

    assert_error(through_dir, 409, "symlink_refused")
    assert_error(list_link, 409, "symlink_refused")
    assert_error(read_link, 409, "symlink_refused")
    assert_error(write_through, 409, "symlink_refused")
    assert_error(fifo, 409, "not_a_regular_file")
    types = {entry["name"]: entry["type"] for entry in listing.json()["entries"]}
    assert types == {"escape": "symlink", "secret-link.txt": "symlink", "pipe": "other"}
    # Uploading over a link replaces the link itself; the file it pointed at is untouched.
    assert replace_link.status_code == 200, replace_link.text
    assert (outside / "secret.txt").read_text() == "platform secret"
    assert not (data / "secret-link.txt").is_symlink() and (data / "secret-link.txt").read_bytes() == b"mine"
    assert not (outside / "planted.txt").exists()


async def test_multipart_without_a_file_field_is_a_clear_error(client: httpx.AsyncClient, owner: Account) -> None:
    server = await deploy(client, owner, start=False)
    base = f"/api/servers/{server['id']}/files"

    no_file = await client.post(base, data={"other": "x"}, files={"x": ("", b"")}, headers=owner.headers)
    raw = await client.post(base, content=b"abc", headers=owner.headers | {"content-type": "text/plain"})

    assert "'file'" in str(assert_error(no_file, 422, "invalid_upload")["message"])
    assert_error(raw, 422, "invalid_upload")


async def test_who_may_read_and_write(client: httpx.AsyncClient) -> None:
    people = await team(client)
    server = await deploy(client, people["owner"], org_id=people["org"], start=False)
    stranger = await sign_up(client, "stranger@example.com")
    path = f"/api/servers/{server['id']}/files/shared.txt"
    await client.put(path, content=b"team data", headers=people["owner"].headers)

    admin_writes = await client.put(path, content=b"by admin", headers=people["admin"].headers)
    member_reads = await client.get(path, headers=people["member"].headers)
    member_writes = await client.put(path, content=b"x", headers=people["member"].headers)
    member_deletes = await client.delete(path, headers=people["member"].headers)
    viewer_reads = await client.get(path, headers=people["viewer"].headers)
    stranger_reads = await client.get(path, headers=stranger.headers)
    stranger_writes = await client.put(path, content=b"x", headers=stranger.headers)

    assert admin_writes.status_code == 200
    assert member_reads.status_code == 200 and member_reads.content == b"by admin"
    assert_error(member_writes, 403)
    assert_error(member_deletes, 403)
    assert_error(viewer_reads, 403)
    assert_error(stranger_reads, 404)
    assert_error(stranger_writes, 404)
