# Herald's everyday commands. `just` lists them.

export CARGO_TARGET_DIR := env_var_or_default("CARGO_TARGET_DIR", "/var/tmp/herald-target")

default:
    @just --list

# Run the whole test suite (what CI runs after fmt and clippy).
test:
    bash tests/run

# Everything CI checks, services included.
ci:
    bash .ci/run

# Format and lint.
check:
    cargo fmt --all --check
    cargo clippy --workspace --all-targets -- -D warnings

fmt:
    cargo fmt --all

# Fail on any declared dependency no code uses, workspace declarations included (CI runs this;
# installs cargo-shear into /var/tmp/herald-tools the first time).
unused-deps:
    bash .ci/unused-deps

# Create the database (if missing) and apply migrations.
migrate:
    cargo run -p herald -- migrate

# Print the effective configuration, secrets redacted.
config:
    cargo run -p herald -- config check

# Regenerate the committed .sqlx/ query data against a freshly migrated database.
sqlx-prepare:
    bash crates/store/sqlx-prepare.sh

# Fail if .sqlx/ does not match the queries (CI runs this).
sqlx-check:
    bash crates/store/sqlx-prepare.sh --check

# Regenerate the OpenAPI description and the clients under clients/ from the code (commit
# the result: CI fails when they differ).
clients:
    bash clients/generate

# Both generated clients against a live stack (simulator, API, worker), as CI runs them.
clients-test:
    bash clients/live-test
