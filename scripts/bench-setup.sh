#!/usr/bin/env bash
# Installs what `npm run bench` needs beyond `npm run setup`: Ansible from Debian's own packages
# (ansible-core: ansible-playbook with the builtin modules; the playbook in bench/ansible uses
# only ansible.builtin, so the big `ansible` collection bundle is not needed). Idempotent: when
# ansible-playbook is already there it only says which version. Needs root.
set -euo pipefail

say() { printf 'bench-setup: %s\n' "$*" >&2; }

if command -v ansible-playbook >/dev/null 2>&1; then
  say "ansible-playbook already installed: $(ansible-playbook --version | head -n 1)"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  say "needs root to install ansible-core with apt-get; run it with sudo"
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
if ! apt-cache show ansible-core >/dev/null 2>&1; then
  apt-get update -q >&2
fi
# sshpass etc. are not needed (keys only); --no-install-recommends keeps it to ansible-core and python deps.
apt-get install -y -q --no-install-recommends ansible-core >&2
say "installed: $(ansible-playbook --version | head -n 1)"
