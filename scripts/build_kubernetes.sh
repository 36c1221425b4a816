#!/usr/bin/env bash
# Builds the Kubernetes cluster components the Kubernetes runtime's tests run against, from Debian's source package
# (no registry ships a kube-apiserver binary): kube-apiserver, kube-controller-manager, kube-scheduler and kubelet of
# Kubernetes 1.20.2, compiled offline with Debian's golang-go from the package's own vendor/ tree (kubectl comes from
# Debian's kubernetes-client package, or any kubectl already installed).
#
#   bash scripts/build_kubernetes.sh [COMPONENT...]   build what is missing (all four by default); prints the bin dir
#
# The binaries are cached outside the repository by version, in $MCPHOST_KUBERNETES_CACHE (default
# /var/cache/mcphost/kubernetes/<version>/bin), so only the first run on a machine pays the build: kube-apiserver took
# 210 s here on 2 cores (longer on a loaded machine), each further component less with the Go build cache warm. Also
# installs etcd-server (the API server's store) and the build tools. MCPHOST_SETUP_INSTALL=no only checks.
set -euo pipefail

DEBIAN_VERSION="1.20.5+really1.20.2-1.1+deb12u1" # bookworm's kubernetes source package (it builds 1.20.2)
GIT_VERSION="v1.20.2"
CACHE_ROOT="${MCPHOST_KUBERNETES_CACHE:-/var/cache/mcphost/kubernetes}"
CACHE="$CACHE_ROOT/$DEBIAN_VERSION"
BIN="$CACHE/bin"

components=("$@")
[ ${#components[@]} -gt 0 ] || components=(kube-apiserver kube-controller-manager kube-scheduler kubelet)

missing=()
for component in "${components[@]}"; do
    case "$component" in
    kube-apiserver | kube-controller-manager | kube-scheduler | kubelet) ;;
    *)
        echo "error: unknown component $component" >&2
        exit 2
        ;;
    esac
    [ -x "$BIN/$component" ] || missing+=("$component")
done

has() { command -v "$1" >/dev/null 2>&1; }
packages=()
has go || packages+=(golang-go)
has etcd || packages+=(etcd-server)
has dpkg-source || packages+=(dpkg-dev)
has rsync || packages+=(rsync)
if [ ${#packages[@]} -gt 0 ]; then
    if [ "${MCPHOST_SETUP_INSTALL:-yes}" = no ] || [ "$(id -u)" -ne 0 ]; then
        echo "error: missing Debian packages; install them with: apt-get install -y ${packages[*]}" >&2
        exit 1
    fi
    echo "installing Debian packages: ${packages[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${packages[@]}"
fi

if [ ${#missing[@]} -eq 0 ]; then
    echo "$BIN"
    exit 0
fi
if [ "${MCPHOST_SETUP_INSTALL:-yes}" = no ]; then
    echo "error: not built yet: ${missing[*]} (run bash scripts/build_kubernetes.sh)" >&2
    exit 1
fi

mkdir -p "$CACHE" "$BIN"
source_dir="$CACHE/src"
if [ ! -f "$source_dir/.extracted" ]; then
    echo "fetching Debian's kubernetes $DEBIAN_VERSION source package" >&2
    # A private deb-src list and package index: the machine's own apt configuration stays as it is.
    apt_dir="$CACHE/apt"
    mkdir -p "$apt_dir/lists/partial" "$CACHE/download"
    echo "deb-src http://deb.debian.org/debian bookworm main" >"$apt_dir/sources.list"
    apt_options=(-o "Dir::Etc::SourceList=$apt_dir/sources.list" -o Dir::Etc::SourceParts=/dev/null
        -o "Dir::State::Lists=$apt_dir/lists" -o APT::Sandbox::User=root)
    apt-get "${apt_options[@]}" update -q >&2
    (cd "$CACHE/download" && apt-get "${apt_options[@]}" source --download-only "kubernetes=$DEBIAN_VERSION" >&2)
    rm -rf "$source_dir"
    dpkg-source -x --no-check "$CACHE/download/kubernetes_$DEBIAN_VERSION.dsc" "$source_dir" >&2
    touch "$source_dir/.extracted"
fi

version_file="$CACHE/git-version"
cat >"$version_file" <<EOF
KUBE_GIT_COMMIT=debian-$DEBIAN_VERSION
KUBE_GIT_TREE_STATE=clean
KUBE_GIT_VERSION=$GIT_VERSION
KUBE_GIT_MAJOR=1
KUBE_GIT_MINOR=20
EOF

# The kubelet gives pod sandboxes and guaranteed containers negative OOM score adjustments, which runc refuses where
# the process lacks CAP_SYS_RESOURCE (unprivileged containers, some CI machines): 0 instead, in the source it builds.
sed -i 's/defaultSandboxOOMAdj int = -998/defaultSandboxOOMAdj int = 0/' "$source_dir/pkg/kubelet/dockershim/docker_sandbox.go"
sed -i 's/guaranteedOOMScoreAdj int = -997/guaranteedOOMScoreAdj int = 0/' "$source_dir/pkg/kubelet/qos/policy.go"
grep -q 'defaultSandboxOOMAdj int = 0' "$source_dir/pkg/kubelet/dockershim/docker_sandbox.go"
grep -q 'guaranteedOOMScoreAdj int = 0' "$source_dir/pkg/kubelet/qos/policy.go"

targets=()
for component in "${missing[@]}"; do targets+=("cmd/$component"); done
echo "building ${missing[*]} (the first build takes minutes)" >&2
started=$SECONDS
(
    cd "$source_dir"
    # Offline and static: the vendor/ tree only, no module proxy, no cgo. The Go build cache lives in the cache
    # directory too, so a later component reuses what the first one compiled.
    env HOME="$CACHE/home" GOCACHE="$CACHE/go-build" GOPROXY=off GOFLAGS=-mod=vendor CGO_ENABLED=0 \
        KUBE_GIT_VERSION_FILE="$version_file" make WHAT="${targets[*]}" >&2
)
for component in "${missing[@]}"; do
    install -m 0755 "$source_dir/_output/bin/$component" "$BIN/$component"
done
echo "built ${missing[*]} in $((SECONDS - started))s" >&2
echo "$BIN"
