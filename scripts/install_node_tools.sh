#!/usr/bin/env bash
# Install the Node tools the tests run, each into its own npm prefix under .ci/node (git-ignored):
#
#   .ci/node/0.1.16          Node 22 (the npm package `node@22`) and @modelcontextprotocol/conformance 0.1.16
#   .ci/node/0.2.0-alpha.12  @modelcontextprotocol/conformance 0.2.0-alpha.12 (runs on the Node 22 above)
#   .ci/node/inspector       @modelcontextprotocol/inspector 2.12.0 (its --cli mode)
#   .ci/node/typescript      typescript 5.9.3 (tsc, compiles the TypeScript SDK `mcphost sdk` generates)
#
# The conformance suite needs Node >= 22 while Debian 12 ships Node 18-20, hence Node from npm. Idempotent: a
# prefix whose packages are already at the wanted versions is left alone. Needs only npm (any Node version).
# MCPHOST_CONFORMANCE_DIR moves the root; tests/gateway/conformance.py looks in the same place.
#
#   bash scripts/install_node_tools.sh
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT="${MCPHOST_CONFORMANCE_DIR:-.ci/node}"
CONFORMANCE=@modelcontextprotocol/conformance

# installed_version PREFIX PACKAGE: the version of PACKAGE installed under PREFIX, empty when it is not there.
installed_version() {
    local manifest="$1/node_modules/$2/package.json"
    [ -f "$manifest" ] || return 0
    sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' "$manifest" | head -n1
}

# install PREFIX NAME@VERSION...: install the packages into PREFIX unless all are there already. A partial
# version (node@22) is satisfied by any release in that line (22.x.y).
install() {
    local prefix=$1 spec name want have
    shift
    local missing=()
    for spec in "$@"; do
        name=${spec%@*}
        want=${spec##*@}
        have=$(installed_version "$prefix" "$name")
        [[ "$have" == "$want" || "$have" == "$want".* ]] || missing+=("$spec")
    done
    if [ "${#missing[@]}" -eq 0 ]; then
        echo "$prefix: up to date ($*)"
        return 0
    fi
    echo "$prefix: installing ${missing[*]} from the npm registry"
    mkdir -p "$prefix"
    local log="$prefix/npm-install.log" started=$SECONDS
    npm install --prefix "$prefix" --save-exact --no-audit --no-fund --no-update-notifier --loglevel=error "$@" \
        >"$log" 2>&1 &
    local pid=$!
    # npm is silent without a terminal: say every few seconds that it is still at work.
    local ticks=0
    while kill -0 "$pid" 2>/dev/null; do
        sleep 1
        ticks=$((ticks + 1))
        if [ $((ticks % 10)) -eq 0 ] && kill -0 "$pid" 2>/dev/null; then
            echo "$prefix: still installing ($((SECONDS - started)) s)"
        fi
    done
    if ! wait "$pid"; then
        echo "error: npm install into $prefix failed; its output:" >&2
        cat "$log" >&2
        return 1
    fi
    echo "$prefix: installed in $((SECONDS - started)) s"
}

command -v npm >/dev/null 2>&1 || {
    echo "error: npm not found (Debian: apt-get install npm)" >&2
    exit 1
}

install "$ROOT/0.1.16" node@22 "$CONFORMANCE@0.1.16"
install "$ROOT/0.2.0-alpha.12" "$CONFORMANCE@0.2.0-alpha.12"
install "$ROOT/inspector" @modelcontextprotocol/inspector@2.12.0
install "$ROOT/typescript" typescript@5.9.3

node22="$ROOT/0.1.16/node_modules/.bin/node"
echo "node $("$node22" --version) at $node22"
for version in 0.1.16 0.2.0-alpha.12; do
    echo "conformance $(PATH="$(dirname "$node22"):$PATH" "$ROOT/$version/node_modules/.bin/conformance" --version)" \
        "at $ROOT/$version"
done
echo "inspector $(installed_version "$ROOT/inspector" @modelcontextprotocol/inspector) at $ROOT/inspector"
echo "typescript $(installed_version "$ROOT/typescript" typescript) at $ROOT/typescript"
