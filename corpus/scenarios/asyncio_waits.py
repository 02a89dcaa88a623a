# -*- coding: utf-8 -*-
"""What tasks wait on, on one event loop thread: a bare future, Event.wait(),
Queue.get(), sleep(), shield() of a task, wait_for() of a task and wait()
on a task.

The asyncio code is in _aio_waits.py (Python 3.6+); other Pythons skip.

usage: asyncio_waits.py TRUTH.json
"""
from __future__ import print_function

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import truth  # noqa: E402


if __name__ == '__main__':
    truth.run_py3_scenario('_aio_waits')
