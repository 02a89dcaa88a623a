"""Python 3 part of asyncio_chains.py.  Not a scenario.

    nested-4    Pipeline.run -> stage_b -> stage_c -> stage_d -> Event.wait
    yield-from  legacy_caller -> legacy_outer -> legacy_inner -> deepest,
                which awaits a bare future (the two legacy_* are
                generator-based coroutines, as @asyncio.coroutine made them)
    async-for   consume_async_for -> ticker (async generator) -> Event.wait
    asend       consume_asend -> ticker -> Event.wait
"""

import asyncio
import types

import _truth_asyncio as aio


class Pipeline(object):

    def __init__(self, never):
        self.never = never

    async def run(self):
        await stage_b(self.never)


async def stage_b(never):
    await stage_c(never)


async def stage_c(never):
    await stage_d(never)


async def stage_d(never):
    await never.wait()


@types.coroutine
def legacy_outer(future):
    yield from legacy_inner(future)


@types.coroutine
def legacy_inner(future):
    yield from deepest(future)


async def deepest(future):
    await future


async def legacy_caller(future):
    await legacy_outer(future)


async def ticker(never):
    yield 'first'
    await never.wait()
    yield 'never'


async def consume_async_for(never):
    async for item in ticker(never):
        pass


async def consume_asend(never):
    gen = ticker(never)
    await gen.asend(None)
    await gen.asend('again')


def setup():
    never = asyncio.Event()
    future = aio.running_loop().create_future()
    aio.spawn(Pipeline(never).run(), 'nested-4')
    aio.spawn(legacy_caller(future), 'yield-from')
    aio.spawn(consume_async_for(never), 'async-for')
    aio.spawn(consume_asend(never), 'asend')


def start():
    """Start this module's threads; return how many were started."""
    aio.start_loop(setup, 'chains-loop')
    return 1
