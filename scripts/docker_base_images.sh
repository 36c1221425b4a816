#!/usr/bin/env bash
# Base images for the Docker runtime, built locally: this machine (and CI) cannot pull from a public registry.
#
#   bash scripts/docker_base_images.sh
#
#   mcphost-base/debian:bookworm   Debian 12 minbase (debootstrap) with the host's CA bundle (a TLS-inspecting proxy's
#                                  CA included, so apt, pip, uv and npm inside work where the host's do)
#   mcphost-base/python:bookworm   + python3, venv, pip and uv: where PyPI packages and Python projects are built
#   mcphost-base/node:bookworm     + Node.js and npm: where npm packages and Node projects are built
#
# Each image carries a label with a hash of this script; an image whose label matches is kept (the run takes a second),
# so the images are cached between runs and rebuilt when this script changes. The debootstrap tree is cached as a
# tarball in $MCPHOST_BASE_CACHE (default /var/cache/mcphost-base) so a wiped engine is refilled in a minute.
# Production deployments point the settings (docker.python_image, docker.node_image) at official images instead.
set -euo pipefail

SUITE=bookworm
MIRROR="${MCPHOST_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
CACHE="${MCPHOST_BASE_CACHE:-/var/cache/mcphost-base}"
HASH="$(sha256sum "${BASH_SOURCE[0]}" | cut -c1-16)"
LABEL=org.mcphost.base-recipe

current() { [ "$(docker image inspect -f "{{index .Config.Labels \"$LABEL\"}}" "$1" 2>/dev/null)" = "$HASH" ]; }

# build TAG DOCKERFILE: docker build from a Dockerfile on stdin, with the recipe label.
build() {
    local tag=$1 dockerfile=$2 context
    if current "$tag"; then
        echo "$tag: up to date"
        return
    fi
    echo "$tag: building"
    context="$(mktemp -d)"
    trap 'rm -rf "$context"' RETURN
    cp /etc/ssl/certs/ca-certificates.crt "$context/ca-certificates.crt"
    printf '%s\nLABEL %s=%s\n' "$dockerfile" "$LABEL" "$HASH" >"$context/Dockerfile"
    # The legacy builder's deprecation notice is noise here; the output is shown when the build fails.
    docker build --tag "$tag" "$context" >"$context/build.log" 2>&1 || { tail -n 30 "$context/build.log" >&2; exit 1; }
    echo "$tag: built"
}

debian_base() {
    local tag=mcphost-base/debian:$SUITE tarball="$CACHE/debian-$SUITE-minbase.tar"
    if current "$tag"; then
        echo "$tag: up to date"
        return
    fi
    mkdir -p "$CACHE"
    if [ ! -s "$tarball" ]; then
        local root
        root="$(mktemp -d)"
        echo "$tag: debootstrap --variant=minbase $SUITE (a few minutes)"
        debootstrap --variant=minbase --include=ca-certificates "$SUITE" "$root" "$MIRROR" >"$CACHE/debootstrap.log" 2>&1 ||
            { tail -n 20 "$CACHE/debootstrap.log" >&2; rm -rf "$root"; exit 1; }
        rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
        tar -C "$root" -cf "$tarball.part" .
        mv "$tarball.part" "$tarball"
        rm -rf "$root"
    fi
    docker import --change "LABEL $LABEL=$HASH" --change 'CMD ["/bin/bash"]' "$tarball" "$tag" >/dev/null
    echo "$tag: imported"
}

if ! docker info >/dev/null 2>&1; then
    echo "error: no Docker engine answers; start one first (bash scripts/start_dockerd.sh)" >&2
    exit 1
fi

debian_base

# The host's CA bundle replaces the image's, so what trusts the host's proxy trusts it inside too.
build mcphost-base/python:$SUITE "FROM mcphost-base/debian:$SUITE
COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt PIP_CERT=/etc/ssl/certs/ca-certificates.crt UV_NATIVE_TLS=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_BREAK_SYSTEM_PACKAGES=1 DEBIAN_FRONTEND=noninteractive
RUN apt-get update -q && apt-get install -y -q --no-install-recommends python3 python3-venv python3-pip \
    && rm -rf /var/lib/apt/lists/* && pip install --no-cache-dir uv"

build mcphost-base/node:$SUITE "FROM mcphost-base/debian:$SUITE
COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt DEBIAN_FRONTEND=noninteractive
RUN apt-get update -q && apt-get install -y -q --no-install-recommends nodejs npm && rm -rf /var/lib/apt/lists/*"
