# -*- coding: utf-8 -*-
"""The process whose core tests/fuzz/fuzz_walkers.c mutates.

Something for every walker: threads parked in plain calls, in a generator
and in methods; an event loop thread with a tree of asyncio tasks (coroutine
chains, gather, a task awaiting another, a generator-based await); greenlets
in two threads (running, suspended at depth, not started, dead, a gevent
hub with named Greenlets when gevent imports). Prints "ready PID" once
everything is parked; tests/fuzz/run.sh then takes its core with gcore.

usage: MALLOC_ARENA_MAX=1 python3 walkers_target.py   (the system python3:
       greenlet, gevent; one malloc arena and small thread stacks keep the
       core small)
"""
from __future__ import print_function

import asyncio
import gc
import os
import sys
import threading

gc.disable()            # no collection may move objects while it is dumped
never = threading.Event()
keep = []
parked = threading.Semaphore(0)


def park():
    parked.release()
    never.wait()


# --- threads ----------------------------------------------------------------

def numbers():
    yield 1
    park()
    yield 2


class Worker(object):
    def run(self):
        self.step(3)

    def step(self, n):
        if n:
            self.step(n - 1)
        else:
            for _ in numbers():
                pass


def start(fn, name):
    # One at a time: the same program makes the same heap (with ASLR off,
    # as tests/fuzz/run.sh runs it), so a fuzz input means the same on a
    # core made again.
    t = threading.Thread(target=fn, name=name)
    t.daemon = True
    t.start()
    keep.append(t)
    parked.acquire()


# --- asyncio ----------------------------------------------------------------

async def leaf(ev):
    await ev.wait()


async def middle(ev, depth):
    if depth:
        await middle(ev, depth - 1)
    else:
        await leaf(ev)


async def gatherer(ev):
    await asyncio.gather(middle(ev, 1), leaf(ev), asyncio.shield(leaf(ev)))


async def awaits_task(task):
    await task


def loop_thread():
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    ev = asyncio.Event()
    first = loop.create_task(middle(ev, 2), name='chain')
    keep.extend([first,
                 loop.create_task(gatherer(ev), name='gatherer'),
                 loop.create_task(awaits_task(first), name='awaits-chain'),
                 loop.create_task(asyncio.wait_for(leaf(ev), 3600), name='wait-for'),
                 loop.create_task(asyncio.sleep(3600))])
    loop.call_later(0.2, parked.release)
    loop.run_forever()


# --- greenlets --------------------------------------------------------------

def greenlet_thread():
    import greenlet
    main = greenlet.getcurrent()

    def back():
        main.switch()

    def deep(n):
        if n:
            deep(n - 1)
        else:
            back()

    def child():
        g = greenlet.greenlet(back)
        keep.append(g)
        g.switch()
        back()

    for run, arg in ((back, None), (deep, 3), (child, None)):
        g = greenlet.greenlet(run)
        keep.append(g)
        g.switch() if arg is None else g.switch(arg)
    keep.append(greenlet.greenlet(back))            # not started
    done = greenlet.greenlet(lambda: None)
    done.switch()                                   # dead
    keep.append(done)
    park()


def greenlet_inside():
    import greenlet
    main = greenlet.getcurrent()

    def runner():
        sib = greenlet.greenlet(lambda: runner_g.switch())
        keep.append(sib)
        sib.switch()
        park()                  # this thread parks inside a greenlet

    runner_g = greenlet.greenlet(runner)
    keep.append(runner_g)
    keep.append(main)
    runner_g.switch()


def gevent_thread():
    import gevent
    from gevent.event import Event

    ev = Event()

    def sleeper(n):
        if n:
            sleeper(n - 1)
        else:
            ev.wait()

    gs = [gevent.spawn(sleeper, i) for i in range(3)]
    gs.append(gevent.spawn(gevent.sleep, 3600))     # keeps the hub's loop alive
    g = gevent.Greenlet(sleeper, 1)
    g.name = u'named-\u00e9'
    g.start()
    gs.append(g)
    keep.append(gevent.Greenlet(sleeper, 0))        # not started
    keep.extend(gs)
    gevent.spawn_later(0.2, parked.release)
    gevent.joinall(gs)


def main():
    threading.stack_size(512 * 1024)
    start(Worker().run, 'worker')
    start(park, 'plain')
    start(lambda: [park() for _ in range(1)], 'in-listcomp')
    start(loop_thread, 'asyncio-loop')
    try:
        import greenlet  # noqa: F401
        start(greenlet_thread, 'greenlets')
        start(greenlet_inside, 'greenlet-inside')
    except ImportError:
        pass
    try:
        import gevent  # noqa: F401
        start(gevent_thread, 'gevent')
    except ImportError:
        pass
    print('ready %d' % os.getpid())
    sys.stdout.flush()
    never.wait()


if __name__ == '__main__':
    main()
