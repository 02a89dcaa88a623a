# -*- coding: utf-8 -*-
"""A thousand tasks parked in three places, for the grouped text output and
the collapsed format: 600 in Event.wait() two coroutines deep, 300 in
sleep(), 100 in Queue.get(); their stacks fold into three lines.

The asyncio code is in _aio_many.py (Python 3.6+); other Pythons skip.

usage: asyncio_many.py TRUTH.json
"""
from __future__ import print_function

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import truth  # noqa: E402


if __name__ == '__main__':
    truth.run_py3_scenario('_aio_many')
