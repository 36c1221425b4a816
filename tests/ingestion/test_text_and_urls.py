"""Extraction, chunking and the URL source's checks, without a database: what a user would see of them (the text and
title stored, a document read back whole, a refused address with its reason)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from mcphost.ingestion import sources
from mcphost.ingestion.chunking import chunks
from mcphost.ingestion.extract import DocumentError, extract
from mcphost.settings import Settings


def test_chunks_overlap_and_put_the_document_back_together() -> None:
    text = " ".join(f"word{i}." if i % 17 == 0 else f"word{i}" for i in range(2000))
    pieces = chunks(text, 500, 100)
    assert len(pieces) > 10 and all(len(p.text) <= 500 for p in pieces)
    assert pieces[0].overlap == 0 and all(0 < p.overlap <= 100 for p in pieces[1:])
    rebuilt = pieces[0].text + "".join(p.text[p.overlap :] for p in pieces[1:])
    assert rebuilt == text


def test_extraction_of_markdown_html_and_bad_files() -> None:
    markdown = extract("guide.md", b"Intro\n\n# Install guide\n\nRun it.")
    assert (markdown.title, markdown.kind) == ("Install guide", "text")
    html = extract("page.html", b"<title>Page</title><style>p{}</style><nav>menu</nav><p>Body <b>text</b></p>")
    assert html.title == "Page" and "Body" in html.text and "menu" not in html.text and "p{}" not in html.text
    with pytest.raises(DocumentError, match=r"unsupported file type \.exe"):
        extract("tool.exe", b"MZ")
    with pytest.raises(DocumentError, match="binary"):
        extract("notes.txt", b"\x00\x01\x02")
    with pytest.raises(DocumentError, match="PDF cannot be read"):
        extract("paper.pdf", b"%PDF-1.4 truncated")


class _Redirect(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path == "/away":
            self.send_response(302)
            self.send_header("Location", "http://elsewhere.invalid/secret")
            self.end_headers()
            return
        body = b"<title>Local</title><p>hello</p>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def local_site() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Redirect)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


async def _read(url: str, settings: Settings) -> sources.Document:
    async for doc in sources.url({"url": url}, settings):
        return doc
    raise AssertionError("no document")


async def test_url_sources_refuse_private_addresses_and_redirects_off_the_list(local_site: str, tmp_path: Path) -> None:
    strict = Settings(home=tmp_path, ingestion={"url_allow_list": ["127.0.0.1"]})
    refused = await _read(f"{local_site}/doc.html", strict)
    assert refused.error is not None and "loopback, private or reserved" in refused.error
    not_listed = await _read("http://example.org/doc.html", strict)
    assert not_listed.error is not None and "allow-list" in not_listed.error

    intranet = Settings(home=tmp_path, ingestion={"url_allow_list": ["127.0.0.1"], "allow_private_addresses": True})
    fetched = await _read(f"{local_site}/doc.html", intranet)
    assert fetched.error is None and b"hello" in fetched.data and fetched.content_type == "text/html"
    redirected = await _read(f"{local_site}/away", intranet)
    assert redirected.error is not None and "elsewhere.invalid is not on the URL allow-list" in redirected.error
