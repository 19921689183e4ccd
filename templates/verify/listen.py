# mpi-hosts verification: one-shot TCP listeners, one per range, on a port picked as Open MPI will pick it: the first
# free port of the range (HOW = first), or the port the system hands out (HOW = system: the runtime's ephemeral
# ports), which must then lie in the range the firewall opens. Prints "listen HOST LABEL PORT" ("- WHY" when there
# is no usable port) and "listenpid HOST PID", then leaves the session and accepts until every peer has connected
# to every listener, or until the deadline. When the ports this host hands out (FIRST-LAST) do not all lie inside the
# range, it prints "- outside PORT FIRST-LAST" for the judge to name.
# usage: python - HOST EXPECTED_PEERS SECONDS LABEL FIRST LAST HOW [LABEL FIRST LAST HOW ...]
import os
import select
import socket
import subprocess
import sys
import time


def system_ports():
    """The ephemeral ports this host hands out, as "FIRST-LAST" (Linux, then macOS), or "unknown"."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            return "-".join(f.read().split())
    except OSError:
        pass
    try:
        out = subprocess.run(
            ["sysctl", "-n", "net.inet.ip.portrange.first", "net.inet.ip.portrange.last"],
            capture_output=True, text=True, timeout=5,
        ).stdout.split()
        return "-".join(out) if len(out) == 2 else "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


host, expected, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
specs = sys.argv[4:]
listeners = []
for i in range(0, len(specs), 4):
    label, first, last, how = specs[i], int(specs[i + 1]), int(specs[i + 2]), specs[i + 3]
    bound, why = None, "-"
    if how == "system":
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.bind(("0.0.0.0", 0))
        s.listen(128)
        port = s.getsockname()[1]
        # The whole range the host hands out must lie inside, not only this one port: the runtime's ports vary.
        handed = system_ports()
        lo, _, hi = handed.partition("-")
        inside = first <= port <= last and (not lo.isdigit() or not hi.isdigit() or first <= int(lo) and int(hi) <= last)
        if inside:
            bound = port
            listeners.append(s)
        else:
            why = "outside %d %s" % (port, handed)
            s.close()
    for port in range(first, last + 1) if how == "first" else ():
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("0.0.0.0", port))
            s.listen(128)
            bound = port
            listeners.append(s)
            break
        except OSError as e:
            why = "%s on port %d" % (e.strerror or e, port)
            s.close()
    print("listen %s %s %s" % (host, label, bound if bound is not None else "- " + why))
sys.stdout.flush()

if not listeners or expected < 1:
    sys.exit(0)
# The parent returns at once (so does the ssh session) and names the child, which listens on its own, with no
# terminal or pipe, so that the head can end it early when a blocked peer will never connect.
child = os.fork()
if child > 0:
    print("listenpid %s %d" % (host, child))
    sys.stdout.flush()
    os._exit(0)
os.setsid()
null = os.open(os.devnull, os.O_RDWR)
for fd in (0, 1, 2):
    os.dup2(null, fd)

deadline = time.time() + seconds
accepted = dict((s.fileno(), 0) for s in listeners)
while time.time() < deadline and min(accepted.values()) < expected:
    ready = select.select(listeners, [], [], max(0.0, deadline - time.time()))[0]
    for s in ready:
        try:
            conn = s.accept()[0]
        except OSError:
            continue
        accepted[s.fileno()] += 1
        # The peer closes first, so TIME_WAIT stays on its side and Open MPI can bind this port right after.
        conn.settimeout(1.0)
        try:
            conn.recv(1)
        except OSError:
            pass
        conn.close()
