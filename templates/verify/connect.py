# mpi-hosts verification: TCP connects from this host to the probe listeners of its peers, all at once, each
# with its own timeout. Prints "tcp FROM TO LABEL PORT STATUS SECONDS DETAIL" per target; changes nothing.
# usage: python - HOST TIMEOUT TO,ADDRESS,LABEL,PORT ...
import socket
import sys
import threading
import time

host, timeout = sys.argv[1], float(sys.argv[2])
lines = []


def probe(spec):
    peer, address, label, port = spec.split(",")
    started = time.time()
    status, detail = "ok", "-"
    try:
        s = socket.create_connection((address, int(port)), timeout)
        s.close()
    except socket.timeout:
        status, detail = "timeout", "no answer within %gs" % timeout
    except ConnectionRefusedError:
        status, detail = "refused", "connection refused"
    except OSError as e:
        status, detail = "error", e.strerror or str(e)
    lines.append("tcp %s %s %s %s %s %.3f %s" % (host, peer, label, port, status, time.time() - started, detail))


threads = [threading.Thread(target=probe, args=(spec,)) for spec in sys.argv[3:]]
for t in threads:
    t.start()
for t in threads:
    t.join()
sys.stdout.write("".join(line + "\n" for line in lines))
