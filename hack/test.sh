#!/usr/bin/env bash
# `npm test`: everything CI checks, in the order that fails fastest.
#   1. generated files are current (CRDs from the zod schemas)
#   2. typecheck, 3. lint
#   4. vitest: unit tests, then integration tests against the real local
#      control plane (built and started by test/support/global-setup.ts via
#      hack/control-plane.sh on first use; reused when already running).
set -euo pipefail
cd "$(dirname "$0")/.."
step() { printf '\n== %s\n' "$*"; }

step "generated files are up to date"
npm run --silent check:generated
step "typecheck"
npx tsc -p tsconfig.json --noEmit
step "lint"
npx eslint .
step "tests (unit + integration)"
npx vitest run "$@"
