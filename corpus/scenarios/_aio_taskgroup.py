"""Python 3.11+ part of asyncio_taskgroup.py.  Not a scenario.

    group-owner  TaskGroup: child-0, and child (default name)
    child-0      TaskGroup: grandchild-0, and grandchild (default name)
    child, grandchild x2: Event.wait()
"""

import asyncio

import _truth_asyncio as aio


async def grandchild(never):
    await never.wait()


async def child(never):
    await never.wait()


async def child_with_group(never):
    async with asyncio.TaskGroup() as group:
        group.create_task(grandchild(never), name='grandchild-0')
        group.create_task(grandchild(never))


async def group_owner(never):
    async with asyncio.TaskGroup() as group:
        group.create_task(child_with_group(never), name='child-0')
        group.create_task(child(never))


def setup():
    aio.spawn(group_owner(asyncio.Event()), 'group-owner')


def start():
    """Start this module's threads; return how many were started."""
    aio.start_loop(setup, 'taskgroup-loop')
    return 1
