"""Python 3 part of asyncio_threads.py.  Not a scenario.

Threads loop-0, loop-1, loop-2 each run their own event loop with

    producer-N  Event.wait()
    consumer-N  await producer-N (the task itself)
"""

import asyncio

import _truth_asyncio as aio


async def producer(never):
    await never.wait()


async def consumer(task):
    await task


def setup(n):
    task = aio.spawn(producer(asyncio.Event()), 'producer-%d' % n)
    aio.spawn(consumer(task), 'consumer-%d' % n)


def start():
    """Start this module's threads; return how many were started."""
    for n in range(3):
        aio.start_loop(setup, 'loop-%d' % n, args=(n,))
    return 3
