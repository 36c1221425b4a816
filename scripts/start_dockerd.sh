#!/usr/bin/env bash
# A Docker engine for the Docker runtime's tests (and for running MCP Host with Docker on a machine without systemd).
#
#   bash scripts/start_dockerd.sh
#
# When an engine already answers (`docker info`), it is used as it is. Otherwise this starts Debian's dockerd in the
# background (as root), logging to /var/log/mcphost-dockerd.log, and waits until it answers. Before starting it,
# gVisor's `runsc` (Debian package runsc) is registered as the OCI runtime "runsc" in /etc/docker/daemon.json, with
# `--network=none`: Debian's runsc runs containers only without a network, so MCP Host uses it for servers whose
# network is `none` (docs/adr/0009-containers.md). An existing daemon.json keeps everything else it says.
set -euo pipefail

LOG=/var/log/mcphost-dockerd.log
CONFIG=/etc/docker/daemon.json

has() { command -v "$1" >/dev/null 2>&1; }

if docker info >/dev/null 2>&1; then
    echo "Docker engine: running ($(docker version --format '{{.Server.Version}}' 2>/dev/null || echo '?'))"
    exit 0
fi
if ! has dockerd; then
    echo "error: dockerd is not installed (Debian: apt-get install docker.io)" >&2
    exit 1
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "error: the Docker engine is not running and starting it needs root: sudo bash $0" >&2
    exit 1
fi

if has runsc; then
    mkdir -p "$(dirname "$CONFIG")"
    python3 - "$CONFIG" "$(command -v runsc)" <<'EOF'
import json, os, sys
path, runsc = sys.argv[1], sys.argv[2]
config = json.load(open(path)) if os.path.exists(path) and os.path.getsize(path) else {}
runtimes = config.setdefault("runtimes", {})
wanted = {"path": runsc, "runtimeArgs": ["--network=none"]}
if runtimes.get("runsc") != wanted:
    runtimes["runsc"] = wanted
    with open(path, "w") as out:
        json.dump(config, out, indent=2)
    print(f"registered gVisor (runsc, --network=none) in {path}")
EOF
fi

echo "starting dockerd (log: $LOG)"
# setsid: the engine outlives this script and the shell that ran it, as a service would.
setsid nohup dockerd >>"$LOG" 2>&1 </dev/null &
for _ in $(seq 1 120); do
    if docker info >/dev/null 2>&1; then
        echo "Docker engine: running ($(docker version --format '{{.Server.Version}}'))"
        exit 0
    fi
    sleep 0.5
done
echo "error: dockerd did not answer within 60 s; the end of $LOG:" >&2
tail -n 20 "$LOG" >&2
exit 1
