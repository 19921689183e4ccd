# managed by mpi-hosts: generated from the stack config; edits here are reported as drift and undone
# shellcheck shell=sh
# Run at boot by launchd (our LaunchDaemon in /Library/LaunchDaemons): takes a pf enable reference for mpi-hosts, as
# every component using pf must (/etc/pf.conf: "PF will not be automatically enabled"), and records its token with
# this boot's time in $token_file, so that mpi-hosts knows it as its own and remove can release it (pfctl -X).
set -u
PATH=/usr/bin:/bin:/usr/sbin:/sbin
umask 077
token_file='/var/db/mpi-hosts/pf-token'
boot=$(/usr/sbin/sysctl -n kern.boottime 2>/dev/null | sed -n 's/^.*sec = \([0-9][0-9]*\),.*$/\1/p')
if [ -f "$token_file" ] && [ "$(sed -n 's/^boot //p' "$token_file")" = "$boot" ]; then
  held=$(sed -n '/^[0-9][0-9]*$/p' "$token_file" | sed -n 1p)
  if [ -n "$held" ] && /sbin/pfctl -s References 2>/dev/null | awk -v t="$held" '{ for (i = 1; i <= NF; i++) if ($i == t) f = 1 } END { exit !f }'; then
    exit 0
  fi
fi
out=$(/sbin/pfctl -E 2>&1) || { printf 'mpi-hosts: pfctl -E failed: %s\n' "$out" >&2; exit 1; }
token=$(printf '%s\n' "$out" | sed -n 's/^Token : *\([0-9][0-9]*\).*/\1/p')
# No token, no record: then nothing of ours would release this reference, and the probe would say pf holds none of
# ours; fail where launchd logs it, with what pfctl said.
if [ -z "$token" ]; then
  printf 'mpi-hosts: pfctl -E printed no enable token (expected a line "Token : N"), so mpi-hosts cannot record or release this reference; pfctl said: %s\n' "$out" >&2
  exit 1
fi
mkdir -p "$(dirname "$token_file")"
tmp=$(mktemp "$token_file.XXXXXX") || exit 1
printf '%s\n# pf enable reference taken at boot by %s (pfctl -E) in the boot below; remove releases it with pfctl -X.\n%s\nboot %s\n' '# managed by mpi-hosts: generated from the stack config; edits here are reported as drift and undone' 'org.mpi-hosts.pf-enable' "$token" "$boot" >"$tmp"
mv -f "$tmp" "$token_file"
