#!/usr/bin/env bash
# Installs what the tests need beyond npm: the pinned EZKL compile toolchain in .venv/
# (see scripts/setup-toolchain.sh when present). Idempotent: a second run is quick.
set -euo pipefail
cd "$(dirname "$0")/.."
node -e 'const [a,b]=process.versions.node.split(".").map(Number); if (a<20||(a===20&&b<19)) { console.error("verity needs Node >= 20.19, found "+process.version); process.exit(1) }'
for step in scripts/setup-*.sh; do
  [ -e "$step" ] || continue
  bash "$step"
done
