# SPDX-License-Identifier: MIT
"""N pending asyncio tasks, each awaiting one asyncio.Event (three
coroutine frames deep: task -> middle -> Event.wait), all referenced from a
list; the loop idles in run_forever(). No other task exists, so a dump must
find exactly N. "ready" is printed by a callback scheduled after the tasks'
first steps, when every task is suspended.

usage: tasks.py N [--monitor FILE]
"""
import asyncio
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402


async def middle(event):
    await event.wait()


async def waiter(event):
    await middle(event)


def main():
    n = int(sys.argv[1])
    monitor = common.option(sys.argv, '--monitor')
    if monitor:
        common.monitor_thread(monitor)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    event = asyncio.Event()
    tasks = [loop.create_task(waiter(event), name='waiter-%d' % i) for i in range(n)]

    def settled():
        pending = sum(1 for t in tasks if not t.done())
        assert pending == n, pending
        common.ready(tasks=pending)

    loop.call_soon(settled)
    loop.run_forever()


main()
