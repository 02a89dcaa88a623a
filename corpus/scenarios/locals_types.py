# -*- coding: utf-8 -*-
"""Threads parked in functions holding arguments and locals of every type
--locals tells apart (None, bool, int small and big, float, str, bytes,
containers, other objects), cells, free variables, unbound and deleted
locals, in a generator, a method and a class body.  The truth records every
frame's locals (corpus/_truth_locals.py; corpus/README.md, "locals truth").

usage: locals_types.py TRUTH.json
"""
from __future__ import print_function

import collections
import os
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import truth  # noqa: E402
import _truth_locals  # noqa: E402

PY2 = sys.version_info[0] == 2
if PY2:
    long_type = long  # noqa: F821 (Python 2 only)
else:
    long_type = int

never = threading.Event()    # never set


def park():
    truth.ready()
    never.wait()


class Thing(object):
    def __init__(self, name):
        self.name = name

    def method(self, factor):
        scaled = factor * 2
        park()


class Old:                   # an old-style class on Python 2
    pass


INTS = [0, 1, -1, -5, 255, 2 ** 30 - 1, 2 ** 30, 2 ** 31, 2 ** 62, 2 ** 63 - 1, 2 ** 63,
        -2 ** 63, 2 ** 64, -2 ** 100, 10 ** 39, 10 ** 40, -10 ** 40, 10 ** 50,
        2 ** 4095, -2 ** 4096, 2 ** 4100, 2 ** 30720]
FLOATS = [0.0, -0.0, 1.5, 0.1, 1 / 3.0, 1e300, -1e-300, 1e16, 1e15, 123456789.0,
          1e-5, 1e-4, 5e-324, 1.7976931348623157e308, 9007199254740993.0,
          0.1 + 0.2, 2.5e-8, -123.456e20, 2.0 ** -24, 2.0 ** 1000, -2.0 ** -1022]
TEXTS = [u'', u'ascii', u"it's", u'both \' and "', u'tab\tnl\nret\r back\\slash',
         u'\x00\x1f\x7f', u'\x80\x9f\xa0\xad', u'\xfcn\xefc\xf6d\xe9', u'\U0001F40D',
         u'\u200b\u202e\u2028', u'\ud800', u'\ue000', u'\u4e2d\u6587',
         u'x' * 100, u'y' * 80, u'\xe9' * 81, u'a' * 85 + u"'"]
BYTES = [b'', b'bytes\x00\xff', b"it's", b'\x80' * 100]


def self_check():
    """The truth's reprs agree with Python's own repr() where the rules say
    they should (short text, numbers); a disagreement is a corpus bug."""
    bad = []
    for v in FLOATS + [float('inf'), float('-inf'), float('nan')]:
        if _truth_locals.float_repr(v) != repr(v):
            bad.append((repr(v), _truth_locals.float_repr(v)))
    for v in INTS:
        if abs(v) < 10 ** 40 and _truth_locals.int_repr(v) != str(v):
            bad.append((str(v), _truth_locals.int_repr(v)))
    for v in TEXTS:
        if len(v) <= 80 and not PY2:
            if _truth_locals.short_repr(v) != repr(v):
                bad.append((repr(v), _truth_locals.short_repr(v)))
    for v in BYTES:
        if len(v) <= 80 and _truth_locals.short_repr(v) != repr(v):
            bad.append((repr(v), _truth_locals.short_repr(v)))
    if bad:
        sys.stderr.write('truth: reprs differ from repr(): %r\n' % bad)
        sys.exit(3)


def all_types(number, text=u'default', *rest, **options):
    none = None
    yes = True
    no = False
    small = 7
    long_small = long_type(5)
    huge = 10 ** 50
    negative_big = -2 ** 100
    ints = INTS
    f15 = 1.5
    negative_zero = -0.0
    f300 = 1e300
    inf = float('inf')
    nan = float('nan')
    ascii = 'ascii'
    unicode_text = u'\xfcn\xefc\xf6d\xe9'
    snake = u'\U0001F40D'
    long_text = u'Lorem ipsum dolor sit amet, ' * 4
    raw = b'bytes\x00\xff'
    empty_list = []
    three = [1, 2, 3]
    one_tuple = (1,)
    empty_dict = {}
    twelve = dict((i, str(i)) for i in range(12))
    four = set([1, 2, 3, 4])
    frozen = frozenset([1])
    ordered = collections.OrderedDict(a=1)
    thing = Thing(u'thing')
    old = Old()
    function = park
    module = sys
    cls = Thing
    lock = threading.Lock()
    captured = u'captured'

    def closure():
        return captured
    deleted = 1
    del deleted
    park()
    late = 1
    return late


def every_value():
    # One local per value of the lists above.
    (i0, i1, i2, i3, i4, i5, i6, i7, i8, i9, i10, i11, i12, i13, i14, i15, i16, i17,
     i18, i19, i20, i21) = INTS
    (f0, f1, f2, f3, f4, f5, f6, f7, f8, f9, f10, f11, f12, f13, f14, f15, f16,
     f17, f18, f19, f20) = FLOATS
    (t0, t1, t2, t3, t4, t5, t6, t7, t8, t9, t10, t11, t12, t13, t14, t15, t16) = TEXTS
    (b0, b1, b2, b3) = BYTES
    inf, minus_inf, nan = float('inf'), float('-inf'), float('nan')
    park()


def cell_argument(value):
    # value is an argument and a cell; rebound after the closure is made
    # (Python 2 keeps the first value in its plain slot too).
    def reader():
        return value
    value = u'rebound'
    park()


def outer_with_free(a):
    b = [a]

    def inner(c):
        d = (a, b, c)
        park()
        return d
    inner(3.25)


def empty_cell():
    def later():
        return value
    park()
    value = 1
    return later, value


def generator(limit):
    for index in range(limit):
        doubled = index * 2
        park()
        yield doubled


def drive_generator():
    for item in generator(3):
        pass


def in_class_body():
    captured = u'outer'

    class Parked(object):
        uses = captured
        here = 1
        park()
    return Parked


def call_method():
    Thing(u'self').method(21)


WORKERS = [
    (all_types, u'typed-locals', (42, u'given', u'extra'), {'flag': True}),
    (every_value, u'every-value', (), {}),
    (cell_argument, u'cell-argument', (u'first',), {}),
    (outer_with_free, u'free-variables', (u'free',), {}),
    (empty_cell, u'empty-cell', (), {}),
    (drive_generator, u'generator', (), {}),
    (in_class_body, u'class-body', (), {}),
    (call_method, u'method', (), {}),
]


def main():
    self_check()
    truth.record_locals(_truth_locals.frame_locals)
    for target, name, args, kwargs in WORKERS:
        thread = threading.Thread(target=target, name=truth.thread_name(name),
                                  args=args, kwargs=kwargs)
        thread.daemon = True
        thread.start()
    truth.park_and_record(truth.out_path_from_argv(), 1 + len(WORKERS))


if __name__ == '__main__':
    main()
