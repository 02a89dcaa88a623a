# -*- coding: utf-8 -*-
"""Threads blocked in the everyday places: sleep, Lock, RLock, Event,
Queue.get, Thread.join, select, a call spread over several lines; one thread
renamed after it started and one with threading's default name.

usage: threads_blocking.py TRUTH.json
"""
from __future__ import print_function

import os
import select
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import truth  # noqa: E402

try:
    import queue
except ImportError:  # Python 2
    import Queue as queue

held = threading.Lock()
held.acquire()               # held by the main thread forever
held_r = threading.RLock()
never = threading.Event()    # never set
rlock_taken = threading.Event()
empty = queue.Queue()        # never fed
pipe_r, pipe_w = os.pipe()   # never written


def sleeper():
    truth.ready()
    while True:
        time.sleep(3600)


def lock_waiter():
    truth.ready()
    held.acquire()


def rlock_owner():
    held_r.acquire()
    rlock_taken.set()
    truth.ready()
    never.wait()


def rlock_waiter():
    truth.ready()
    held_r.acquire()


def event_waiter():
    truth.ready()
    never.wait()


def queue_getter():
    truth.ready()
    empty.get()


def joiner(other):
    truth.ready()
    other.join()


def selector():
    truth.ready()
    select.select([pipe_r], [], [])


def multiline_waiter():
    truth.ready()
    never.wait(
        None,
    )


def main():
    out = truth.out_path_from_argv()
    sleepy = truth.start_thread(sleeper, u'sleeper')
    truth.start_thread(lock_waiter, u'lock-waiter')
    truth.start_thread(rlock_owner, u'rlock-owner')
    rlock_taken.wait()
    truth.start_thread(rlock_waiter, u'rlock-waiter')
    truth.start_thread(event_waiter, u'event-waiter')
    truth.start_thread(queue_getter, u'queue-getter')
    truth.start_thread(joiner, u'joiner', args=(sleepy,))
    truth.start_thread(selector, u'selector')
    truth.start_thread(multiline_waiter, u'multiline-waiter')
    renamed = truth.start_thread(sleeper, u'before-rename')
    renamed.name = 'after-rename'
    truth.start_thread(lock_waiter)      # threading's default name
    truth.park_and_record(out, 12)


if __name__ == '__main__':
    main()
