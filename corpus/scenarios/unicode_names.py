# -*- coding: utf-8 -*-
"""Non-ASCII text everywhere the tool decodes strings: thread names of each
CPython 3 string kind (Latin-1, UCS-2, UCS-4), an empty and a long name, and
(on Python 3) functions with non-ASCII names, in code whose file name is not
ASCII either.

usage: unicode_names.py TRUTH.json
"""
from __future__ import print_function

import os
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import truth  # noqa: E402

never = threading.Event()    # never set

NAMES = [
    u'caf\u00e9-thread',                      # Latin-1, 1 byte per char
    u'w\u00f6rker-\u03c0',                    # wörker-π: UCS-2
    u'\u7ebf\u7a0b-\u03bb',                   # 线程-λ: UCS-2
    u'\U0001f40d-snake \U0001f680',           # emoji: UCS-4
    u'long-' + u'\u00f1' * 100 + u'-' + u'\U0001d11e' * 20,
]

# Compiled under a non-ASCII file name; Python 3 gets non-ASCII function
# names too (one per string kind), Python 2 ASCII ones.
if sys.version_info[0] >= 3:
    SOURCE = u'''
def schl\u00e4ft(block):
    return \u7b49\u5f85_\u03bb(block)

def \u7b49\u5f85_\u03bb(block):
    return \U00010330\U00010331_wait(block)

def \U00010330\U00010331_wait(block):
    block()
'''
    ENTRY = u'schl\u00e4ft'
else:
    SOURCE = '''
def outer_ascii(block):
    return inner_ascii(block)

def inner_ascii(block):
    block()
'''
    ENTRY = 'outer_ascii'
FILENAME = u'<\u00fcnic\u00f6de-\u03c0\u03c1\u03cc\u03b3\u03c1\u03b1\u03bc\u03bc\u03b1-\U0001f40d>'


def block():
    truth.ready()
    never.wait()


def run_unicode_code():
    namespace = {}
    code = compile(SOURCE, truth.thread_name(FILENAME), 'exec')
    exec(code, namespace)
    namespace[ENTRY](block)


def main():
    out = truth.out_path_from_argv()
    for name in NAMES:
        truth.start_thread(block, name)
    empty = truth.start_thread(block, u'not-empty-yet')
    empty.name = ''
    truth.start_thread(run_unicode_code, u'unicode-code-\u00e9')
    truth.park_and_record(out, len(NAMES) + 3)


if __name__ == '__main__':
    main()
