# -*- coding: utf-8 -*-
"""asyncio.TaskGroup (3.11+): a task waiting in the group's __aexit__ on two
children, one of which waits on a group of its own.

The asyncio code is in _aio_taskgroup.py (Python 3.11+); other Pythons skip.

usage: asyncio_taskgroup.py TRUTH.json
"""
from __future__ import print_function

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import truth  # noqa: E402


if __name__ == '__main__':
    truth.run_py3_scenario('_aio_taskgroup', (3, 11), 'asyncio.TaskGroup')
