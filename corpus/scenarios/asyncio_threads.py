# -*- coding: utf-8 -*-
"""Three threads, each running its own event loop, with a task that awaits
another task directly.

The asyncio code is in _aio_threads.py (Python 3.6+); other Pythons skip.

usage: asyncio_threads.py TRUTH.json
"""
from __future__ import print_function

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import truth  # noqa: E402


if __name__ == '__main__':
    truth.run_py3_scenario('_aio_threads')
