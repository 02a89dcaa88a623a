# -*- coding: utf-8 -*-
"""Threads parked at the bottom of recursions 1, 10, 100 and 900 frames
deep, one mutual recursion, and a main thread that parks 200 frames deep.
Every stack stays well under the default recursion limit (1000).

usage: deep_recursion.py TRUTH.json
"""
from __future__ import print_function

import os
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import truth  # noqa: E402

never = threading.Event()    # never set


def descend(depth):
    # `depth` frames of descend() in all, the innermost one blocks.
    if depth > 1:
        return descend(depth - 1)
    truth.ready()
    never.wait()


def ping(n):
    if n > 0:
        return pong(n - 1)
    truth.ready()
    never.wait()


def pong(n):
    if n > 0:
        return ping(n - 1)
    truth.ready()
    never.wait()


def main_descend(depth, out, expected):
    if depth > 1:
        return main_descend(depth - 1, out, expected)
    truth.park_and_record(out, expected)


def main():
    out = truth.out_path_from_argv()
    for depth in (1, 10, 100, 900):
        truth.start_thread(descend, u'depth-%d' % depth, args=(depth,))
    truth.start_thread(ping, u'ping-pong', args=(101,))
    main_descend(200, out, 6)


if __name__ == '__main__':
    main()
