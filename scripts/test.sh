#!/usr/bin/env bash
# The test command (`npm test`): sets the machine up, then runs every suite in order of cost:
# type check, lint, unit tests, lab tests against real SSH hosts, and end-to-end runs of the
# real Pulumi engine on the lab. Stops at the first failing stage.
set -euo pipefail
cd "$(dirname "$0")/.."

stage() { printf '\n=== %s ===\n' "$*"; }
started=$(date +%s)

stage "setup (Debian packages, npm, lab images, Pulumi engine)"
bash scripts/setup.sh

stage "type check"
npx tsc -p tsconfig.json --noEmit

stage "lint"
npx eslint .
npx prettier --check . >/dev/null || { npx prettier --list-different .; exit 1; }

stage "unit tests"
npx jest --selectProjects unit

stage "lab tests (real hosts in namespaces)"
# Two at a time, as the end-to-end tests: every lab file starts labs of its own names (the subnets are allocated under
# a lock, lab/lab.ts), and most of a file's time is spent waiting (SSH, mpirun, timeouts that prove a failure, the
# keepalive budget), which the other file fills.
npx jest --selectProjects lab --maxWorkers=2

if ls test/e2e/*.test.ts >/dev/null 2>&1; then
  stage "end-to-end tests (the real Pulumi engine on the lab)"
  # shellcheck source=scripts/engine-env.sh
  . scripts/engine-env.sh
  # Two at a time: each file has a lab and a stack of its own (names, subnets, backends), and spends most of its time
  # waiting on the engine and SSH; one at a time they took longer than every other stage together.
  npx jest --selectProjects e2e --maxWorkers=2
fi

printf '\nall stages passed in %ss\n' "$(($(date +%s) - started))"
