"""``mcphost vectors``: managed vector databases (ls, create, show, rm, collections, query, documents, publish) and
``mcphost ingest``: ingestion jobs into them (start with files, a server's files, a git repository or URLs, with a
progress bar until done; ls, show, cancel, rm)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from mcphost.cli.output import JsonOption, UrlOption, YesOption, console, esc, fail, print_json, run_api, short_time

if TYPE_CHECKING:
    from mcphost.client import MCPHostClient

app = typer.Typer(
    help="Managed vector databases (Chroma), their collections, search and publishing.", no_args_is_help=True
)
ingest_app = typer.Typer(help="Ingestion jobs: documents into a vector database collection.", no_args_is_help=True)
DbArg = Annotated[str, typer.Argument(help="The vector database's id or name.", show_default=False)]
CollectionArg = Annotated[str, typer.Argument(help="A collection of it.", show_default=False)]
JobArg = Annotated[str, typer.Argument(help="The ingestion job's id.", show_default=False)]


def _size(value: int | None) -> str:
    if value is None:
        return "-"
    amount = float(value)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if amount < 1024 or unit == "GiB":
            return f"{amount:.0f} {unit}" if unit == "B" else f"{amount:.1f} {unit}"
        amount /= 1024
    return str(value)


@app.command("ls")
def list_dbs(url: UrlOption = None, as_json: JsonOption = False) -> None:
    """Your vector databases (and your organisations'), with status and usage."""
    from mcphost.client import vectors

    found = run_api(vectors.list_dbs, url)
    if as_json:
        print_json(found)
        return
    from rich.table import Table

    table = Table("ID", "NAME", "STATUS", "COLLECTIONS", "VECTORS", "DISK", "PUBLISHED", box=None)
    for db in found:
        usage = db["usage"] or {}
        table.add_row(db["id"][:8], esc(db["name"]), db["status"], str(usage.get("collections", "-")),
                      str(usage.get("vectors", "-")), _size(usage.get("bytes_on_disk")),
                      esc(db["published_collection"] or ""))  # fmt: skip
    out = console()
    if found:
        out.print(table)
    else:
        out.print("No vector databases yet; create one with: mcphost vectors create NAME")


@app.command("create")
def create(
    name: Annotated[str, typer.Argument(help="Its name.", show_default=False)],
    org: Annotated[str | None, typer.Option("--org", help="Owned by this organisation (its id).")] = None,
    wait: Annotated[bool, typer.Option("--wait/--no-wait", help="Wait until it runs.")] = True,
    url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Create a vector database: a Chroma server the platform runs and supervises."""
    from mcphost.client import vectors

    async def work(client: MCPHostClient) -> dict[str, Any]:
        import asyncio

        db = await vectors.create(client, name, org)
        deadline = time.monotonic() + 120
        # A failed start is retried by the platform; the command says why now rather than waiting on.
        while wait and db["status"] not in ("running", "failed") and time.monotonic() < deadline:
            await asyncio.sleep(0.5)
            db = await vectors.get(client, db["id"])
        return db

    with console(stderr=True).status("Starting the vector database…"):
        db = run_api(work, url)
    if as_json:
        print_json(db)
    else:
        console().print(f"Vector database {esc(db['name'])} ({db['id']}) is {db['status']}.")
    if db["status"] == "failed":
        console(stderr=True).print(f"[red]{esc(db['last_error'] or 'it failed to start')}[/red] (the platform retries)")
        raise typer.Exit(1)


@app.command("show")
def show(db: DbArg, url: UrlOption = None, as_json: JsonOption = False) -> None:
    """Status, usage and collections of a vector database."""
    from mcphost.client import vectors

    async def work(client: MCPHostClient) -> dict[str, Any]:
        found = await vectors.resolve(client, db)
        found["collections"] = (
            await vectors.list_collections(client, found["id"]) if found["status"] == "running" else []
        )
        return found

    found = run_api(work, url)
    if as_json:
        print_json(found)
        return
    out = console()
    usage = found["usage"] or {}
    out.print(f"[bold]{esc(found['name'])}[/bold] {found['id']}  {found['status']}  restarts {found['restarts']}")
    if found["last_error"]:
        out.print(f"[red]last error:[/red] {esc(found['last_error'])}")
    out.print(f"{usage.get('vectors', '-')} vectors in {usage.get('collections', '-')} collections, "
              f"{_size(usage.get('bytes_on_disk'))} of {_size(usage.get('disk_limit_bytes'))} on disk")  # fmt: skip
    for collection in found["collections"]:
        out.print(f"  {esc(collection['name'])}: {collection['vectors']} vectors")


@app.command("rm")
def remove(db: DbArg, yes: YesOption = False, url: UrlOption = None) -> None:
    """Delete a vector database: its server stops and its data is removed (and its search server, if published)."""
    from mcphost.client import vectors

    if not yes and not typer.confirm(f"Delete the vector database {db} and all its data?"):
        raise typer.Exit(1)

    async def work(client: MCPHostClient) -> None:
        await vectors.delete(client, (await vectors.resolve(client, db))["id"])

    run_api(work, url)
    console().print(f"Deleted {esc(db)}.")


@app.command("collection")
def collection(
    action: Annotated[str, typer.Argument(help="create or rm.", show_default=False)],
    db: DbArg,
    name: CollectionArg,
    url: UrlOption = None,
) -> None:
    """Create or delete a collection."""
    from mcphost.client import vectors

    if action not in ("create", "rm"):
        fail("the action is create or rm")

    async def work(client: MCPHostClient) -> None:
        db_id = (await vectors.resolve(client, db))["id"]
        if action == "create":
            await vectors.create_collection(client, db_id, name)
        else:
            await vectors.delete_collection(client, db_id, name)

    run_api(work, url)
    console().print(f"{'Created' if action == 'create' else 'Deleted'} collection {esc(name)}.")


@app.command("query")
def query(
    db: DbArg,
    collection_name: CollectionArg,
    text: Annotated[str, typer.Argument(help="What to search for.", show_default=False)],
    k: Annotated[int, typer.Option("-k", help="How many passages.")] = 5,
    url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Semantic search of a collection."""
    from mcphost.client import vectors

    async def work(client: MCPHostClient) -> list[dict[str, Any]]:
        return await vectors.query(client, (await vectors.resolve(client, db))["id"], collection_name, text, k)

    hits = run_api(work, url)
    if as_json:
        print_json(hits)
        return
    out = console()
    for i, hit in enumerate(hits, 1):
        out.print(f"[bold]{i}. {esc(hit['source'])}[/bold] (score {hit['score']})")
        out.print(esc(hit["text"][:400]))
    if not hits:
        out.print("Nothing found.")


@app.command("documents")
def documents(db: DbArg, collection_name: CollectionArg, url: UrlOption = None, as_json: JsonOption = False) -> None:
    """The documents stored in a collection."""
    from mcphost.client import vectors

    async def work(client: MCPHostClient) -> list[dict[str, Any]]:
        return await vectors.list_documents(client, (await vectors.resolve(client, db))["id"], collection_name)

    found = run_api(work, url)
    if as_json:
        print_json(found)
        return
    for doc in found:
        console().print(f"{esc(doc['source'])}  {doc['chunks']} chunks")


@app.command("publish")
def publish(
    db: DbArg,
    collection_name: CollectionArg,
    name: Annotated[str | None, typer.Option("--name", help="The server's name.")] = None,
    url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Expose a collection as a hosted MCP server with a search tool; prints its endpoint and access key (once)."""
    from mcphost.client import vectors

    async def work(client: MCPHostClient) -> dict[str, Any]:
        return await vectors.publish(client, (await vectors.resolve(client, db))["id"], collection_name, name)

    published = run_api(work, url)
    if as_json:
        print_json(published)
        return
    out = console()
    out.print(f"Published as {esc(published['slug'])}: {esc(published['endpoint'])}")
    out.print(f"Access key (shown once): {esc(published['access_key'])}")


@ingest_app.command("start")
def start(
    db: DbArg,
    collection_name: CollectionArg,
    files: Annotated[list[Path] | None, typer.Option("--file", "-f", help="A local file to upload (repeat).")] = None,
    server: Annotated[str | None, typer.Option("--server", help="A server's files (its id or slug).")] = None,
    git: Annotated[str | None, typer.Option("--git", help="A git repository URL (shallow clone).")] = None,
    ref: Annotated[str | None, typer.Option("--ref", help="The git branch or tag.")] = None,
    urls: Annotated[list[str] | None, typer.Option("--url-source", help="A URL on the allow-list (repeat).")] = None,
    chunk_size: Annotated[int | None, typer.Option("--chunk-size", help="Characters per chunk.")] = None,
    chunk_overlap: Annotated[int | None, typer.Option("--chunk-overlap", help="Characters of overlap.")] = None,
    wait: Annotated[bool, typer.Option("--wait/--no-wait", help="Follow its progress until it ends.")] = True,
    url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Start an ingestion job into a collection (created if missing) and follow its progress."""
    from mcphost.client import vectors

    sources: list[dict[str, Any]] = []
    for path in files or []:
        if not path.is_file():
            fail(f"{path} is not a file")
    if files:
        sources.append({"type": "upload"})
    if git:
        sources.append({"type": "git", "url": git} | ({"ref": ref} if ref else {}))
    sources += [{"type": "url", "url": each} for each in urls or []]
    if not sources and not server:
        fail("name at least one source: --file, --server, --git or --url-source")

    async def work(client: MCPHostClient) -> dict[str, Any]:
        import asyncio

        if server:
            sources.append({"type": "server_files", "server_id": (await client.resolve_server(server))["id"]})
        db_id = (await vectors.resolve(client, db))["id"]
        job = await vectors.ingest(client, db_id, collection_name, sources, files=files or [],
                                   chunk_size=chunk_size, chunk_overlap=chunk_overlap)  # fmt: skip
        if not wait:
            return job
        from rich.progress import Progress

        with Progress(console=console(stderr=True), transient=True) as bar:
            task = bar.add_task("Ingesting", total=None)
            while job["status"] in ("queued", "running"):
                await asyncio.sleep(0.5)
                job = await vectors.get_job(client, job["id"])
                p = job["progress"]
                bar.update(task, total=p["documents_total"] or None,
                           completed=p["documents_done"] + p["documents_failed"],
                           description=f"{p['documents_done']} documents, {p['chunks']} chunks")  # fmt: skip
        return job

    job = run_api(work, url)
    if as_json:
        print_json(job)
        return
    _print_job(job)
    if job["status"] in ("failed", "partial"):
        raise typer.Exit(1)


def _print_job(job: dict[str, Any]) -> None:
    out = console()
    p = job["progress"]
    out.print(f"Job {job['id']}: {job['status']} — {p['documents_done']} documents ({p['documents_unchanged']} "
              f"unchanged), {p['documents_failed']} failed, {p['chunks']} chunks, {_size(p['bytes'])}")  # fmt: skip
    if job["error"]:
        out.print(f"[red]{esc(job['error'])}[/red]")
    for failure in job["errors"]:
        out.print(f"  [red]✗[/red] {esc(failure['document'])}: {esc(failure['error'])}")


@ingest_app.command("ls")
def list_jobs(
    db: Annotated[str | None, typer.Option("--db", help="Only this vector database's jobs.")] = None,
    url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Ingestion jobs, newest first."""
    from mcphost.client import vectors

    async def work(client: MCPHostClient) -> list[dict[str, Any]]:
        db_id = (await vectors.resolve(client, db))["id"] if db else None
        return await vectors.list_jobs(client, db_id)

    jobs = run_api(work, url)
    if as_json:
        print_json(jobs)
        return
    from rich.table import Table

    table = Table("ID", "STATUS", "COLLECTION", "DOCUMENTS", "FAILED", "CHUNKS", "CREATED", box=None)
    for job in jobs:
        p = job["progress"]
        table.add_row(job["id"], job["status"], esc(job["collection"]), str(p["documents_done"]),
                      str(p["documents_failed"]), str(p["chunks"]), short_time(job["created_at"]))  # fmt: skip
    console().print(table if jobs else "No ingestion jobs.")


@ingest_app.command("show")
def show_job(job: JobArg, url: UrlOption = None, as_json: JsonOption = False) -> None:
    """An ingestion job's progress and per-document errors."""
    from mcphost.client import vectors

    found = run_api(lambda client: vectors.get_job(client, job), url)
    if as_json:
        print_json(found)
        return
    _print_job(found)


@ingest_app.command("cancel")
def cancel(job: JobArg, url: UrlOption = None) -> None:
    """Cancel a queued or running job (a running one stops after its current document)."""
    from mcphost.client import vectors

    found = run_api(lambda client: vectors.cancel_job(client, job), url)
    console().print(f"Job {found['id']} is {found['status']}{' (stopping)' if found['status'] == 'running' else ''}.")


@ingest_app.command("rm")
def remove_job(job: JobArg, url: UrlOption = None) -> None:
    """Delete a finished job's record (the chunks it stored stay)."""
    from mcphost.client import vectors

    run_api(lambda client: vectors.delete_job(client, job), url)
    console().print(f"Deleted job {job}.")
