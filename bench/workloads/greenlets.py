# SPDX-License-Identifier: MIT
"""N raw greenlet.greenlet objects, each switched into a three-deep call
chain (top -> middle -> leaf) whose leaf switches back to the main
greenlet: N suspended greenlets, kept in a list, plus the main greenlet.

usage: greenlets.py N [--monitor FILE]
"""
import os
import sys
import time

import greenlet

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402


def leaf(i):
    greenlet.getcurrent().parent.switch(i)
    return i


def middle(i):
    return leaf(i)


def top(i):
    return middle(i)


def main():
    n = int(sys.argv[1])
    monitor = common.option(sys.argv, '--monitor')
    if monitor:
        common.monitor_thread(monitor)
    main_gl = greenlet.getcurrent()
    keep = []
    for i in range(n):
        g = greenlet.greenlet(top, parent=main_gl)
        g.switch(i)
        keep.append(g)
    suspended = sum(1 for g in keep if g and not g.dead)
    assert suspended == n, suspended
    common.ready(greenlets=suspended, greenlet_version=greenlet.__version__)
    common.park_forever()


main()
