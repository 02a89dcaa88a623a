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


def main():
    if sys.version_info < (3, 6):
        truth.skip('asyncio needs Python 3.6+')
    import _aio_threads
    threads = _aio_threads.start()
    truth.park_and_record(truth.out_path_from_argv(), 1 + threads)


if __name__ == '__main__':
    main()
