# mpi-hosts verification: ends what is left on this host of one mpirun of the job, and nothing else. The job marks
# each mpirun with a token of its own in the environment variables OMPI_MCA_mpihosts_verify_job and
# PRTE_MCA_mpihosts_verify_job: Open MPI 4 (orted) and 5 (PRRTE's prted) put it on their daemons' command lines, the
# ranks get it in their environment, and mpirun and the ssh it starts carry it too. So every process of this user
# whose command line or environment holds the token is the job's, and so is everything such a process started.
# They get TERM and CONT (a stopped daemon cannot act on TERM), then KILL after `grace` seconds: prterun does not
# exit on TERM while it waits for a lost daemon. Prints "reaped HOST COUNT NAMES all|left".
# usage: (printf 'token = "T"\nhost = "H"\ngrace = 2\n'; cat reap.py) | python -
# (The token comes on standard input, with the program, so that no command line of the reaper's holds it.)
import os
import re
import signal
import subprocess
import time


def processes():
    """This user's processes: pid -> (parent pid, name, holds the token)."""
    found = {}
    uid = os.getuid()
    # The whole token, not the start of a longer one.
    mark = re.compile(re.escape(token.encode()) + b"(?![A-Za-z0-9._-])")
    if os.path.isdir("/proc/self"):
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            base = "/proc/" + entry
            try:
                if os.stat(base).st_uid != uid:
                    continue
                with open(base + "/stat", "rb") as f:
                    stat = f.read()
                with open(base + "/cmdline", "rb") as f:
                    text = f.read()
                try:
                    with open(base + "/environ", "rb") as f:
                        text += b"\0" + f.read()
                except OSError:
                    pass
            except OSError:
                continue
            close = stat.rindex(b")")
            fields = stat[close + 2 :].split()
            if fields[0] == b"Z":
                continue  # already dead, waiting for its parent to notice
            name = stat[stat.index(b"(") + 1 : close].decode("ascii", "replace")
            found[int(entry)] = (int(fields[1]), name, mark.search(text) is not None)
    else:
        # macOS: ps shows the environment of one's own processes after their arguments (-E).
        out = subprocess.run(
            ["ps", "-E", "-ww", "-U", str(uid), "-o", "pid=,ppid=,command="],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        ).stdout.decode("utf-8", "replace")
        for line in out.splitlines():
            parts = line.split(None, 2)
            if len(parts) == 3 and parts[0].isdigit() and parts[1].isdigit():
                name = os.path.basename(parts[2].split(" ", 1)[0])
                found[int(parts[0])] = (int(parts[1]), name, mark.search(parts[2].encode()) is not None)
    return found


def marked():
    """The job's processes still here: pid -> name."""
    procs = processes()
    # Never this program or the session that runs it (none of them holds the token; this makes sure).
    spared, pid = set(), os.getpid()
    while pid in procs and pid not in spared:
        spared.add(pid)
        pid = procs[pid][0]
    children = {}
    for pid, (ppid, _, _) in procs.items():
        children.setdefault(ppid, []).append(pid)
    todo = [pid for pid, (_, _, holds) in procs.items() if holds]
    found = {}
    while todo:
        pid = todo.pop()
        if pid in spared or pid in found:
            continue
        found[pid] = procs[pid][1]
        todo.extend(children.get(pid, []))
    return found


def send(pids, sig):
    for pid in pids:
        try:
            os.kill(pid, sig)
        except OSError:
            pass


ended = {}
left = marked()
if left:
    ended.update(left)
    send(left, signal.SIGTERM)
    send(left, signal.SIGCONT)
    deadline = time.time() + grace
    while left and time.time() < deadline:
        time.sleep(0.1)
        left = marked()
        ended.update(left)
    for _ in range(10):
        if not left:
            break
        send(left, signal.SIGKILL)
        time.sleep(0.1)
        left = marked()
        ended.update(left)
print("reaped %s %d %s %s" % (host, len(ended), ",".join(sorted(set(ended.values()))) or "-", "left" if left else "all"))
