/**
 * Real TCP traffic between lab hosts, made with python3 as root inside the hosts (rootExec), never through the
 * product: a listener on given ports that greets every connection with "MPI", and one connection attempt with a
 * short timeout that says how it ended.
 */
import type { Lab } from "../../../lab/lab";
import { shellQuote } from "../../../components/templates/shellQuote";
import { labHost, rootOk } from "../../../lab/harness/labHelpers";

const LISTENER = [
  "import socket, sys, threading",
  "def serve(port):",
  "    s = socket.socket()",
  "    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)",
  "    s.bind(('0.0.0.0', port))",
  "    s.listen(16)",
  "    while True:",
  "        c, _ = s.accept()",
  "        c.sendall(b'MPI\\n')",
  "        c.close()",
  "for p in sys.argv[1:]:",
  "    threading.Thread(target=serve, args=(int(p),)).start()",
].join("\n");

/** Starts one listener process for `ports` on `host` and waits until every port listens; returns its pid. */
export async function startListeners(lab: Lab, host: string, ports: number[]): Promise<string> {
  const pid = await rootOk(
    lab,
    host,
    `setsid python3 -c ${shellQuote(LISTENER)} ${ports.join(" ")} </dev/null >/dev/null 2>&1 &
pid=$!
for i in $(seq 100); do
  up=1
  for p in ${ports.join(" ")}; do ss -Hltn "sport = :$p" | grep -q . || up=0; done
  if [ $up = 1 ]; then echo $pid; exit 0; fi
  sleep 0.05
done
echo "listeners on ${ports.join(", ")} did not come up" >&2
exit 1`,
  );
  return pid.trim();
}

/**
 * How each connection from each host of `from` to each named port of `target` ends, keyed "<from> <name>" ("host1
 * btl"). All at once (each from its own host and socket): a dropped one costs its 1.5 s timeout once, not each time.
 */
export async function reach(lab: Lab, target: string, from: string[], ports: Record<string, number>): Promise<Record<string, string>> {
  const pairs = from.flatMap((host) => Object.entries(ports).map(([name, port]) => ({ key: `${host} ${name}`, host, port })));
  const ends = await Promise.all(pairs.map(({ host, port }) => connect(lab, host, target, port)));
  return Object.fromEntries(pairs.map(({ key }, i) => [key, ends[i]]));
}

/** "connected <first bytes>", "timeout" or the error's name; from `from` (to "loopback": its own 127.0.0.1), optionally from a fixed source port. */
export async function connect(lab: Lab, from: string, to: string, port: number, sourcePort?: number): Promise<string> {
  const address = to === "loopback" ? "127.0.0.1" : labHost(lab, to).address;
  const py = [
    "import socket",
    "s = socket.socket()",
    ...(sourcePort ? ["s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)", `s.bind(('', ${sourcePort}))`] : []),
    "s.settimeout(1.5)",
    "try:",
    `    s.connect((${JSON.stringify(address)}, ${port}))`,
    "    print('connected', s.recv(7).decode().strip())",
    "except socket.timeout:",
    "    print('timeout')",
    "except OSError as e:",
    "    print(type(e).__name__)",
  ].join("\n");
  return (await rootOk(lab, from, `python3 -c ${shellQuote(py)}`)).trim();
}
