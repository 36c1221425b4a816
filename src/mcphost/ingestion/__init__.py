"""Ingestion pipelines: read documents (a server's files, uploads, a git repository, allowed URLs), extract their
text (plain text, Markdown, HTML, PDF), cut it into overlapping chunks, embed them with the local model and upsert
them into a vector database collection, as durable jobs with progress, retries, cancellation and per-document
errors."""
