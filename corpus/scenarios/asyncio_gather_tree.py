# -*- coding: utf-8 -*-
"""A gather() tree three levels deep on one event loop thread: a root task
waits on three mid tasks (two of them through a nested gather), each of
them on two leaf tasks blocked in Event.wait().

The asyncio code is in _aio_gather_tree.py (Python 3.6+); other Pythons skip.

usage: asyncio_gather_tree.py TRUTH.json
"""
from __future__ import print_function

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import truth  # noqa: E402


if __name__ == '__main__':
    truth.run_py3_scenario('_aio_gather_tree')
