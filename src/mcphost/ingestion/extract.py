"""Text out of documents: plain text and Markdown as they are, HTML through selectolax (a maintained HTML5 parser;
scripts, styles and navigation dropped), PDF through pypdf. A document that cannot be read says why."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from pathlib import PurePosixPath

TEXT_SUFFIXES = frozenset({".txt", ".md", ".markdown", ".rst", ".text", ".csv", ".json", ".yaml", ".yml", ".toml"})
HTML_SUFFIXES = frozenset({".html", ".htm", ".xhtml"})
PDF_SUFFIXES = frozenset({".pdf"})
SUPPORTED = TEXT_SUFFIXES | HTML_SUFFIXES | PDF_SUFFIXES
_HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.MULTILINE)


class DocumentError(Exception):
    """This document cannot be ingested; the message says why (shown per document on the job)."""


@dataclass(frozen=True)
class Extracted:
    text: str
    title: str
    kind: str


def kind_of(name: str, content_type: str | None = None) -> str | None:
    """text, html or pdf, by the content type when there is one, else by the name's suffix; None: not supported."""
    if content_type:
        media = content_type.split(";")[0].strip().lower()
        if media == "application/pdf":
            return "pdf"
        if media in ("text/html", "application/xhtml+xml"):
            return "html"
        if media.startswith("text/") or media in ("application/json", "application/x-yaml"):
            return "text"
    suffix = PurePosixPath(name).suffix.lower()
    if suffix in PDF_SUFFIXES:
        return "pdf"
    if suffix in HTML_SUFFIXES:
        return "html"
    if suffix in TEXT_SUFFIXES:
        return "text"
    return None


def extract(name: str, data: bytes, content_type: str | None = None) -> Extracted:
    kind = kind_of(name, content_type)
    if kind is None:
        raise DocumentError(
            f"unsupported file type {PurePosixPath(name).suffix or '(none)'}: plain text, Markdown, HTML and PDF are"
        )
    if kind == "pdf":
        text, title = _pdf(data)
    elif kind == "html":
        text, title = _html(data)
    else:
        text, title = _text(data), ""
        heading = _HEADING.search(text)
        title = heading.group(1) if heading else ""
    text = re.sub(r"[ \t]+\n", "\n", text).strip()
    if not text:
        raise DocumentError("no text found in it")
    return Extracted(text=text, title=title or PurePosixPath(name).name, kind=kind)


def _text(data: bytes) -> str:
    if b"\x00" in data[:8192]:
        raise DocumentError("it looks binary (NUL bytes), not text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _html(data: bytes) -> tuple[str, str]:
    from selectolax.lexbor import LexborHTMLParser

    tree = LexborHTMLParser(data.decode("utf-8", errors="replace"))
    title_node = tree.css_first("title")
    title = title_node.text(strip=True) if title_node is not None else ""
    for node in tree.css("script, style, noscript, template, nav, svg"):
        node.decompose()
    body = tree.body or tree.root
    text = body.text(separator="\n", strip=True) if body is not None else ""
    return re.sub(r"\n{3,}", "\n\n", text), title


def _pdf(data: bytes) -> tuple[str, str]:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise DocumentError("the PDF is encrypted")
        pages = [page.extract_text() or "" for page in reader.pages]
        title = str(reader.metadata.get("/Title") or "") if reader.metadata is not None else ""
    except (PdfReadError, ValueError, KeyError, TypeError) as exc:
        raise DocumentError(f"the PDF cannot be read: {exc}") from exc
    return "\n\n".join(pages), title
