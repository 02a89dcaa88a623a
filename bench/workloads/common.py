# SPDX-License-Identifier: MIT
"""Shared by the benchmark workloads: the "ready" handshake, parking the
process, and the stop-time monitor.

The monitor is a daemon thread that loops on time.monotonic() and a 0.5 ms
sleep and writes every timestamp into a ring buffer in a file the driver
mmaps (bench/run.py reads it). When the process is stopped (ptrace) no
thread runs, so the stop shows as one long gap between two consecutive
timestamps. Resolution: one iteration, about 0.55-0.65 ms on Linux (sleep
granularity plus timer slack plus taking the GIL back).

Ring file layout (little endian): u64 count, then RING doubles; timestamp i
is at slot i % RING. count is written after the slot.
"""
import mmap
import os
import struct
import sys
import threading
import time

RING = 1 << 17
HEADER = 8


def monitor_thread(path, period=0.0005):
    size = HEADER + 8 * RING
    with open(path, 'wb') as f:
        f.truncate(size)
    f = open(path, 'r+b')
    buf = mmap.mmap(f.fileno(), size)
    pack_d = struct.Struct('<d').pack_into
    pack_q = struct.Struct('<Q').pack_into
    mono = time.monotonic
    sleep = time.sleep

    def loop():
        i = 0
        while True:
            pack_d(buf, HEADER + 8 * (i % RING), mono())
            i += 1
            pack_q(buf, 0, i)
            sleep(period)

    t = threading.Thread(target=loop, name='stop-monitor', daemon=True)
    t.start()
    return t


def option(argv, name, default=None, conv=str):
    """--name VALUE from argv, else default."""
    if name in argv:
        return conv(argv[argv.index(name) + 1])
    return default


def rss_mb():
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith('VmRSS:'):
                return int(line.split()[1]) // 1024
    return -1


def ready(**info):
    """Tell the driver the process is parked: one line, 'ready k=v ...'."""
    info.setdefault('pid', os.getpid())
    info.setdefault('rss_mb', rss_mb())
    sys.stdout.write('ready ' + ' '.join('%s=%s' % kv for kv in sorted(info.items())) + '\n')
    sys.stdout.flush()


def park_forever():
    while True:
        time.sleep(3600)
