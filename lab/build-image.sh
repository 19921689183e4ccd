#!/usr/bin/env bash
# Builds (once) the Debian root filesystem that every lab host overlays.
# Cached outside the repo, keyed by release and package list, so a second run is instant.
set -euo pipefail

release=${1:?usage: build-image.sh bookworm|trixie}
cache=${MPI_HOSTS_CACHE:-/var/cache/mpi-hosts}
packages=openssh-server,openmpi-bin,python3-mpi4py,nftables,iptables,iproute2,sudo,zsh,procps,netbase,ca-certificates
# systemd, as on a real Debian server: the firewall facet persists rules through a unit of its own where the host's
# firewall has no boot loader of its own, and finds systemd by its files (the lab runs none: lab/bootUnits.ts reads the
# unit files at a simulated reboot). --variant=minbase has no init; trixie's openssh-server pulls systemd in by itself,
# bookworm's does not, so bookworm names it (and trixie's package list, so its cached image, stays the same).
if [ "$release" = bookworm ]; then packages="$packages,systemd"; fi
key=$(printf '%s %s' "$release" "$packages" | sha256sum | cut -c1-12)
root="$cache/images/$release-$key"

if [ -f "$root/.complete" ]; then
  echo "$root"
  exit 0
fi

mkdir -p "$cache/images"
# One build per image at a time: lab starts of several test runs may all find it missing (a new package list).
exec 9>"$cache/images/.$release-$key.lock"
flock 9
if [ -f "$root/.complete" ]; then
  echo "$root"
  exit 0
fi
tmp="$root.partial"
rm -rf "$tmp"
echo "lab: building the $release image (debootstrap, about a minute)..." >&2
debootstrap --variant=minbase --include="$packages" "$release" "$tmp" http://deb.debian.org/debian >"$cache/images/$release-$key.log" 2>&1 || {
  echo "lab: debootstrap failed; see $cache/images/$release-$key.log" >&2
  tail -n 20 "$cache/images/$release-$key.log" >&2
  exit 1
}
# sshd host keys are made per host at start; the image must not carry shared ones.
rm -f "$tmp"/etc/ssh/ssh_host_*
chroot "$tmp" apt-get clean
touch "$tmp/.complete"
mv "$tmp" "$root"
echo "$root"
