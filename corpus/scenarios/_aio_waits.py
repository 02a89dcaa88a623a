"""Python 3 part of asyncio_waits.py.  Not a scenario.

    bare-future    await future                    awaits nothing
    event-wait     await event.wait()              awaits nothing
    queue-get      await queue.get()               awaits nothing
    sleep          await asyncio.sleep(3600)       awaits nothing
    shield-waiter  await asyncio.shield(guarded)   awaits guarded
    wait-for       await asyncio.wait_for(target, 3600)   awaits target
    wait-any       await asyncio.wait([watched])   awaits watched

guarded, target and watched are tasks blocked in Event.wait().
"""

import asyncio

import _truth_asyncio as aio


async def wait_bare(future):
    await future


async def wait_event(never):
    await never.wait()


async def wait_queue(queue):
    await queue.get()


async def wait_sleep():
    await asyncio.sleep(3600)


async def guarded(never):
    await never.wait()


async def wait_shield(task):
    await asyncio.shield(task)


async def target(never):
    await never.wait()


async def wait_with_timeout(task):
    await asyncio.wait_for(task, 3600)


async def watched(never):
    await never.wait()


async def wait_any(task):
    await asyncio.wait([task])


def setup():
    never = asyncio.Event()
    aio.spawn(wait_bare(aio.running_loop().create_future()), 'bare-future')
    aio.spawn(wait_event(never), 'event-wait')
    aio.spawn(wait_queue(asyncio.Queue()), 'queue-get')
    aio.spawn(wait_sleep(), 'sleep')
    aio.spawn(wait_shield(aio.spawn(guarded(never), 'guarded')), 'shield-waiter')
    aio.spawn(wait_with_timeout(aio.spawn(target(never), 'target')), 'wait-for')
    aio.spawn(wait_any(aio.spawn(watched(never), 'watched')), 'wait-any')


def start():
    """Start this module's threads; return how many were started."""
    aio.start_loop(setup, 'waits-loop')
    return 1
