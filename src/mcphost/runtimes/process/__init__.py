"""The process backend: hosted servers as local processes, sandboxed with bubblewrap when it is available.

``runtime`` (the ``Runtime``), ``instance`` (a running server and stopping it), ``sandbox`` (bubblewrap),
``packages`` (cached package environments), ``limits`` (cgroups and rlimits), ``network`` (a network namespace
of its own through passt or slirp4netns), ``users`` (a host uid per server) and ``process_tree`` (the processes
of a server, from ``/proc``). The registry names it ``mcphost.runtimes.process:ProcessRuntime``."""

from mcphost.runtimes.process.runtime import ProcessRuntime

__all__ = ["ProcessRuntime"]
