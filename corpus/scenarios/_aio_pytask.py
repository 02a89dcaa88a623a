"""Python 3 part of asyncio_pytask.py.  Not a scenario.

Pure-Python tasks (asyncio.tasks._PyTask: all their state in the instance
dict) beside a C task, on one loop thread:

    py-parent  await py-child          (both _PyTask)
    py-child   Event.wait()
    c-waiter   await py-parent         (a C task awaiting a Python one)
"""

import asyncio

import _truth_asyncio as aio


async def leaf(never):
    await never.wait()


async def parent(child):
    await child


async def c_waiter(task):
    await task


def py_task(coro, name):
    task = asyncio.tasks._PyTask(coro, loop=aio.running_loop(), name=name)
    aio._tasks.append(task)
    return task


def setup():
    child = py_task(leaf(asyncio.Event()), 'py-child')
    parent_task = py_task(parent(child), 'py-parent')
    aio.spawn(c_waiter(parent_task), 'c-waiter')


def start():
    """Start this module's threads; return how many were started."""
    aio.start_loop(setup, 'pytask-loop')
    return 1
