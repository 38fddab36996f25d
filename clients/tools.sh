# Sourced by the scripts of clients/: installs the pinned client tools once, outside the
# clone (like the target directory), and exports where they are:
#   $VENV  a virtualenv with clients/requirements.txt (validator, Python generator, httpx...);
#   clients/typescript/node_modules  from package-lock.json (`npm ci`), when missing or stale.
# A change to requirements.txt makes a new virtualenv (its name carries the file's hash).
tools="${HERALD_TOOLS:-/var/tmp/herald-tools}"
clients_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
requirements_hash="$(sha256sum "$clients_dir/requirements.txt" | cut -c1-12)"
VENV="$tools/clients-venv-$requirements_hash"
# A virtualenv cannot be moved once made: `.complete` marks one whose install finished.
if [ ! -f "$VENV/.complete" ]; then
  echo "==> installing the Python client tools into $VENV"
  rm -rf "$VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check \
    --requirement "$clients_dir/requirements.txt"
  touch "$VENV/.complete"
fi
export VENV
lock="$clients_dir/typescript/package-lock.json"
stamp="$clients_dir/typescript/node_modules/.herald-lock-sha256"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$(sha256sum "$lock" | cut -d' ' -f1)" ]; then
  echo "==> installing the TypeScript client tools (npm ci)"
  (cd "$clients_dir/typescript" && npm ci --no-audit --no-fund --silent \
    --cache "$tools/npm-cache")
  sha256sum "$lock" | cut -d' ' -f1 >"$stamp"
fi
