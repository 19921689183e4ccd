#!/usr/bin/env bash
# Sets up everything mpi-hosts needs on this machine, from the project's own files:
# Debian packages (lab tools, linters), npm dependencies, the lab's Debian images and the
# Pulumi engine, and the mpi-hosts provider plugin of this checkout (scripts/install-plugin.sh).
# Idempotent: a second run takes seconds. Needs root (apt, namespaces).
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf 'setup: %s\n' "$*" >&2; }

if [ "$(id -u)" -ne 0 ]; then
  say "needs root (apt-get, debootstrap and the lab's namespaces); run it with sudo"
  exit 1
fi

# Debian packages: lab hosts (debootstrap, namespaces, firewalls), linting of rendered scripts
# (shellcheck, zsh for the macOS shell) and ssh clients for independent checks.
packages=(debootstrap shellcheck zsh dash gawk original-awk nftables iptables iproute2 openssh-client sudo procps ca-certificates)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f '${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  say "installing Debian packages: ${missing[*]}"
  apt-get update -q >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "installing npm dependencies (npm ci)"
  npm ci --no-audit --no-fund >&2
fi

for release in trixie bookworm; do
  lab/build-image.sh "$release" >/dev/null
done
say "lab images ready"

engine_bin=$(scripts/build-engine.sh | tail -n 1)
say "Pulumi engine ready in $engine_bin ($("$engine_bin"/pulumi version))"

# The resource provider plugin of this checkout (Facet, ClusterKey): the engine starts it for every mpi-hosts stack.
bash scripts/install-plugin.sh "$engine_bin/pulumi"
say "mpi-hosts provider plugin ready (runs $(pwd))"
