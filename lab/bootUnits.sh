# shellcheck shell=bash
# Part of the lab's boot script (lab/boot.ts, lab/bootUnits.ts): what systemd would run at boot to load a host's
# firewall, read from the host's own files. Targets in the order systemd reaches them; loaders: the programs whose
# ExecStart marks a unit as loading a firewall.
boot_loaders=" nft iptables-restore ip6tables-restore netfilter-persistent ufw-init "
# For lab/bootUnits.test.ts only: a directory standing for / when reading units, and 1 to print without running.
boot_units_root=${BOOT_UNITS_ROOT:-}
boot_units_dry=${BOOT_UNITS_DRY:-0}

# The drop-ins of unit $1 (*.conf in $1.d/ of the unit directories) in file-name order, a name taken from the first
# directory that has it, as systemd merges them.
boot_unit_dropins() {
  local d f
  local -A seen=()
  for d in /etc/systemd/system /run/systemd/system /usr/lib/systemd/system /lib/systemd/system; do
    for f in "$boot_units_root$d/$1.d"/*.conf; do
      [ -f "$f" ] || continue
      [ -z "${seen[${f##*/}]:-}" ] || continue
      seen[${f##*/}]=$f
    done
  done
  for f in $(printf '%s\n' "${!seen[@]}" | LC_ALL=C sort); do printf '%s\n' "${seen[$f]}"; done
}

run_boot_units() {
  local target link unit file line cmd prog i names="" pending=() done_units=" " progress waits dep dropins=()
  local -A files=() cmds=() afters=()
  for target in sysinit.target basic.target network-pre.target multi-user.target; do
    for link in "$boot_units_root"/etc/systemd/system/"$target".wants/*.service; do
      [ -e "$link" ] || continue
      unit=${link##*/}
      case " $names " in *" $unit "*) continue ;; esac
      # A masked unit (a link to /dev/null in /etc or /run, what `systemctl mask` makes) never starts.
      if [ "$(readlink "$boot_units_root/etc/systemd/system/$unit" 2>/dev/null)" = /dev/null ] ||
        [ "$(readlink "$boot_units_root/run/systemd/system/$unit" 2>/dev/null)" = /dev/null ]; then
        echo "lab: boot: $unit is masked, not started"
        continue
      fi
      file=$(readlink -f "$link")
      mapfile -t dropins < <(boot_unit_dropins "$unit")
      # A unit file of the admin's own in /etc/systemd/system wins over the packaged one the link names, as in systemd.
      if [ -f "$boot_units_root/etc/systemd/system/$unit" ] && [ ! -L "$boot_units_root/etc/systemd/system/$unit" ]; then
        file=$boot_units_root/etc/systemd/system/$unit
      fi
      cmd=""
      while IFS= read -r line; do
        line=${line#ExecStart=}
        # An empty ExecStart= (in a drop-in) empties the list, as systemd does.
        if [ -z "$line" ]; then cmd=""; continue; fi
        line=${line#[-@:+!]}
        prog=${line%% *}
        case $boot_loaders in *" ${prog##*/} "*) cmd+="$line"$'\n' ;; esac
      done < <(grep -h '^ExecStart=' "$file" "${dropins[@]}" || true)
      [ -n "$cmd" ] || continue
      names+=" $unit"
      pending+=("$unit")
      files[$unit]=$file
      cmds[$unit]=$cmd
      afters[$unit]=$(sed -n 's/^After=//p' "$file" | tr '\n' ' ')
    done
  done
  while [ "${#pending[@]}" -gt 0 ]; do
    progress=0
    for i in "${!pending[@]}"; do
      unit=${pending[$i]}
      waits=0
      for dep in ${afters[$unit]}; do
        case " $names " in *" $dep "*) case "$done_units" in *" $dep "*) ;; *) waits=1 ;; esac ;; esac
      done
      [ "$waits" = 0 ] || continue
      while IFS= read -r cmd; do
        [ -n "$cmd" ] || continue
        echo "lab: boot: $unit (${files[$unit]}): $cmd"
        # ExecStart is not shell, but its quoting is close enough for these loaders.
        [ "$boot_units_dry" = 1 ] && continue
        if ! (eval "$cmd"); then echo "lab: boot: $unit failed (systemd would go on with the boot)" >&2; fi
      done <<<"${cmds[$unit]}"
      done_units+="$unit "
      unset "pending[$i]"
      progress=1
    done
    pending=("${pending[@]}")
    if [ "$progress" = 0 ]; then
      echo "lab: boot: an After= cycle among ${pending[*]}; running them in order" >&2
      afters=()
    fi
  done
}
