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


def main():
    if sys.version_info < (3, 6):
        truth.skip('asyncio needs Python 3.6+')
    import _aio_gather_tree
    threads = _aio_gather_tree.start()
    truth.park_and_record(truth.out_path_from_argv(), 1 + threads)


if __name__ == '__main__':
    main()
