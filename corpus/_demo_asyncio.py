"""The asyncio part of demo.py (Python 3.6+): an event loop thread serving
"requests", each parked in a realistic place.  Not a scenario."""

import asyncio

import _truth_asyncio as aio


async def db_query(pool):
    return await pool.get()          # no connection ever comes back


async def fetch_user(pool, user_id):
    return await db_query(pool)


async def handle_request(pool, user_id):
    return await fetch_user(pool, user_id)


async def serve(pool):
    await asyncio.gather(*[aio.spawn(handle_request(pool, i), 'request-%d' % i)
                           for i in range(3)])


async def heartbeat():
    while True:
        await asyncio.sleep(3600)


def setup():
    pool = asyncio.Queue()
    aio.spawn(serve(pool), 'server')
    aio.spawn(heartbeat(), 'heartbeat')


def start():
    """Start the event loop thread; return it."""
    return aio.start_loop(setup, 'event-loop')
