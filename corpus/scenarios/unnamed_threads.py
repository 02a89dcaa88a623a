# -*- coding: utf-8 -*-
"""Threads started without the threading module: one running a Python
function (a single frame, no name), one running a builtin (no Python frame
at all, no name), and one that registered itself with threading (a
_DummyThread named "Dummy-N").

usage: unnamed_threads.py TRUTH.json
"""
from __future__ import print_function

import os
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import truth  # noqa: E402

try:
    import _thread as rawthread
except ImportError:  # Python 2
    import thread as rawthread

held = threading.Lock()
held.acquire()               # held by the main thread forever


def raw_worker():
    truth.ready()
    held.acquire()


def dummy_worker():
    threading.current_thread()   # registers a _DummyThread
    truth.ready()
    held.acquire()


def main():
    out = truth.out_path_from_argv()
    rawthread.start_new_thread(raw_worker, ())
    truth.frameless(rawthread.start_new_thread(held.acquire, ()))
    rawthread.start_new_thread(dummy_worker, ())
    truth.park_and_record(out, 4)


if __name__ == '__main__':
    main()
