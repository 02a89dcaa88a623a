# SPDX-License-Identifier: MIT
"""N Python threads in all: the main thread and N-1 threads blocked in
threading.Event().wait(). With --monitor FILE one of the N-1 is the stop
monitor instead (common.py), so the thread count stays N.

usage: threads.py N [--monitor FILE]
"""
import os
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402


def blocked(event):
    event.wait()


def main():
    n = int(sys.argv[1])
    monitor = common.option(sys.argv, '--monitor')
    event = threading.Event()
    waiters = n - 1 - (1 if monitor else 0)
    assert waiters >= 0, 'N too small'
    if monitor:
        common.monitor_thread(monitor)
    threads = [threading.Thread(target=blocked, args=(event,), name='waiter-%d' % i, daemon=True)
               for i in range(waiters)]
    for t in threads:
        t.start()
    assert threading.active_count() == n, threading.active_count()
    common.ready(threads=threading.active_count())
    event.wait()


main()
