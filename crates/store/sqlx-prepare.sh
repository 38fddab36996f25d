#!/usr/bin/env bash
# Regenerates the workspace's `.sqlx/` offline query data, which lets every build check
# `sqlx::query!` macros without a database (`.cargo/config.toml` sets SQLX_OFFLINE=true).
#
# It recreates a scratch database from `migrations/`, empties `.sqlx/` (so no stale query
# stays behind), and rebuilds every crate that uses the query macros against that database;
# sqlx writes one `query-<hash>.json` per query into SQLX_OFFLINE_DIR as it expands them.
#
# With `--check`, writes into a temporary directory instead and fails if it differs from the
# committed `.sqlx/` (what CI runs): a query changed without its offline data.
#
# Environment:
#   HERALD_SQLX_SERVER_URL  Postgres server, no database (default postgres://postgres@127.0.0.1:5432)
#   HERALD_SQLX_DATABASE    scratch database name (default herald_sqlx); dropped and recreated
#   CARGO_TARGET_DIR        honoured as usual
set -euo pipefail

root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
server="${HERALD_SQLX_SERVER_URL:-postgres://postgres@127.0.0.1:5432}"
database="${HERALD_SQLX_DATABASE:-herald_sqlx}"
check=false
if [[ "${1:-}" == "--check" ]]; then
    check=true
    database="${database}_check_$$"
fi

if [[ ! "$database" =~ ^[a-z_][a-z0-9_]*$ ]]; then
    echo "HERALD_SQLX_DATABASE must be a plain lowercase identifier" >&2
    exit 2
fi

psql "$server/postgres" -v ON_ERROR_STOP=1 -q \
    -c "DROP DATABASE IF EXISTS $database WITH (FORCE)" \
    -c "CREATE DATABASE $database"
for migration in migrations/*.sql; do
    psql "$server/$database" -v ON_ERROR_STOP=1 -q -1 -f "$migration"
done

# The crates whose sources use the query macros, by package name.
packages=()
for dir in crates/* tests; do
    if grep -rqE 'sqlx::query(_as|_scalar)?(_unchecked)?!' "$dir" --include='*.rs'; then
        name="$(sed -n 's/^name = "\(.*\)"$/\1/p' "$dir/Cargo.toml" | head -n 1)"
        packages+=(-p "$name")
        # The macros only run when their crate recompiles.
        find "$dir" -name '*.rs' -exec touch {} +
    fi
done

if $check; then
    out="$(mktemp -d)"
    trap 'rm -rf "$out"; psql "$server/postgres" -q -c "DROP DATABASE IF EXISTS $database WITH (FORCE)"' EXIT
else
    out="$root/.sqlx"
    rm -rf "$out"
    mkdir "$out"
fi
SQLX_OFFLINE=false \
    DATABASE_URL="$server/$database" \
    SQLX_OFFLINE_DIR="$out" \
    cargo check "${packages[@]}" --all-targets

if $check; then
    if ! diff -r -q "$out" "$root/.sqlx"; then
        echo ".sqlx/ is out of date: run \`just sqlx-prepare\` and commit the result" >&2
        exit 1
    fi
    echo ".sqlx/ matches the queries ($(find "$out" -name 'query-*.json' | wc -l) files)"
else
    echo "wrote $(find "$out" -name 'query-*.json' | wc -l) query files to .sqlx/"
fi
