"""Files of a server: its data directory (``HOME/servers/{id}/data``, mounted at ``/data`` by every runtime), listed,
uploaded, downloaded and deleted through ``/api/servers/{id}/files/{path}``. The server writes there too and is
hostile code: every access walks the path one component at a time without following symlinks (``storage``)."""
