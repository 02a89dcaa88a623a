"""Python 3 part of asyncio_many.py.  Not a scenario.

    waiter-N   600 tasks   handler -> wait_event -> Event.wait()
    sleeper-N  300 tasks   napper -> asyncio.sleep(3600)
    reader-N   100 tasks   reader -> Queue.get()
"""

import asyncio

import _truth_asyncio as aio

COUNTS = {'waiter': 600, 'sleeper': 300, 'reader': 100}


async def wait_event(never):
    await never.wait()


async def handler(never):
    await wait_event(never)


async def napper():
    await asyncio.sleep(3600)


async def reader(queue):
    await queue.get()


def setup():
    never = asyncio.Event()
    queue = asyncio.Queue()
    for i in range(COUNTS['waiter']):
        aio.spawn(handler(never), 'waiter-%d' % i)
    for i in range(COUNTS['sleeper']):
        aio.spawn(napper(), 'sleeper-%d' % i)
    for i in range(COUNTS['reader']):
        aio.spawn(reader(queue), 'reader-%d' % i)


def start():
    """Start this module's threads; return how many were started."""
    aio.start_loop(setup, 'many-loop')
    return 1
