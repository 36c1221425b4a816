"""Runtimes run hosted servers: a local sandboxed process by default; Docker, Kubernetes and VMs later, all
behind the interface in ``base``.

One folder per backend (``process/``); at the top only what every backend shares or the layers above use: the
interface (``base``), the registry that picks a backend by type (``registry``), log-line buffering
(``log_lines``) and the fake runtime for tests (``fake``)."""
