"""Python 3 part of asyncio_gather_tree.py.  Not a scenario.

    root ── gather(gather(mid, mid), mid-2)
    mid  ── gather(leaf, leaf)              (x3)
    leaf ── Event.wait()                    (x6)

The mids and leaves gather() makes from coroutines get default names
("Task-N"; an int until asked on 3.12+), root and mid-2 explicit ones.
"""

import asyncio

import _truth_asyncio as aio


async def leaf(never):
    await never.wait()


async def mid(never):
    await asyncio.gather(leaf(never), leaf(never))


async def root(never):
    await asyncio.gather(asyncio.gather(mid(never), mid(never)), aio.spawn(mid(never), 'mid-2'))


def setup():
    never = asyncio.Event()
    aio.spawn(root(never), 'root')


def start():
    """Start this module's threads; return how many were started."""
    aio.start_loop(setup, 'gather-loop')
    return 1
