# SPDX-License-Identifier: MIT
"""A big heap: OBJECTS live container objects the garbage collector tracks
(a quarter each tuples, lists, dicts and instances of a class), each
holding its own PAYLOAD-byte bytes object; then, if --heap-mb is given and
the process is still smaller, one bytes ballast (not gc-tracked, filled so
its pages are real) tops it up to that size; --ballast-mb adds a ballast of
exactly that size instead. Plus TASKS pending asyncio tasks (as tasks.py)
on a loop idling in run_forever(). --greenlets G also imports greenlet and
parks G suspended raw greenlets (as greenlets.py): with greenlet loaded, a
dump must walk the garbage collector's lists (every tracked object) to
find them.

usage: heap.py OBJECTS PAYLOAD TASKS [--heap-mb M | --ballast-mb M] [--greenlets G]
               [--monitor FILE]
"""
import asyncio
import gc
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402


class Obj(object):
    def __init__(self, payload):
        self.payload = payload


async def middle(event):
    await event.wait()


async def waiter(event):
    await middle(event)


def build(n, payload_size):
    gc.disable()
    anchor = []          # a tracked container: keeps tuples and dicts tracked
    keep = []
    append = keep.append
    stamp = b'%012d'
    reps = max(1, payload_size // 12)
    for i in range(n):
        payload = (stamp % i) * reps if payload_size else None
        k = i & 3
        if k == 0:
            append((payload, anchor))
        elif k == 1:
            append([payload])
        elif k == 2:
            append({'payload': payload, 'anchor': anchor})
        else:
            append(Obj(payload))
    gc.enable()
    gc.collect()
    return keep


def leaf(i):
    import greenlet
    greenlet.getcurrent().parent.switch(i)
    return i


def middle_gl(i):
    return leaf(i)


def top(i):
    return middle_gl(i)


def park_greenlets(n):
    import greenlet
    keep = []
    for i in range(n):
        g = greenlet.greenlet(top)
        g.switch(i)
        keep.append(g)
    return keep


def main():
    objects, payload, ntasks = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    heap_mb = common.option(sys.argv, '--heap-mb', 0, int)
    ballast_mb = common.option(sys.argv, '--ballast-mb', 0, int)
    ngreenlets = common.option(sys.argv, '--greenlets', 0, int)
    monitor = common.option(sys.argv, '--monitor')
    if monitor:
        common.monitor_thread(monitor)
    greenlets = park_greenlets(ngreenlets) if ngreenlets else []
    keep = build(objects, payload)
    if heap_mb and not ballast_mb:
        ballast_mb = max(0, heap_mb - common.rss_mb())
    ballast = os.urandom(1 << 20) * ballast_mb if ballast_mb else b''
    tracked = len(gc.get_objects())

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    event = asyncio.Event()
    tasks = [loop.create_task(waiter(event), name='waiter-%d' % i) for i in range(ntasks)]

    def settled():
        pending = sum(1 for t in tasks if not t.done())
        assert pending == ntasks, pending
        common.ready(tasks=pending, objects=len(keep), gc_tracked=tracked,
                     ballast_mb=len(ballast) >> 20, greenlets=len(greenlets))

    loop.call_soon(settled)
    loop.run_forever()


main()
