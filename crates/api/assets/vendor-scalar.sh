#!/usr/bin/env bash
# Re-vendors the Scalar API reference bundle that `/docs` serves: the browser standalone
# build of the npm package `@scalar/api-reference`, at an exact version.
#
#   crates/api/assets/vendor-scalar.sh 1.76.0
#
# Then set the same version in `scalar_version!` (crates/api/src/openapi.rs) and in
# crates/api/assets/README.md, check SCALAR_STYLE_HASHES there with the browser test of
# /docs (see the README), and commit.
set -euo pipefail

version="${1:?usage: vendor-scalar.sh VERSION (an exact version, e.g. 1.76.0)}"
if ! [[ "$version" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]]; then
    echo "vendor-scalar.sh: '$version' is not an exact version (MAJOR.MINOR.PATCH)" >&2
    exit 2
fi
here="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

(cd "$work" && npm pack --silent "@scalar/api-reference@$version" >/dev/null)
tar -xzf "$work/scalar-api-reference-$version.tgz" -C "$work" \
    package/package.json package/dist/browser/standalone.js
license="$(node -p "require('$work/package/package.json').license")"
if [ "$license" != "MIT" ]; then
    echo "vendor-scalar.sh: the licence changed to '$license': review it before vendoring" >&2
    exit 1
fi
rm -f "$here"/scalar-api-reference-*.js
cp "$work/package/dist/browser/standalone.js" "$here/scalar-api-reference-$version.js"
sha256sum "$here/scalar-api-reference-$version.js"
echo "vendored @scalar/api-reference $version ($license)"
