"""Python 3 only parts of generators_methods.py: a `yield from` chain and a
coroutine chain driven by send() without an event loop.  Not a scenario."""

import truth


def start(block):
    """Start this module's threads; return how many were started."""

    def leaf_gen():
        yield 'first'
        block()
        yield 'never'

    def mid_gen():
        yield from leaf_gen()

    def top_gen():
        result = yield from mid_gen()
        return result

    def consume():
        for _ in top_gen():
            pass

    class Never:
        def __await__(self):
            block()
            yield

    async def leaf_coro():
        await Never()

    async def top_coro():
        await leaf_coro()

    def drive():
        coro = top_coro()
        coro.send(None)

    truth.start_thread(consume, 'yield-from-chain')
    truth.start_thread(drive, 'coroutine-send')
    return 2
