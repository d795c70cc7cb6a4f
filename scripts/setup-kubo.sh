#!/usr/bin/env bash
# Builds kubo (the IPFS reference implementation) from the Go module proxy, for the hub's interop tests
# (test/hub/kubo-*.test.ts): Verity's CIDs and CARs are checked against a real kubo daemon.
# The binary is cached OUTSIDE the clone: ${VERITY_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/verity}/kubo-vX/ipfs,
# with a marker file, so a second run returns at once. Go's module cache for this build lives there too
# (it persists between runs; the system GOMODCACHE may be read-only or wiped).
# Tests find the binary at that path or through VERITY_KUBO=/path/to/ipfs (which skips this build).
# Needs Go >= the version kubo's go.mod asks for (1.25 for v0.42.0). Set VERITY_SKIP_KUBO=1 to skip.
set -euo pipefail

KUBO_VERSION="v0.42.0"
CACHE_ROOT="${VERITY_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/verity}"
DEST="$CACHE_ROOT/kubo-$KUBO_VERSION"
MARKER="$DEST/.verity-kubo"
WANT="github.com/ipfs/kubo@$KUBO_VERSION"

if [ "${VERITY_SKIP_KUBO:-}" = "1" ]; then
  echo "setup-kubo: skipped (VERITY_SKIP_KUBO=1)"
  exit 0
fi
if [ -n "${VERITY_KUBO:-}" ] && [ -x "${VERITY_KUBO}" ]; then
  echo "setup-kubo: using VERITY_KUBO=$VERITY_KUBO"
  exit 0
fi
if [ -f "$MARKER" ] && [ "$(cat "$MARKER")" = "$WANT" ] && [ -x "$DEST/ipfs" ]; then
  echo "setup-kubo: $WANT already built at $DEST/ipfs"
  exit 0
fi
if ! command -v go >/dev/null 2>&1 && [ -x /usr/local/go/bin/go ]; then
  export PATH="/usr/local/go/bin:$PATH"
fi
if ! command -v go >/dev/null 2>&1; then
  echo "setup-kubo: 'go' not found; install Go >= 1.25 (https://go.dev/dl) or set VERITY_KUBO=/path/to/ipfs" >&2
  exit 1
fi

export GOPATH="$CACHE_ROOT/go"
export GOMODCACHE="$GOPATH/pkg/mod"
export GOFLAGS="-mod=mod -buildvcs=false"
export GOTOOLCHAIN="${GOTOOLCHAIN:-local}"
mkdir -p "$DEST" "$GOMODCACHE"

started=$(date +%s)
echo "setup-kubo: downloading $WANT from the Go module proxy (first run only)"
module_dir=$(go mod download -json "$WANT" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
if [ -z "$module_dir" ] || [ ! -d "$module_dir" ]; then
  echo "setup-kubo: 'go mod download $WANT' gave no module folder" >&2
  exit 1
fi

work=$(mktemp -d "$CACHE_ROOT/kubo-build.XXXXXX")
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
cp -r "$module_dir/." "$work/src"
chmod -R u+w "$work/src"
echo "setup-kubo: building ./cmd/ipfs (a few minutes on the first run)"
(cd "$work/src" && nice -n 10 go build -trimpath -o "$work/ipfs" ./cmd/ipfs)
"$work/ipfs" version >/dev/null
mv -f "$work/ipfs" "$DEST/ipfs"
echo "$WANT" > "$MARKER"
echo "setup-kubo: $("$DEST/ipfs" version) ready at $DEST/ipfs in $(( $(date +%s) - started ))s"
