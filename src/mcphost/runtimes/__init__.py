"""Runtimes run hosted servers: a local sandboxed process by default; Docker, Kubernetes and VMs later, all
behind the interface in ``base``."""
