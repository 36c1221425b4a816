#!/usr/bin/env bash
# The test suite as `make test` runs it, in two passes, each timed:
#
#   1. every test on SQLite (the embedded default);
#   2. the tests that exercise the database again on PostgreSQL (marker `database`), leaving out the ones that
#      run once whatever the database (marker `once`: runtimes, the browser, external tools; see tests/conftest.py).
#
# `make test-fast` (this script with `fast`) runs the quick subset for the inner loop: pass 1 without the `once`
# tests, on SQLite only.
#
# Environment: PYTEST_WORKERS (default auto), PYTEST_ARGS (added to both passes), MCPHOST_TEST_POSTGRES_URL (the
# PostgreSQL server; default postgres on localhost without a password, which scripts/setup_system.sh prepares).
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
mode="${1:-full}"
workers="${PYTEST_WORKERS:-auto}"
read -r -a extra <<<"${PYTEST_ARGS:-}"
postgres="${MCPHOST_TEST_POSTGRES_URL:-postgresql+asyncpg://postgres@localhost/postgres}"
# loadgroup: tests marked xdist_group (the Kubernetes cluster's) share one worker and so one cluster.
pytest=(.venv/bin/pytest -n "$workers" --dist loadgroup)

started_all=$SECONDS
results=()
status=0

# pass NAME ENV... -- PYTEST-ARGS...: one timed pytest run.
pass() {
    local name=$1
    shift
    local env=()
    while [ "$1" != -- ]; do
        env+=("$1")
        shift
    done
    shift
    printf '\n==== tests: %s ====\n' "$name"
    local started=$SECONDS code=0
    env "${env[@]}" "${pytest[@]}" "$@" "${extra[@]}" || code=$?
    local took=$((SECONDS - started))
    # pytest exits 5 when the selection is empty (e.g. PYTEST_ARGS="-k something" that only matches one pass).
    if [ "$code" -eq 5 ]; then
        code=0
    fi
    if [ "$code" -eq 0 ]; then
        results+=("ok      $(clock "$took")  $name")
    else
        results+=("FAILED  $(clock "$took")  $name (pytest exit $code)")
        status=1
    fi
}

clock() { printf '%dm%02ds' $(($1 / 60)) $(($1 % 60)); }

# postgres_reachable: whether the tests can connect to the PostgreSQL server (prints its version).
postgres_reachable() {
    .venv/bin/python - "$postgres" <<'PY'
import asyncio, sys

import asyncpg
from sqlalchemy.engine import make_url

async def main(url: str) -> None:
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    connection = await asyncpg.connect(dsn, timeout=10)
    try:
        print("PostgreSQL for the tests:", (await connection.fetchval("SELECT version()")).split(" on ")[0])
    finally:
        await connection.close()

asyncio.run(main(sys.argv[1]))
PY
}

if [ "$mode" != fast ] && ! postgres_reachable; then
    echo "error: the tests cannot connect to PostgreSQL at $postgres;" >&2
    echo "       set MCPHOST_TEST_POSTGRES_URL to a server where they may create databases (see the README)" >&2
    exit 1
fi

if [ "$mode" = fast ]; then
    pass "quick subset on SQLite (not: runtimes, browser, external tools)" -u MCPHOST_TEST_DATABASE_URL -- \
        -m "not once"
else
    pass "all on SQLite" -u MCPHOST_TEST_DATABASE_URL MCPHOST_TEST_POSTGRES_URL="$postgres" --
    pass "database tests on PostgreSQL" MCPHOST_TEST_DATABASE_URL="$postgres" MCPHOST_TEST_POSTGRES_URL="$postgres" -- \
        -m "database and not once"
fi

printf '\n==== test durations ====\n'
printf '%s\n' "${results[@]}"
echo "tests took $(clock $((SECONDS - started_all))) in all"
exit "$status"
