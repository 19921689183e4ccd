# mpi-hosts verification: what one mpirun printed, judged by the rules of components/verify/mpirunOutput.ts, which
# reach this program as the plan's `noise` and `launch` lines (tab-separated). Input: the plan, then mpirun's output.
# -v mode=lines: the lines that say what went wrong, one per line, at most `outmax` of them: of each of Open MPI's help
#   messages (between lines of dashes) its first sentence and its "Key: value" lines (host, node, executable);
#   outside them every line but blank ones and the noise the rules name. Spaces squeezed, repeats dropped.
# -v mode=launch: the reason of the first launch rule a line matches (a runtime launch failure), else nothing.
# POSIX awk: runs with mawk, gawk and macOS awk.

function squeeze(s) {
  gsub(/[ \t]+/, " ", s)
  sub(/^ /, "", s)
  sub(/ $/, "", s)
  return s
}
function keep(s) {
  s = squeeze(s)
  if (s == "" || (s in kept) || shown >= max) return
  kept[s] = 1
  shown++
  print s
}
function noisy(s,    i) {
  for (i = 1; i <= nnoise; i++) if (s ~ noise[i]) return 1
  return 0
}

BEGIN {
  if (max == "") max = 8
}
FILENAME == ARGV[1] {
  n = split($0, f, "\t")
  if (f[1] == "outmax" && n >= 2) max = f[2] + 0
  if (f[1] == "noise" && n >= 2) noise[++nnoise] = f[2]
  if (f[1] == "launch" && n >= 3) { nlaunch++; reason[nlaunch] = f[2]; launch[nlaunch] = f[3] }
  next
}
{
  line = $0
  gsub(/[^ -~\t]/, "", line)
  if (mode == "launch") {
    for (i = 1; i <= nlaunch; i++) if (line ~ launch[i]) { print reason[i]; exit }
    next
  }
  if (line ~ /^ *-----+ *$/) {
    inblock = !inblock
    head = ""
    headlines = 0
    headdone = 0
    next
  }
  if (inblock) {
    if (!headdone) {
      if (line ~ /^[ \t]*$/) {
        if (head != "") { keep(head); headdone = 1 }
        next
      }
      head = head " " line
      headlines++
      if (match(head, /\.( |$)/)) { keep(substr(head, 1, RSTART)); headdone = 1 }
      else if (head ~ /:[ \t]*$/ || headlines >= 3) { keep(head); headdone = 1 }
      next
    }
    # "  Remote daemon: ... on node host3", "  target node:  host2", "Executable: /x": a key and its value, indented or
    # capitalized (an unindented "generally: such peer hangups ..." is prose).
    if (line ~ /^[ \t]+[A-Za-z][A-Za-z ]*[A-Za-z][ \t]*:[ \t]+[^ \t]/ || line ~ /^[A-Z][A-Za-z ]*[A-Za-z][ \t]*:[ \t]+[^ \t]/) keep(line)
    next
  }
  if (line ~ /^[ \t]*$/ || noisy(line)) next
  keep(line)
}
