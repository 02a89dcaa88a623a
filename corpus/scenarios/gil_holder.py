# -*- coding: utf-8 -*-
"""One thread, "spinner", runs a pure-Python busy loop forever while every
other thread is parked in C with the GIL released: whenever the process is
dumped the spinner holds the GIL and no other thread does.

The loop is as tight as it gets: a single jump back to itself (`while 1:`
needs no global lookup on Python 2 either).  The interpreter drops the GIL
there only when another thread asks for it, and once the recorder is gone
none does.  Its line is not compared (truth.ready(volatile=True)); its
functions and files are.

usage: gil_holder.py TRUTH.json
"""
from __future__ import print_function

import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import truth  # noqa: E402

# Python 2's GIL is released and taken again every check interval even when
# no other thread wants it, so a dump taken inside that window rightly shows
# no holder: on Python 2 the spinner is only expected not to be contradicted
# (at most one holder, and only the spinner). A longer interval makes the
# window rarer while the recorder thread still gets the GIL.
PY2 = sys.version_info[0] == 2
if PY2:
    sys.setcheckinterval(1000)

never = threading.Event()    # never set


def spin():
    truth.ready(volatile=True, expect_gil=not PY2)
    while 1:
        pass


def run_hot():
    spin()


def waiter():
    truth.ready()
    never.wait()


def sleeper():
    truth.ready()
    while True:
        time.sleep(3600)


def main():
    out = truth.out_path_from_argv()
    truth.start_thread(waiter, u'waiter')
    truth.start_thread(sleeper, u'sleeper')
    truth.start_thread(run_hot, u'spinner')
    truth.park_and_record(out, 4)


if __name__ == '__main__':
    main()
