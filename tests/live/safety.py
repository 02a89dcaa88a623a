#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A live target must come through every exit path of pycore-stacks unharmed.

The analyzer runs under gdb, stopped right after it has stopped the target
(breakpoint on pcs_python_create), and is then ended every way it can end:
SIGKILL, SIGTERM, SIGINT, a normal finish. The target, a Python process
whose threads keep writing a heartbeat, must afterwards have no tracer, no
thread in a stopped state, and a heartbeat that moves. One more case kills
the target while the analyzer holds it: the analyzer must fail cleanly.

usage: tests/live/safety.py [--tool PATH] [--python PATH]
Prints one line per case and "N passed, N failed".
"""
import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))

TARGET = r'''
import sys, threading, time
path = sys.argv[1]
def beat(name):
    n = 0
    while True:
        n += 1
        with open(path + "." + name, "w") as f:
            f.write(str(n))
        time.sleep(0.02)
for i in range(3):
    threading.Thread(target=beat, args=("t%d" % i,), daemon=True).start()
beat("main")
'''


def read_beats(path):
    beats = {}
    for name in ("main", "t0", "t1", "t2"):
        try:
            with open(path + "." + name) as f:
                beats[name] = int(f.read() or 0)
        except (OSError, ValueError):
            beats[name] = None
    return beats


def thread_states(pid):
    states = []
    for tid in os.listdir("/proc/%d/task" % pid):
        with open("/proc/%d/task/%s/status" % (pid, tid)) as f:
            for line in f:
                if line.startswith("State:"):
                    states.append(line.split()[1])
    return states


def tracer(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("TracerPid:"):
                return int(line.split()[1])
    return None


def check_unharmed(pid, beatpath):
    """Raise AssertionError unless the target runs freely."""
    time.sleep(0.2)
    if tracer(pid) != 0:
        raise AssertionError("target still traced by pid %d" % tracer(pid))
    bad = [s for s in thread_states(pid) if s in ("t", "T")]
    if bad:
        raise AssertionError("target threads stopped: %s" % thread_states(pid))
    before = read_beats(beatpath)
    time.sleep(0.3)
    after = read_beats(beatpath)
    stuck = [k for k in before if before[k] is None or after[k] == before[k]]
    if stuck:
        raise AssertionError("heartbeat stuck for %s" % ", ".join(stuck))


def analyzer_under_gdb(tool, pid):
    """Start the analyzer in gdb, stopped with the target seized."""
    gdb = subprocess.Popen(
        ["gdb", "-nx", "-q", "--args", tool, "--pid", str(pid)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True)
    gdb.stdin.write("set pagination off\nset confirm off\n"
                    "break pcs_python_create\nrun\n"
                    "printf \"STOPPED-HERE\\n\"\n")
    gdb.stdin.flush()
    deadline = time.time() + 30
    out = []
    while time.time() < deadline:
        line = gdb.stdout.readline()
        if not line:
            break
        out.append(line)
        if "STOPPED-HERE" in line:
            return gdb
    gdb.kill()
    raise AssertionError("analyzer did not reach its breakpoint:\n" + "".join(out))


def inferior_pid(gdb):
    gdb.stdin.write("info inferiors\nprintf \"END-INFO\\n\"\n")
    gdb.stdin.flush()
    pid = None
    while True:
        line = gdb.stdout.readline()
        if not line or "END-INFO" in line:
            return pid
        parts = line.replace("*", " ").split()
        if len(parts) >= 3 and parts[1] == "process":
            pid = int(parts[2])


def finish(gdb, commands, timeout=30):
    try:
        out, _ = gdb.communicate(commands, timeout=timeout)
    except subprocess.TimeoutExpired:
        gdb.kill()
        raise AssertionError("gdb/analyzer hung")
    return out


def run_case(name, tool, python, fn):
    tmp = tempfile.mkdtemp(prefix="pcs-safety-")
    beatpath = os.path.join(tmp, "beat")
    target = subprocess.Popen([python, "-c", TARGET, beatpath])
    try:
        deadline = time.time() + 10
        while time.time() < deadline and None in read_beats(beatpath).values():
            time.sleep(0.05)
        fn(tool, target, beatpath)
        print("ok - live-safety %s" % name)
        return True
    except AssertionError as e:
        print("FAIL - live-safety %s\n    %s" % (name, str(e).replace("\n", "\n    ")))
        return False
    finally:
        target.kill()
        target.wait()
        for f in os.listdir(tmp):
            os.unlink(os.path.join(tmp, f))
        os.rmdir(tmp)


def killed_by(sig):
    def case(tool, target, beatpath):
        gdb = analyzer_under_gdb(tool, target.pid)
        apid = inferior_pid(gdb)
        if not apid:
            raise AssertionError("cannot find the analyzer's pid")
        if not [s for s in thread_states(target.pid) if s == "t"]:
            raise AssertionError("the target was not stopped while held: %s"
                                 % thread_states(target.pid))
        if sig == signal.SIGKILL:
            os.kill(apid, sig)
            finish(gdb, "kill\nquit\n")
        else:
            # Deliver the signal as the analyzer would receive it.
            finish(gdb, "signal %s\nquit\n" % signal.Signals(sig).name)
        check_unharmed(target.pid, beatpath)
    return case


def normal_finish(tool, target, beatpath):
    gdb = analyzer_under_gdb(tool, target.pid)
    out = finish(gdb, "continue\nquit\n")
    if "MainThread" not in out:
        raise AssertionError("no stacks printed:\n" + out)
    check_unharmed(target.pid, beatpath)


def target_dies(tool, target, beatpath):
    gdb = analyzer_under_gdb(tool, target.pid)
    target.kill()
    out = finish(gdb, "continue\nquit\n")
    if "exited with code 01" not in out and "exited with code 03" not in out:
        raise AssertionError("analyzer did not fail cleanly:\n" + out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tool", default=os.environ.get(
        "PCS", os.path.join(REPO, "src", "pycore-stacks")))
    ap.add_argument("--python", default="/usr/bin/python3")
    args = ap.parse_args()
    cases = [
        ("analyzer SIGKILL", killed_by(signal.SIGKILL)),
        ("analyzer SIGTERM", killed_by(signal.SIGTERM)),
        ("analyzer SIGINT", killed_by(signal.SIGINT)),
        ("normal finish", normal_finish),
        ("target killed mid-dump", target_dies),
    ]
    passed = failed = 0
    for name, fn in cases:
        if run_case(name, args.tool, args.python, fn):
            passed += 1
        else:
            failed += 1
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
