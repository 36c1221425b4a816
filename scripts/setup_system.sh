#!/usr/bin/env bash
# The Debian packages MCP Host needs, for running it or for testing it: one script shared by `make run`,
# `make test` and `.ci/run`.
#
#   bash scripts/setup_system.sh run     what `make run` needs: Python's venv, bubblewrap and passt (the sandbox and
#                                        its network; slirp4netns, the other network helper), Node.js and npm
#   bash scripts/setup_system.sh test    the above, plus git, PostgreSQL and Redis (installed, running, reachable on
#                                        localhost:5432 and :6379), Chromium with fonts and libatomic1 (the
#                                        console's browser tests: Playwright's driver needs it), and for the Docker
#                                        runtime: docker.io (dockerd started), runsc, docker-registry, debootstrap
#                                        and the base images (scripts/docker_base_images.sh); caddy and pebble
#                                        (custom domains: the proxy, the ACME test CA and its DNS); kubectl
#                                        (kubernetes-client: deploy/kubernetes/ rendered with kustomize); and the
#                                        Kubernetes runtime's test cluster (scripts/build_kubernetes.sh: etcd-server,
#                                        golang-go, and the cluster's binaries built once, cached outside the repo)
#
# When everything is there it prints one line and returns at once. Otherwise it installs what is missing with
# apt-get when it can (running as root, or with sudo that needs no password); when it cannot, it prints the one
# `apt-get install` line to run and exits with status 1. MCPHOST_SETUP_INSTALL=no never installs (only checks).
set -euo pipefail

profile="${1:-test}"
case "$profile" in
run | test) ;;
*)
    echo "usage: $0 [run|test]" >&2
    exit 2
    ;;
esac

POSTGRES_PORT="${MCPHOST_SETUP_POSTGRES_PORT:-5432}"
REDIS_PORT=6379

has() { command -v "$1" >/dev/null 2>&1; }

# missing_packages: the Debian packages of this profile that are not installed, one per line.
missing_packages() {
    has python3 || echo python3
    # Debian's python3 lacks ensurepip (and so `python3 -m venv`) without python3-venv.
    if has python3 && ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then echo python3-venv; fi
    has make || echo make
    has bwrap || echo bubblewrap # the process runtime's sandbox
    has pasta || echo passt      # the sandbox's own network namespace with outbound access only
    has slirp4netns || echo slirp4netns # the other network helper (runtime.network_helper)
    has node || echo nodejs      # npm packages as hosted servers
    has npm || echo npm
    [ -e /etc/ssl/certs/ca-certificates.crt ] || echo ca-certificates
    if [ "$profile" = test ]; then
        has git || echo git
        # The console's tests drive Debian's Chromium; fonts so pages render as users see them.
        has chromium || echo chromium
        [ -e /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || echo fonts-dejavu-core
        installed libatomic1 || echo libatomic1 # Playwright's bundled Node.js driver links it
        postgres_installed || echo postgresql
        has pg_isready || echo postgresql-client
        has redis-server || echo redis-server # the catalog's Redis server is tested against a real Redis
        # The Docker runtime's tests: a real engine, gVisor, a real registry, base images built with debootstrap.
        has dockerd || echo docker.io
        has runsc || echo runsc
        has docker-registry || echo docker-registry
        has htpasswd || echo apache2-utils # the test registry's htpasswd file
        has debootstrap || echo debootstrap
        # deploy/kubernetes/ is rendered with `kubectl kustomize` (tests/deploy); any kubectl will do.
        has kubectl || echo kubernetes-client
        # Custom domains: a real Caddy, and pebble (the ACME test CA, with pebble-challtestsrv as the tests' DNS).
        has caddy || echo caddy
        has pebble || echo pebble
    fi
}

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'ok installed'; }

postgres_installed() { [ -d /etc/postgresql ] && [ -n "$(ls -A /etc/postgresql 2>/dev/null)" ]; }

# as_root COMMAND...: run as root directly or through sudo without a password; fails when neither works.
as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif has sudo && sudo -n true 2>/dev/null; then
        sudo -n "$@"
    else
        return 97
    fi
}

can_be_root() { [ "$(id -u)" -eq 0 ] || { has sudo && sudo -n true 2>/dev/null; }; }

refuse() {
    echo "" >&2
    echo "MCP Host needs these Debian packages, which are not installed: $*" >&2
    echo "Install them (this script can do it when run as root or with sudo), then run make again:" >&2
    echo "" >&2
    echo "    sudo apt-get install -y --no-install-recommends $*" >&2
    echo "" >&2
    exit 1
}

install_packages() {
    echo "installing Debian packages: $* (apt-get, a few minutes on a fresh machine)"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
    # Progress lines ("Get:…", "Unpacking …", "Setting up …") show what apt-get is doing.
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@"
}

# Only for a PostgreSQL this script installed itself: the tests connect as postgres over TCP without a password.
trust_local_connections() {
    local hba
    hba="$(ls -d /etc/postgresql/*/main | head -n1)/pg_hba.conf"
    echo "configuring trust authentication for local connections in $hba (a PostgreSQL installed for the tests)"
    as_root sed -i -E 's/^(local|host)(\s+all\s+all\s+.*)\s(peer|scram-sha-256|md5)$/\1\2 trust/' "$hba"
    as_root sed -i -E 's/^(local\s+all\s+postgres\s+)peer$/\1trust/' "$hba"
    as_root pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -n1)" main restart || true
}

# PostgreSQL accepting connections on localhost (started when it is installed but down: there is no systemd in
# containers and CI machines).
postgres_up() {
    if pg_isready -q -h localhost -p "$POSTGRES_PORT"; then
        return 0
    fi
    local version
    version="$(ls /etc/postgresql | sort -V | tail -n1)"
    if ! can_be_root; then
        echo "PostgreSQL $version is not running on localhost:$POSTGRES_PORT; start it (as root):" >&2
        echo "    sudo pg_ctlcluster $version main start" >&2
        exit 1
    fi
    echo "starting PostgreSQL $version"
    as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start
    for _ in $(seq 1 120); do
        pg_isready -q -h localhost -p "$POSTGRES_PORT" && return 0
        sleep 0.5
    done
    echo "error: PostgreSQL did not come up on localhost:$POSTGRES_PORT" >&2
    exit 1
}

# Redis on localhost:6379 (started without persistence when it is installed but down).
redis_up() {
    if redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping >/dev/null 2>&1; then
        return 0
    fi
    echo "starting Redis on 127.0.0.1:$REDIS_PORT"
    redis-server --daemonize yes --bind 127.0.0.1 --port "$REDIS_PORT" --save "" --appendonly no \
        --dir "${TMPDIR:-/tmp}" --logfile "${TMPDIR:-/tmp}/mcphost-test-redis.log"
    for _ in $(seq 1 40); do
        redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping >/dev/null 2>&1 && return 0
        sleep 0.25
    done
    echo "error: Redis did not come up on 127.0.0.1:$REDIS_PORT" >&2
    exit 1
}

mapfile -t missing < <(missing_packages)
if [ "${#missing[@]}" -ne 0 ]; then
    if [ "${MCPHOST_SETUP_INSTALL:-yes}" = no ] || ! can_be_root; then
        refuse "${missing[@]}"
    fi
    install_packages "${missing[@]}"
    if [[ " ${missing[*]} " == *" postgresql "* ]]; then
        trust_local_connections
    fi
    mapfile -t still < <(missing_packages)
    if [ "${#still[@]}" -ne 0 ]; then
        echo "error: still missing after apt-get install: ${still[*]}" >&2
        exit 1
    fi
fi
if [ "$profile" = test ]; then
    postgres_up
    redis_up
    bash "$(dirname "${BASH_SOURCE[0]}")/start_dockerd.sh"
    bash "$(dirname "${BASH_SOURCE[0]}")/docker_base_images.sh"
    kubernetes_bin="$(bash "$(dirname "${BASH_SOURCE[0]}")/build_kubernetes.sh")"
fi

summary="python3 $(python3 -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])'), bubblewrap, passt, slirp4netns, node $(node --version)"
if [ "$profile" = test ]; then
    summary+=", git, $(chromium --version 2>/dev/null | head -n1), PostgreSQL on localhost:$POSTGRES_PORT, Redis on :$REDIS_PORT, Docker $(docker version --format '{{.Server.Version}}'), Kubernetes 1.20 in $kubernetes_bin"
fi
echo "system packages ($profile): $summary"
