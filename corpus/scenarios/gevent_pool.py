# -*- coding: utf-8 -*-
"""gevent in the main thread (nothing monkey-patched), parked with the hub
running the loop:

  a Pool of    sleep_1, sleep_2, sleep_3   gevent.sleep(3600) at depth 1-3
  workers      wait_event                  Event().wait()
  (suspended)  get_queue                   Queue().get()
               Service.serve               a bound method as run (depth 2)
               "named-worker"              Greenlet(named_worker, 0), named
               Job                         a Greenlet subclass with its own _run
  not-started  Greenlet(never_started), one of them named "idle-named";
               spawn_later(3600, sleep_1); "cancelled", killed before it
               started (gevent calls it dead, greenlet not: the truth
               follows greenlet)
  dead         finish(), twice, one of them named "finished"
  the hub      running: the main thread's frames are the hub's (Hub.run)
  main         suspended in block_main(), gevent.joinall() of the workers

usage: gevent_pool.py TRUTH.json
"""
from __future__ import print_function

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import truth  # noqa: E402
import _truth_greenlet as tg  # noqa: E402  (skips without greenlet)

gevent = tg.import_gevent()   # skips without gevent
from gevent import Greenlet  # noqa: E402
from gevent.event import Event  # noqa: E402
from gevent.pool import Pool  # noqa: E402
from gevent.queue import Queue  # noqa: E402

never = Event()     # never set
queue = Queue()     # never put to
keep = []           # every greenlet made


def sleep_1():
    gevent.sleep(3600)  # the sleepers park here


def sleep_2():
    sleep_1()


def sleep_3():
    sleep_2()


def wait_event():
    never.wait()  # wait_event parks here


def get_queue():
    queue.get()  # get_queue parks here


class Service(object):

    def serve(self):
        self.handle()

    def handle(self):
        never.wait()  # Service.serve parks here


def named_worker(n):
    sleep_2()


class Job(Greenlet):

    def _run(self):
        never.wait()  # Job parks here


def never_started():
    pass


def finish():
    return 'done'


def named(g, name):
    g.name = name
    return g


def setup():
    """Every greenlet; returns the workers, which never finish."""
    pool = Pool(16)
    workers = [pool.spawn(f) for f in (sleep_1, sleep_2, sleep_3, wait_event, get_queue)]
    workers.append(pool.spawn(Service().serve))
    workers.append(named(Greenlet(named_worker, 0), u'named-worker'))
    workers.append(Job())
    for g in workers[-2:]:
        pool.start(g)

    keep.append(Greenlet(never_started))
    keep.append(named(Greenlet(never_started), u'idle-named'))
    keep.append(gevent.spawn_later(3600, sleep_1))
    cancelled = named(gevent.spawn(sleep_1), u'cancelled')
    cancelled.kill(block=False)
    keep.append(cancelled)

    done = [gevent.spawn(finish), named(gevent.spawn(finish), u'finished')]
    gevent.joinall(done)
    keep.extend(done)
    keep.extend(workers)
    return workers


def block_main(workers):
    while True:
        gevent.joinall(workers)  # the main greenlet parks here


if __name__ == '__main__':
    running = setup()
    tg.park_in_gevent(truth.out_path_from_argv(), 1, block_main, (running,))
