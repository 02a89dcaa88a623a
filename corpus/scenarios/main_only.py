# -*- coding: utf-8 -*-
"""Only the main thread, parked a few calls deep.

usage: main_only.py TRUTH.json
"""
from __future__ import print_function

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import truth  # noqa: E402


def serve(out):
    return wait_for_work(out)


def wait_for_work(out):
    truth.park_and_record(out, 1)


if __name__ == '__main__':
    serve(truth.out_path_from_argv())
