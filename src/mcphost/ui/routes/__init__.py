"""The console's pages, one module per area; each exposes ``router`` (an APIRouter of ``ConsoleRoute``)."""
