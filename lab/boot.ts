/**
 * The script that boots one lab host. Values come first as quoted assignments; the body is fixed text.
 *
 * Phase `outside` (the machine's namespaces; the network namespace and veth pair already exist): configures the host's network namespace,
 * then re-runs this file as phase `inside` under `nsenter --net` + `unshare --mount --uts --ipc --pid --fork`.
 * Phase `inside` (PID 1 of the new PID namespace): mounts the overlay root and fresh /proc, /sys, /dev,
 * /dev/shm, /tmp and /run, pivots into it, provisions on first boot, loads the firewall and becomes sshd.
 */
import { FirewallKind } from "./firewallKinds";
import { bootUnitsShell } from "./bootUnits";
import { shellAssignments } from "./shell";

export interface BootPlan {
  host: string;
  address: string;
  prefixLength: number;
  netns: string;
  /** Root filesystem image (overlay lower dir), read-only, shared by hosts of the same release. */
  image: string;
  /** The host's directory in the lab state: upper/, work/, root/, pid, console.log. */
  dir: string;
  port: number;
  /** The firewall its admin left on it (lab/firewallKinds.ts): set up on first boot, loaded on every boot. */
  firewall: FirewallKind;
  /** First boot only: what a fresh host gets. Later boots keep the disk as it was. */
  provision?: {
    user: string;
    authorizedKey: string;
    etcHosts: string;
    /** /etc/nftables.conf of the nftables kinds (empty for the others). */
    nftablesConf?: string;
    /** Debian's ufw package on this machine, installed into the host for the ufw kind. */
    ufwDeb?: string;
  };
}

export function renderBootScript(plan: BootPlan): string {
  const values = shellAssignments({
    host: plan.host,
    address: `${plan.address}/${plan.prefixLength}`,
    netns: plan.netns,
    image: plan.image,
    dir: plan.dir,
    port: plan.port,
    firewall: plan.firewall,
    provision: plan.provision ? 1 : 0,
    user: plan.provision?.user ?? "",
    authorized_key: plan.provision?.authorizedKey.trim() ?? "",
    etc_hosts: plan.provision?.etcHosts ?? "",
    nftables_conf: plan.provision?.nftablesConf ?? "",
    ufw_deb: plan.provision?.ufwDeb ?? "",
  });
  return `#!/bin/bash
# Boots the mpi-hosts lab host ${plan.host}. Written by lab/boot.ts on every start; safe to read, not to edit.
set -euo pipefail
${values}
${bootUnitsShell()}${BODY}`;
}

const BODY = String.raw`
outside() {
  # IPv6 off: link-local IPv6 between hosts would bypass the IPv4 rules of the lab's firewalls.
  nsenter --net="/run/netns/$netns" sysctl -q -w net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
  ip -n "$netns" addr add "$address" dev eth0
  ip -n "$netns" link set lo up
  ip -n "$netns" link set eth0 up
  # --kill-child: if this unshare dies, the host's PID 1 (and so every process of the host) dies too.
  exec nsenter --net="/run/netns/$netns" unshare --mount --uts --ipc --pid --fork --kill-child --propagation private \
    /bin/bash "$0" inside
}

inside() {
  # /proc is still the machine's here, so /proc/self/stat holds this process's PID as the machine sees it.
  local pid _
  read -r pid _ </proc/self/stat
  echo "$pid" >"$dir/pid"

  local root="$dir/root"
  mkdir -p "$dir/upper" "$dir/work" "$root"
  mount -t overlay overlay -o "lowerdir=$image,upperdir=$dir/upper,workdir=$dir/work" "$root"
  mount -t proc -o nosuid,nodev,noexec proc "$root/proc"
  # A sysfs mounted from inside the network namespace shows only this host's interfaces.
  mount -t sysfs -o ro,nosuid,nodev,noexec sysfs "$root/sys"
  mount -t tmpfs -o mode=755,nosuid,size=1m tmpfs "$root/dev"
  local node
  for node in null zero full random urandom tty; do
    touch "$root/dev/$node"
    mount --bind "/dev/$node" "$root/dev/$node"
  done
  mkdir -m 755 "$root/dev/pts"
  mkdir -m 1777 "$root/dev/shm"
  mkdir -m 1777 "$root/dev/mqueue"
  mount -t devpts -o newinstance,ptmxmode=0666,mode=620,gid=5,nosuid,noexec devpts "$root/dev/pts"
  ln -s pts/ptmx "$root/dev/ptmx"
  ln -s /proc/self/fd "$root/dev/fd"
  ln -s /proc/self/fd/0 "$root/dev/stdin"
  ln -s /proc/self/fd/1 "$root/dev/stdout"
  ln -s /proc/self/fd/2 "$root/dev/stderr"
  # Own /dev/shm and /tmp: Open MPI's shared-memory transport crashes when two "hosts" share them.
  mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs "$root/dev/shm"
  mount -t mqueue -o nosuid,nodev,noexec mqueue "$root/dev/mqueue"
  mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs "$root/tmp"
  mount -t tmpfs -o mode=755,nosuid,nodev tmpfs "$root/run"
  # The package comes from this machine's cache, which the host cannot see once it has pivoted.
  if [ "$provision" = 1 ] && [ -n "$ufw_deb" ]; then cp "$ufw_deb" "$root/tmp/ufw.deb"; fi

  # pivot_root, not chroot: the machine's mounts (other hosts' /run/netns entries among them) must not stay
  # referenced from here, or a stopped host's network namespace would live on inside this one.
  cd "$root"
  pivot_root . .
  umount -l .
  cd /
  hash -r
  export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
  umask 022

  mkdir -m 755 /run/sshd /run/lock
  hostname "$host"
  # The host keys live in the overlay's upper dir, so they survive stopHost/startHost like a real disk. All three
  # types, as Debian's openssh-server makes them: ssh-keyscan lists rsa first, which a client must not take for the
  # only key (issue 12).
  for type in rsa ecdsa ed25519; do
    if [ ! -f "/etc/ssh/ssh_host_$type""_key" ]; then
      ssh-keygen -q -t "$type" -N "" -C "root@$host" -f "/etc/ssh/ssh_host_$type""_key"
    fi
  done
  if [ "$provision" = 1 ]; then provision; fi
  load_firewall
  # Then what systemd would run at boot: the host's enabled firewall units (lab/bootUnits.ts).
  run_boot_units
  echo "lab: $host is up at $address, sshd on port $port"
  exec /usr/sbin/sshd -D -e
}

provision() {
  echo "$host" >/etc/hostname
  printf '%s' "$etc_hosts" >/etc/hosts
  if ! id "$user" >/dev/null 2>&1; then
    # '*' rather than the locked '!': no password works, yet sshd does not treat the account as locked.
    useradd --create-home --shell /bin/bash --password '*' "$user"
  fi
  local sudoers=/etc/sudoers.d/mpi-hosts-lab
  printf '# mpi-hosts lab: the login user administers the host, as on a real lab machine.\n%s ALL=(ALL:ALL) NOPASSWD: ALL\n' "$user" >"$sudoers.tmp"
  chmod 0440 "$sudoers.tmp"
  visudo -c -q -f "$sudoers.tmp"
  mv "$sudoers.tmp" "$sudoers"
  local home
  home=$(getent passwd "$user" | cut -d: -f6)
  install -d -m 700 -o "$user" -g "$user" "$home/.ssh"
  printf '%s\n' "$authorized_key" >"$home/.ssh/authorized_keys"
  chown "$user:" "$home/.ssh/authorized_keys"
  chmod 600 "$home/.ssh/authorized_keys"
  cat >/etc/ssh/sshd_config.d/mpi-hosts-lab.conf <<CONF
# mpi-hosts lab: SSH on a non-default port, keys only.
Port $port
HostKey /etc/ssh/ssh_host_rsa_key
HostKey /etc/ssh/ssh_host_ecdsa_key
HostKey /etc/ssh/ssh_host_ed25519_key
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin no
CONF
  sshd -t
  provision_firewall
}

# The admin's firewall, set up once as they would: a hand-written /etc/nftables.conf, or ufw installed and enabled.
provision_firewall() {
  case $firewall in
    nftables-debian | nftables-foreign)
      printf '%s' "$nftables_conf" >/etc/nftables.conf
      nft -c -f /etc/nftables.conf
      # As its admin does, so that nftables.service loads the file at every boot (run_boot_units runs it here).
      systemctl enable nftables.service >/dev/null 2>&1
      ;;
    ufw)
      DEBIAN_FRONTEND=noninteractive dpkg -i /tmp/ufw.deb >/tmp/ufw-install.log 2>&1 || { cat /tmp/ufw-install.log >&2; return 1; }
      rm -f /tmp/ufw.deb /tmp/ufw-install.log
      ufw allow "$port/tcp" >/dev/null
      ufw --force enable >/dev/null
      ;;
  esac
}

# The iptables kind is loaded from this script, as before; the others by the units their setup enabled
# (nftables.service, ufw.service), which run_boot_units runs next as systemd would.
load_firewall() {
  case $firewall in
    iptables) lock_down ;;
    nftables-debian | nftables-foreign | ufw | none) ;;
    *) echo "lab: unknown firewall kind '$firewall'" >&2; return 1 ;;
  esac
}

# Locked down like a real lab machine: only loopback, replies and SSH come in.
lock_down() {
  iptables-restore <<RULES
*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -i lo -j ACCEPT
-A INPUT -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT
-A INPUT -p tcp --dport $port -j ACCEPT
COMMIT
RULES
}

case "$*" in
  outside) outside ;;
  inside) inside ;;
  *) echo "usage: $0 [outside|inside]" >&2; exit 2 ;;
esac
`;
