#!/usr/bin/env bash
# Builds the MCP Host image from the working tree on the local Docker engine (deploy/Dockerfile).
#
#   bash scripts/build_image.sh [REPOSITORY]    tags REPOSITORY:<version> and REPOSITORY:latest (default: mcphost)
#
# <version> is the package's (src/mcphost/__init__.py). Nothing is pulled: the image starts FROM the locally built
# mcphost-base/python:bookworm (bash scripts/docker_base_images.sh; MCPHOST_BASE_IMAGE names another), and only PyPI
# is reached, through the host's CA bundle, which goes into the image. The context sent to the engine is pyproject.toml,
# README.md, src/ and deploy/Dockerfile (uncommitted changes included), not the whole checkout. The dependencies sit
# in a layer that depends on pyproject.toml's dependency list only: the first build takes a few minutes, a build
# after a code change seconds. The Kubernetes runtime runs `mcphost bridge` from this image (kubernetes.bridge_image),
# and deploy/kubernetes/ runs MCP Host itself from it: push it to your registry (docs/kubernetes.md).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
repository="${1:-mcphost}"
base="${MCPHOST_BASE_IMAGE:-mcphost-base/python:bookworm}"
ca_bundle="${MCPHOST_CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}"
version="$(sed -n 's/^__version__ = "\(.*\)"$/\1/p' src/mcphost/__init__.py)"
if [ -z "$version" ]; then
    echo "error: no __version__ in src/mcphost/__init__.py" >&2
    exit 1
fi

if ! docker info >/dev/null 2>&1; then
    echo "error: no Docker engine answers; start one first (bash scripts/start_dockerd.sh)" >&2
    exit 1
fi
if ! docker image inspect "$base" >/dev/null 2>&1; then
    echo "error: the base image $base is missing; build it with: bash scripts/docker_base_images.sh" >&2
    exit 1
fi
if [ ! -s "$ca_bundle" ]; then
    echo "error: no CA bundle at $ca_bundle (Debian: apt-get install ca-certificates; or set MCPHOST_CA_BUNDLE)" >&2
    exit 1
fi

echo "building $repository:$version from $(pwd) on $base"
started=$SECONDS
# The context is a tar stream: the CA bundle joins it as ca-certificates.crt without being copied into the checkout.
# Owners and times are normalised, so the layer cache depends on contents only.
tar --create --dereference --owner=0 --group=0 --mtime=@0 \
    --exclude=__pycache__ --exclude='*.pyc' --exclude='*.egg-info' \
    pyproject.toml README.md src deploy/Dockerfile \
    --directory "$(dirname "$ca_bundle")" --transform "s|^$(basename "$ca_bundle")\$|ca-certificates.crt|" \
    "$(basename "$ca_bundle")" |
    docker build --file deploy/Dockerfile --build-arg "BASE_IMAGE=$base" \
        --label "org.opencontainers.image.title=MCP Host" \
        --label "org.opencontainers.image.version=$version" \
        --tag "$repository:$version" --tag "$repository:latest" -
echo "built $repository:$version and $repository:latest in $((SECONDS - started))s"
