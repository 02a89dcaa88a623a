# -*- coding: utf-8 -*-
"""Pure-Python asyncio tasks (asyncio.tasks._PyTask) and a C task awaiting
one.  The asyncio code is in _aio_pytask.py (Python 3.8+, for task names).

usage: asyncio_pytask.py TRUTH.json
"""
from __future__ import print_function

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import truth  # noqa: E402


if __name__ == '__main__':
    truth.run_py3_scenario('_aio_pytask', (3, 8), 'asyncio._PyTask with names')
