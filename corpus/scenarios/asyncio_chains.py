# -*- coding: utf-8 -*-
"""Await chains on one event loop thread: coroutines four deep down to
Event.wait(), generator-based coroutines (yield from) around a coroutine
awaiting a bare future, and async generators driven by `async for` and by
asend(), suspended inside their own bodies.

The asyncio code is in _aio_chains.py (Python 3.6+); other Pythons skip.

usage: asyncio_chains.py TRUTH.json
"""
from __future__ import print_function

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import truth  # noqa: E402


if __name__ == '__main__':
    truth.run_py3_scenario('_aio_chains')
