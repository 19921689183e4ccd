# mpi-hosts verification: judges the records of a run against the plan (both on standard input, one record per
# line) and prints, by -v mode=: json (the report, one line), summary (one line for people), text (each failure
# with what to change), stage (the first failed stage, or nothing). POSIX awk: runs with mawk, gawk and macOS awk.
# The MPI tests' records, one set per mpirun, keyed by TEST FROM TO (TO is "-" for a test of the whole cluster) and
# the try (1, or 2 after a retry): try (status, seconds, exit code), why (exit 0 that is no pass), out (the lines of
# its output that say what went wrong), launch (they show a runtime launch failure), reaped (what it left, ended),
# retry / noretry (why it was, or was not, tried again).

function clean(s) {
  gsub(/["\\]/, "", s)
  return s
}
function rest(first,    i, s) {
  s = ""
  for (i = first; i <= NF; i++) s = s (i > first ? " " : "") $i
  return s == "" ? "-" : s
}
function js(s) {
  return "\"" clean(s) "\""
}
function jsornull(s) {
  return (s == "" || s == "-") ? "null" : js(s)
}
function num(s) {
  return (s ~ /^[0-9]+(\.[0-9]+)?$/) ? s : "null"
}
function fill(t, name, value,    out, i, key) {
  key = "{" name "}"
  out = ""
  while ((i = index(t, key)) > 0) {
    out = out substr(t, 1, i - 1) value
    t = substr(t, i + length(key))
  }
  return out t
}
function dash(s) {
  return s == "" ? "-" : s
}
function fillall(t, stage, from, to, port, label, expected, detail,    ports, range) {
  ports = (label in rfirst) ? rfirst[label] "-" rlast[label] : "-"
  range = (label in rfirst) ? label " " ports : "-"
  t = fill(t, "stage", dash(stage))
  t = fill(t, "from", dash(from))
  t = fill(t, "to", dash(to))
  t = fill(t, "port", dash(port))
  t = fill(t, "range", range)
  t = fill(t, "ports", ports)
  t = fill(t, "expected", dash(expected))
  return fill(t, "detail", dash(detail))
}
function addfail(stage, kind, from, to, port, label, expected, detail,    m, h) {
  nf++
  Fstage[nf] = stage
  Fkind[nf] = kind
  Ffrom[nf] = from
  Fto[nf] = to
  Fport[nf] = port
  Frange[nf] = (label in rfirst) ? label " " rfirst[label] "-" rlast[label] : "-"
  Fexpected[nf] = expected
  Fdetail[nf] = detail
  m = (kind in hmsg) ? hmsg[kind] : kind ": {detail}"
  h = (kind in hhint) ? hhint[kind] : "-"
  Fmsg[nf] = fillall(m, stage, from, to, port, label, expected, detail)
  Fhint[nf] = fillall(h, stage, from, to, port, label, expected, detail)
  failed[stage] = 1
}
function sshkind(d) {
  if (d ~ /REMOTE HOST IDENTIFICATION HAS CHANGED/ || d ~ /[Hh]ost key for .* has changed/) return "ssh-hostkey-changed"
  if (d ~ /[Hh]ost key verification failed/ || d ~ /host key is known/ || d ~ /[Hh]ost key is not known/) return "ssh-hostkey"
  if (d ~ /Permission denied/ || d ~ /Too many authentication failures/) return "ssh-auth"
  return "ssh-connect"
}
# "5.0.7 on host1, host2; 4.1.4 on host3" when the hosts disagree on what; "" when they agree.
function differing(what,    i, a, v, n, vals, list, out, k) {
  n = 0
  for (i = 1; i <= nh; i++) {
    a = H[i]
    if (!reached(a) || !((a, what) in seen) || seen[a, what] == "-" || seen[a, what] == "") continue
    v = seen[a, what]
    if (!(v in list)) { n++; vals[n] = v; list[v] = a } else list[v] = list[v] ", " a
  }
  if (n < 2) return ""
  out = ""
  for (k = 1; k <= n; k++) out = out (k > 1 ? "; " : "") vals[k] " on " list[vals[k]]
  return out
}
# Whether A holds a cluster key that B's authorized_keys block does not list (both reported: a rotation missed one).
function keydiffers(a, b,    n, i, acc) {
  if (!((a, "clusterkey") in seen) || !((b, "clusterauth") in seen) || seen[a, "clusterkey"] == "-") return 0
  n = split(seen[b, "clusterauth"], acc, ",")
  for (i = 1; i <= n; i++) if (acc[i] == seen[a, "clusterkey"]) return 0
  return 1
}
# Whether B refused A's cluster key while the head could not log in to B (with the same key, so B's records are
# missing): what a rotation that missed B looks like from the hosts that got it.
function keyunread(a, b) {
  if (!((a, "clusterkey") in seen) || seen[a, "clusterkey"] == "-" || ((b, "clusterauth") in seen)) return 0
  if (!((head, "clusterkey") in seen) || seen[head, "clusterkey"] != seen[a, "clusterkey"]) return 0
  return (b in reach) && !reached(b) && sshkind(reachdetail[b]) == "ssh-auth"
}
# (Reading an element creates it in awk: test membership first, everywhere.)
function reached(a) {
  return (a in reach) && reach[a] == "ok"
}

$1 == "head" { head = $2 }
$1 == "kind" { kind = $2 }
$1 == "host" {
  nh++
  H[nh] = $2
  ishost[$2] = 1
  addr[$2] = $3; port[$2] = $4; user[$2] = $5; slots[$2] = $6; py[$2] = $7; mpirun[$2] = $8; prefix[$2] = $9; hostos[$2] = $10
}
$1 == "range" { nr++; R[nr] = $2; rfirst[$2] = $3; rlast[$2] = $4 }
$1 == "test" { nt++; T[nt] = $2; ttimeout[$2] = $3 }
$1 == "timeout" { tmo[$2] = $3 }
$1 == "hint" { split($0, p, "\t"); hmsg[p[2]] = p[3]; hhint[p[2]] = p[4] }
$1 == "fail" { ns++; staticfail[ns] = $0 }
$1 == "reach" { reach[$2] = $3; reachdetail[$2] = rest(5) }
$1 == "seen" { seen[$2, $3] = rest(4) }
$1 == "resolve" { rname[$2, $3] = $4; raddr[$2, $3] = $5; hasres[$2, $3] = 1 }
$1 == "sshcfg" { cfgh[$2, $3] = $4; cfgp[$2, $3] = $5; cfgu[$2, $3] = $6; hascfg[$2, $3] = 1 }
$1 == "ssh" { sshs[$2, $3] = $4; sshsec[$2, $3] = $5; sshd[$2, $3] = rest(6) }
$1 == "listen" { lport[$2, $3] = $4; lwhy[$2, $3] = rest(5); haslisten[$2, $3] = 1; tcpran = 1 }
$1 == "tcp" { tcps[$2, $3, $4] = $6; tcpport[$2, $3, $4] = $5; tcpsec[$2, $3, $4] = $7; tcpd[$2, $3, $4] = rest(8) }
$1 == "probefail" { probefail[$2, $3] = rest(4); tcpran = 1 }
$1 == "ran" { ran[$2] = $3; ransec[$2] = $4; randetail[$2] = rest(5) }
$1 == "pingpong" { lat[$2, $3] = $4; bw[$2, $3] = $5; lat[$3, $2] = $4; bw[$3, $2] = $5 }
$1 == "try" {
  k = $2 SUBSEP $3 SUBSEP $4
  if (!(k in lasttry)) { nk++; K[nk] = k; Ktest[nk] = $2; Kfrom[nk] = $3; Kto[nk] = $4 }
  lasttry[k] = $5; trystatus[k] = $6; tryrc[k] = $8
}
$1 == "why" { why[$2, $3, $4, $5] = rest(6) }
$1 == "out" { o = $2 SUBSEP $3 SUBSEP $4 SUBSEP $5; nout[o]++; outline[o, nout[o]] = rest(6) }
$1 == "launch" { launchwhy[$2, $3, $4, $5] = rest(6) }
$1 == "retry" { retried[$2, $3, $4] = rest(5) }
$1 == "noretry" { noretry[$2, $3, $4] = rest(5) }
$1 == "reaped" { o = $2 SUBSEP $3 SUBSEP $4 SUBSEP $5; nreap[o]++; reaphost[o, nreap[o]] = $6; reapcount[o, nreap[o]] = $7; reapnames[o, nreap[o]] = $8; reapstate[o, nreap[o]] = $9 }
$1 == "stage" { stsec[$2] = $3 }
$1 == "total" { total = $2 }
$1 == "at" { at = $2 }

END {
  nf = 0
  # plan: what the config alone shows
  for (i = 1; i <= ns; i++) {
    $0 = staticfail[i]
    addfail($2, $3, $4, $5, $6, $7, $8, rest(9))
  }
  # ssh: every ordered pair, as seen from the first host of the pair
  for (i = 1; i <= nh; i++) {
    a = H[i]
    if ((a in reach) && !reached(a) && !((head, a) in sshs && sshs[head, a] != "ok")) addfail("ssh", "ssh-run", head, a, "-", "-", "-", reachdetail[a])
    for (j = 1; j <= nh; j++) {
      b = H[j]
      if (a == b) continue
      pssh[a, b] = "unchecked"
      if (!((a, b) in sshs)) continue
      if (hascfg[a, b] && (tolower(cfgh[a, b]) != tolower(addr[b]) || cfgp[a, b] != port[b] || cfgu[a, b] != user[b])) {
        addfail("ssh", "ssh-config", a, b, "-", "-", addr[b] ":" port[b] " as " user[b], cfgh[a, b] ":" cfgp[a, b] " as " cfgu[a, b])
        pssh[a, b] = "fail"
      } else if (sshs[a, b] == "ok") {
        pssh[a, b] = "ok"
        sshok++
      } else if (sshkind(sshd[a, b]) == "ssh-auth" && keydiffers(a, b)) {
        addfail("ssh", "ssh-auth-key-differs", a, b, "-", "-", seen[a, "clusterkey"], seen[b, "clusterauth"])
        pssh[a, b] = "fail"
      } else if (sshkind(sshd[a, b]) == "ssh-auth" && keyunread(a, b)) {
        addfail("ssh", "ssh-auth-key-refused", a, b, "-", "-", seen[a, "clusterkey"], "-")
        pssh[a, b] = "fail"
      } else {
        addfail("ssh", sshkind(sshd[a, b]), a, b, "-", "-", "-", sshd[a, b])
        pssh[a, b] = "fail"
      }
    }
  }
  d = differing("clusterkey")
  if (d != "") addfail("ssh", "cluster-key-differs", head, "-", "-", "-", "-", d)
  # software: each reached host has what the plan says, where a non-interactive shell finds it; versions agree
  for (i = 1; i <= nh; i++) {
    a = H[i]
    if (!reached(a)) continue
    if (seen[a, "python"] == "no") addfail("software", "python-missing", head, a, "-", "-", py[a], "-")
    else if (seen[a, "mpi4py"] == "-") addfail("software", "mpi4py-missing", head, a, "-", "-", py[a], "-")
    if (seen[a, "mpirun"] == "no") addfail("software", "mpirun-missing", head, a, "-", "-", mpirun[a], "-")
    if (a != head && prefix[a] != prefix[head] && ((a, "headprefix") in seen) && seen[a, "headprefix"] == "no") addfail("software", "prefix-differs", head, a, "-", "-", prefix[head], prefix[a])
    if ((a, "pathmpirun") in seen && seen[a, "pathmpirun"] != mpirun[a]) addfail("software", "mpirun-path", head, a, "-", "-", mpirun[a], seen[a, "pathmpirun"] == "-" ? "nothing" : seen[a, "pathmpirun"])
  }
  d = differing("openmpi")
  if (d != "") addfail("software", "openmpi-differs", head, "-", "-", "-", "-", d)
  d = differing("mpi4py")
  if (d != "") addfail("software", "mpi4py-differs", head, "-", "-", "-", "-", d)
  if (reached(head) && seen[head, "hostfile"] == "no") addfail("software", "hostfile-missing", head, "-", "-", "-", "-", "-")
  # names: on every host, every host's name leads to its cluster address
  for (i = 1; i <= nh; i++) {
    a = H[i]
    for (j = 1; j <= nh; j++) {
      b = H[j]
      if (!hasres[a, b]) continue
      nameschecked++
      want = (raddr[a, b] == addr[b] || raddr[a, b] == "-") ? addr[b] : (addr[b] " = " raddr[a, b])
      if (rname[a, b] == "-") addfail("names", "name-unresolved", a, b, "-", "-", want, "-")
      else if (rname[a, b] != raddr[a, b]) addfail("names", "name-mismatch", a, b, "-", "-", want, rname[a, b])
      else namesok++
    }
  }
  # tcp: from every host to a listener in every range on every other host
  for (i = 1; i <= nh; i++) {
    b = H[i]
    for (k = 1; k <= nr; k++) {
      if (!haslisten[b, R[k]] || lport[b, R[k]] != "-") continue
      # listen.py: "outside PORT FIRST-LAST": this host hands out FIRST-LAST (PORT this time), not all inside the range.
      if (split(lwhy[b, R[k]], outside, " ") == 3 && outside[1] == "outside") addfail("tcp", "tcp-port-outside", head, b, outside[2], R[k], outside[3], outside[2])
      else addfail("tcp", "tcp-no-port", head, b, "-", R[k], "-", lwhy[b, R[k]])
    }
  }
  for (i = 1; i <= nh; i++) {
    a = H[i]
    if ((a, "listen") in probefail) addfail("tcp", "tcp-probe-failed", head, a, "-", "-", "a listener", probefail[a, "listen"])
    if ((a, "connect") in probefail) addfail("tcp", "tcp-probe-failed", head, a, "-", "-", "connects", probefail[a, "connect"])
  }
  for (i = 1; i <= nh; i++) {
    a = H[i]
    for (j = 1; j <= nh; j++) {
      b = H[j]
      if (a == b) continue
      for (k = 1; k <= nr; k++) {
        l = R[k]
        tcpall++
        if (!((a, b, l) in tcps)) { ptcp[a, b, l] = "unchecked"; continue }
        if (tcps[a, b, l] == "ok") { ptcp[a, b, l] = "ok"; tcpok++ }
        else {
          ptcp[a, b, l] = "blocked"
          # The probe listener is the python of the Mac: its Application Firewall judges that binary, whatever pf says.
          if (hostos[b] == "macos") addfail("tcp", "tcp-blocked-alf", a, b, tcpport[a, b, l], l, py[b], tcpd[a, b, l])
          else addfail("tcp", "tcp-blocked", a, b, tcpport[a, b, l], l, "-", tcpd[a, b, l])
        }
      }
    }
  }
  # MPI tests, in the configured order: each mpirun (a pair of pingpong, or the whole cluster) whose last try failed
  for (i = 1; i <= nt; i++) {
    t = T[i]
    if (!(t in ran)) continue
    failedruns = 0
    for (j = 1; j <= nk; j++) {
      if (Ktest[j] != t) continue
      k = K[j]
      o = k SUBSEP lasttry[k]
      if (trystatus[k] == "pass") continue
      failedruns++
      kind = (Kto[j] == "-" ? "test-" : "pair-") ((o in launchwhy) ? "launch" : (trystatus[k] == "timeout" ? "timeout" : "failed"))
      addfail(t, kind, Kfrom[j], Kto[j] == "-" ? "-" : Kto[j], "-", "-", ttimeout[t], trydetail(k, t))
      Fnout[nf] = nout[o] + 0
      for (m = 1; m <= Fnout[nf]; m++) Fout[nf, m] = outline[o, m]
      Fretried[nf] = (k in retried) ? retried[k] : "-"
    }
    if (failedruns) continue
    if (ran[t] == "fail") addfail(t, "test-failed", head, "-", "-", "-", "-", randetail[t])
    else if (ran[t] == "timeout") addfail(t, "test-timeout", head, "-", "-", "-", ttimeout[t], "no result within " ttimeout[t] " s")
  }

  # stages in order, with their status
  split("plan ssh software names tcp", pre, " ")
  nst = 0
  for (i = 1; i <= 5; i++) S[++nst] = pre[i]
  for (i = 1; i <= nt; i++) S[++nst] = T[i]
  first = ""
  for (i = 1; i <= nst; i++) {
    s = S[i]
    if (failed[s]) st = "fail"
    else if (s == "plan") st = "pass"
    else if (s == "ssh" || s == "software" || s == "names") st = (nreach() > 0) ? "pass" : "notrun"
    else if (s == "tcp") st = tcpran ? "pass" : "notrun"
    else st = (s in ran) ? ran[s] : "notrun"
    Sstatus[s] = st
    if (st == "fail" && first == "") first = s
  }
  ok = (first == "")
  for (i = 1; i <= nt; i++) if (Sstatus[T[i]] != "pass" && Sstatus[T[i]] != "skip") ok = 0
  # A run cut short before any verdict is no pass.
  if (nreach() == 0) ok = 0

  if (ok) {
    tests = ""
    for (i = 1; i <= nt; i++) {
      tests = tests (i > 1 ? ", " : "") T[i] " " (Sstatus[T[i]] == "skip" ? "skipped" : "ok")
      if (retrynote(T[i], 0) != "") tests = tests " (" retrynote(T[i], 0) ")"
    }
    ranks = 0
    for (i = 1; i <= nh; i++) ranks += slots[H[i]]
    summary = sprintf("mpi-hosts verify: ok in %s s from %s: %d hosts, %d ranks; ssh %d/%d pairs, tcp %d/%d ports, names %d/%d; %s", dash(total), head, nh, ranks, sshok, nh * (nh - 1), tcpok, tcpall, namesok, nameschecked, tests)
  } else if (first != "") {
    summary = sprintf("mpi-hosts verify: FAILED at stage %s after %s s from %s: %s", first, dash(total), head, firstmessage(first))
    if (nf > 1) summary = summary sprintf(" (and %d more problem%s)", nf - 1, nf > 2 ? "s" : "")
  } else {
    summary = sprintf("mpi-hosts verify: FAILED after %s s from %s: the run stopped before it could judge every stage", dash(total), head)
  }

  if (mode == "stage") { if (first != "") print first; exit 0 }
  if (mode == "summary") { print clean(summary); exit 0 }
  if (mode == "text") {
    for (i = 1; i <= nf; i++) {
      printf "mpi-hosts: [%s] %s\n", Fstage[i], clean(Fmsg[i])
      # The first line is in the message already.
      for (m = 2; m <= Fnout[i]; m++) printf "mpi-hosts:     | %s\n", clean(Fout[i, m])
      if (Fhint[i] != "-") printf "mpi-hosts:     fix: %s\n", clean(Fhint[i])
    }
    for (i = 1; i <= nt; i++) if (retrynote(T[i], 1) != "") printf "mpi-hosts: [%s] %s\n", T[i], clean(retrynote(T[i], 1))
    exit 0
  }
  # json
  out = "{\"version\":1,\"ok\":" (ok ? "true" : "false") ",\"failedStage\":" jsornull(first) ",\"from\":" js(head) ",\"at\":" jsornull(at) ",\"seconds\":" num(total) ",\"summary\":" js(summary)
  out = out ",\"stages\":["
  for (i = 1; i <= nst; i++) {
    s = S[i]
    sec = (s in stsec) ? stsec[s] : ((s in ransec) ? ransec[s] : "")
    det = (s in ran && (ran[s] == "skip" || ran[s] == "pass" || ran[s] == "fail" || ran[s] == "timeout")) ? randetail[s] : "-"
    if (s in ran && retrynote(s, 0) != "") det = (det == "-" ? "" : det "; ") retrynote(s, 0)
    out = out (i > 1 ? "," : "") "{\"name\":" js(s) ",\"status\":" js(Sstatus[s]) ",\"seconds\":" num(sec) ",\"detail\":" jsornull(det) "}"
  }
  out = out "],\"ranges\":["
  for (k = 1; k <= nr; k++) out = out (k > 1 ? "," : "") "{\"label\":" js(R[k]) ",\"first\":" num(rfirst[R[k]]) ",\"last\":" num(rlast[R[k]]) "}"
  out = out "],\"hosts\":["
  for (i = 1; i <= nh; i++) {
    a = H[i]
    out = out (i > 1 ? "," : "") "{\"name\":" js(a) ",\"address\":" js(addr[a]) ",\"slots\":" num(slots[a]) ",\"reached\":" (reached(a) ? "true" : "false")
    out = out ",\"hostname\":" jsornull(seen[a, "hostname"]) ",\"openmpi\":" jsornull(seen[a, "openmpi"]) ",\"mpi4py\":" jsornull(seen[a, "mpi4py"])
    out = out ",\"python\":" js(py[a]) ",\"mpirun\":" js(mpirun[a]) ",\"mpirunOnPath\":" jsornull(seen[a, "pathmpirun"]) "}"
  }
  out = out "],\"pairs\":["
  n = 0
  for (i = 1; i <= nh; i++) {
    for (j = 1; j <= nh; j++) {
      a = H[i]
      b = H[j]
      if (a == b) continue
      out = out (n++ > 0 ? "," : "") "{\"from\":" js(a) ",\"to\":" js(b) ",\"ssh\":" js(pssh[a, b]) ",\"tcp\":{"
      for (k = 1; k <= nr; k++) {
        l = R[k]
        out = out (k > 1 ? "," : "") js(l) ":{\"status\":" js(ptcp[a, b, l]) ",\"port\":" num(tcpport[a, b, l]) ",\"seconds\":" num(tcpsec[a, b, l]) ",\"detail\":" jsornull(ptcp[a, b, l] == "blocked" ? tcpd[a, b, l] : "-") "}"
      }
      out = out "}"
      if ((a, b) in lat) out = out ",\"latencyUs\":" sprintf("%.1f", lat[a, b] * 1000000) ",\"bandwidthMBs\":" num(bw[a, b])
      out = out "}"
    }
  }
  out = out "],\"failures\":["
  for (i = 1; i <= nf; i++) {
    out = out (i > 1 ? "," : "") "{\"stage\":" js(Fstage[i]) ",\"kind\":" js(Fkind[i]) ",\"from\":" jsornull(Ffrom[i]) ",\"to\":" jsornull(Fto[i])
    out = out ",\"port\":" num(Fport[i]) ",\"range\":" jsornull(Frange[i]) ",\"expected\":" jsornull(Fexpected[i]) ",\"detail\":" jsornull(Fdetail[i])
    out = out ",\"message\":" js(Fmsg[i]) ",\"hint\":" jsornull(Fhint[i]) ",\"output\":["
    for (m = 1; m <= Fnout[i]; m++) out = out (m > 1 ? "," : "") js(Fout[i, m])
    out = out "],\"retried\":" jsornull(Fretried[i]) "}"
  }
  out = out "],\"retries\":["
  n = 0
  for (j = 1; j <= nk; j++) {
    k = K[j]
    if (!(k in retried)) continue
    out = out (n++ > 0 ? "," : "") "{\"stage\":" js(Ktest[j]) ",\"from\":" js(Kfrom[j]) ",\"to\":" jsornull(Kto[j])
    out = out ",\"reason\":" js(retried[k]) ",\"result\":" js(trystatus[k]) "}"
  }
  print out "]}"
}
function nreach(    i, c) {
  c = 0
  for (i = 1; i <= nh; i++) if (H[i] in reach) c++
  return c
}
function firstmessage(stage,    i) {
  for (i = 1; i <= nf; i++) if (Fstage[i] == stage) return Fmsg[i]
  return "-"
}
# What a failed mpirun said and did: how it ended, the first line of its output that says why (the failure's
# output holds them all), what it left behind (ended), and its retry.
function trydetail(k, t,    o, d, lines) {
  o = k SUBSEP lasttry[k]
  lines = (nout[o] > 0) ? outline[o, 1] : ""
  if (trystatus[k] == "timeout") d = "no result within " ttimeout[t] " s" (lines != "" ? ": " lines : ", and mpirun printed nothing")
  else if (o in why) d = "mpirun exited 0, but " why[o] (lines != "" ? ": " lines : "")
  else d = "mpirun exited " tryrc[k] (lines != "" ? ": " lines : " and printed nothing")
  if (leftovers(o) != "") d = d "; " leftovers(o)
  if (k in retried) d = d "; tried twice, the first try failed too: " retried[k]
  else if (k in noretry) d = d "; not tried again (" launchwhy[o] "): " noretry[k]
  return d
}
function leftovers(o,    m, ended, left, unseen) {
  ended = ""
  left = ""
  unseen = ""
  for (m = 1; m <= nreap[o]; m++) {
    if (reapcount[o, m] == "?") unseen = unseen (unseen == "" ? "" : ", ") reaphost[o, m]
    else if (reapcount[o, m] + 0 > 0) {
      ended = ended (ended == "" ? "" : ", ") reapcount[o, m] " on " reaphost[o, m] " (" reapnames[o, m] ")"
      if (reapstate[o, m] == "left") left = left (left == "" ? "" : ", ") reaphost[o, m]
    }
  }
  if (ended != "") ended = "ended the processes it left: " ended
  if (left != "") ended = ended (ended == "" ? "" : "; ") "some would not end on " left
  if (unseen != "") ended = ended (ended == "" ? "" : "; ") "could not look for what it left on " unseen
  return ended
}
# "retried once: host1 <-> host3 (WHY), passed" for the runs of test t that were tried again (only those that passed
# the second time when passedonly is set: a failure's own message says it was tried twice).
function retrynote(t, passedonly,    j, k, note) {
  note = ""
  for (j = 1; j <= nk; j++) {
    k = K[j]
    if (Ktest[j] != t || !(k in retried) || (passedonly && trystatus[k] != "pass")) continue
    note = note (note == "" ? "retried once: " : "; ") (Kto[j] == "-" ? "mpirun" : Kfrom[j] " <-> " Kto[j]) " (" retried[k] "), " (trystatus[k] == "pass" ? "passed" : "failed again")
  }
  return note
}
