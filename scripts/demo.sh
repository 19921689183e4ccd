#!/usr/bin/env bash
# `npm run demo`: mpi-hosts end to end on this machine, from nothing. Sets the machine up, starts
# a lab of five Debian trixie hosts (namespaces with sshd, sudo, a default-drop firewall, Open MPI
# 5.0 and mpi4py), creates the local stack `lab`, runs `pulumi up` (every facet on every host,
# then mpirun helloworld + ringtest across all of them), prints the verification report and a
# summary per host, and leaves the lab running so that you can look around.
#
# Re-runnable: a second run replaces the lab (new hosts, new host keys) and therefore also starts
# the stack `lab` afresh. Its old state describes hosts that no longer exist, so there is nothing
# to destroy: it is dropped with `pulumi stack rm --force` (no host is contacted).
#
# Needs root (apt-get on first run, the lab's namespaces). Environment: MPI_HOSTS_DEMO_HOSTS
# (default 5), MPI_HOSTS_DEMO_RELEASE (trixie; bookworm gives Open MPI 4.1), MPI_HOSTS_STATE
# (local backend, default .pulumi-state/, whatever your pulumi login; PULUMI_BACKEND_URL overrides it),
# PULUMI_CONFIG_PASSPHRASE (default for lab stacks: lab).
set -euo pipefail
cd "$(dirname "$0")/.."

STACK=lab
HOSTS="${MPI_HOSTS_DEMO_HOSTS:-5}"
RELEASE="${MPI_HOSTS_DEMO_RELEASE:-trixie}"
STEPS=6
started=$SECONDS
n=0

step() {
  n=$((n + 1))
  printf '\n==> demo [%d/%d] %s   (%ss)\n' "$n" "$STEPS" "$*" "$((SECONDS - started))"
}
fail() {
  printf '\ndemo: %s\n' "$*" >&2
  exit 1
}
tsnode() { npx --no-install ts-node --transpile-only "$@"; }

if [ "$(id -u)" -ne 0 ]; then
  fail "needs root (Debian packages on the first run, and the lab's network namespaces): run it with sudo"
fi

step "setting up this machine (Debian packages, npm dependencies, lab images, Pulumi engine; seconds when done before)"
bash scripts/setup.sh

step "starting a lab of $HOSTS $RELEASE hosts named '$STACK' (replaces a running one of that name)"
npm run --silent lab -- up --name "$STACK" --hosts "$HOSTS" --release "$RELEASE"
[ -f "Pulumi.$STACK.yaml" ] || fail "the lab did not write Pulumi.$STACK.yaml"

# The demo's stack lives in this checkout's .pulumi-state, never in the backend of your own `pulumi login`
# (it drops a stack named lab there). Commands printed at the end say so when they would look elsewhere.
if [ -z "${PULUMI_BACKEND_URL:-}" ]; then
  export MPI_HOSTS_STATE="${MPI_HOSTS_STATE:-$PWD/.pulumi-state}"
fi
here=""
if [ "$(MPI_HOSTS_STATE='' tsnode -e 'process.stdout.write(require("./cli/pulumiRunner").backendUrl())')" != "file://${MPI_HOSTS_STATE:-}" ] &&
  [ -z "${PULUMI_BACKEND_URL:-}" ]; then
  here="MPI_HOSTS_STATE=$MPI_HOSTS_STATE "
fi

# The settings every pulumi call below needs: engine on PATH, local backend, lab passphrase.
eval "$(tsnode cli/main.ts env --stack "$STACK")"
state_dir="${PULUMI_BACKEND_URL#file://}"
if [ "$state_dir" != "$PULUMI_BACKEND_URL" ]; then
  mkdir -p "$state_dir"
fi

step "creating the stack '$STACK' in $PULUMI_BACKEND_URL"
if pulumi stack ls --json | grep -q "\"name\": \"$STACK\""; then
  echo "an earlier demo left the stack '$STACK': it describes the hosts of the lab just replaced, so its state is dropped"
  pulumi stack rm --force --yes --preserve-config "$STACK" >/dev/null
fi
pulumi stack init "$STACK" >/dev/null
echo "stack '$STACK' created (config: Pulumi.$STACK.yaml; state: $PULUMI_BACKEND_URL)"

step "pulumi up: every facet on every host, then the verification job (mpirun across all $HOSTS hosts)"
up_started=$SECONDS
# The outputs are printed below, readably: not twice.
if ! pulumi up --yes --skip-preview --suppress-outputs --stack "$STACK"; then
  fail "pulumi up failed (see above); the lab is still up: fix and run \`pulumi up --stack $STACK\` again, or run npm run demo again"
fi
up_seconds=$((SECONDS - up_started))

step "verification report (stack output 'verification')"
# The output is the job's report as an object: show the summary, each stage and any failure.
# shellcheck disable=SC2016 # JavaScript, not shell
pulumi stack output verification --json --stack "$STACK" | node -e '
  let text = "";
  process.stdin.on("data", (d) => (text += d)).on("end", () => {
    let report;
    try {
      report = JSON.parse(text);
    } catch {
      report = undefined;
    }
    if (!report || !Array.isArray(report.stages)) return process.stdout.write(text);
    console.log(report.summary);
    for (const s of report.stages) console.log(`    ${s.name.padEnd(11)} ${s.status}${s.seconds == null ? "" : ` (${s.seconds} s)`}${s.detail ? `: ${s.detail}` : ""}`);
    for (const f of report.failures || []) console.log(`    failure: ${typeof f === "string" ? f : JSON.stringify(f)}`);
    console.log("(the whole report: pulumi stack output verification --json --stack '"$STACK"')");
  });
'

step "per-host summary (stack output 'hosts')"
# shellcheck disable=SC2016 # JavaScript, not shell
pulumi stack output hosts --json --stack "$STACK" | node -e '
  let text = "";
  process.stdin.on("data", (d) => (text += d)).on("end", () => {
    const hosts = JSON.parse(text);
    for (const [name, h] of Object.entries(hosts)) {
      console.log(`${name}  ${h.address}:${h.port}  ${h.os}, ${h.slots} slots`);
      for (const [facet, note] of Object.entries(h.facets)) console.log(`    ${facet.padEnd(13)} ${note}`);
    }
  });
'

cat <<EOF

demo: done in $((SECONDS - started))s (pulumi up: ${up_seconds}s). The lab is still running.
  look around:     ssh -i ${MPI_HOSTS_LAB_DIR:-/run/mpi-hosts/labs}/$STACK/id_ed25519 -o UserKnownHostsFile=${MPI_HOSTS_LAB_DIR:-/run/mpi-hosts/labs}/$STACK/known_hosts -p 2400 mpi@<address above>
  check for drift: ${here}npm run drift -- --stack $STACK
  engine settings: eval "\$(${here}npx ts-node --transpile-only cli/main.ts env --stack $STACK)"   (then any pulumi command)
  tear down:       npm run lab -- down --name $STACK
                   eval "\$(${here}npx ts-node --transpile-only cli/main.ts env --stack $STACK)" && pulumi stack rm --force --yes $STACK
                   (or first \`pulumi destroy --yes --stack $STACK\` to watch every host return to how it was)
EOF
