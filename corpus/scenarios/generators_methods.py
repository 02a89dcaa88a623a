# -*- coding: utf-8 -*-
"""Threads parked inside generator chains, methods of a class (instance,
class and static methods, a nested function, a lambda, a property, __call__,
__enter__, a Thread subclass's run) and comprehensions.  On Python 3 also a
`yield from` chain and a coroutine driven by send() (see _py3_chains.py).

usage: generators_methods.py TRUTH.json
"""
from __future__ import print_function

import os
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import truth  # noqa: E402

never = threading.Event()    # never set


def block():
    truth.ready()
    never.wait()


# --- generators -------------------------------------------------------------

def inner_gen():
    yield 'first'
    block()
    yield 'never'


def middle_gen():
    for item in inner_gen():
        yield item


def outer_gen():
    for item in middle_gen():
        yield item


def consume_chain():
    seen = []
    for item in outer_gen():
        seen.append(item)


def receiver():
    message = yield
    if message == 'go':
        block()
    yield message


def drive_by_send():
    gen = receiver()
    next(gen)
    gen.send('go')


# --- methods ----------------------------------------------------------------

class Pipeline(object):

    def run(self):
        return self.step(3)

    def step(self, n):
        return Pipeline.through_classmethod(n)

    @classmethod
    def through_classmethod(cls, n):
        return cls.through_staticmethod(n)

    @staticmethod
    def through_staticmethod(n):
        def nested(k):
            wait = lambda: block()  # noqa: E731
            return wait()
        return nested(n)


class Resource(object):

    @property
    def value(self):
        with self:
            return None

    def __enter__(self):
        self()
        return self

    def __exit__(self, *exc):
        return False

    def __call__(self):
        block()


class Worker(threading.Thread):

    def __init__(self, name):
        threading.Thread.__init__(self, name=name)
        self.daemon = True

    def run(self):
        self.serve()

    def serve(self):
        Pipeline().run()


def read_property():
    return Resource().value


# --- comprehensions ---------------------------------------------------------
# Python 3.12 inlines list comprehensions (PEP 709): no frame of their own.

def stage(i):
    return sum(parked(j) for j in [i])


def parked(j):
    block()
    return j


def comprehensions():
    return [stage(i) for i in range(1)]


def main():
    out = truth.out_path_from_argv()
    expected = 1
    for target, name in ((consume_chain, u'generator-chain'),
                         (drive_by_send, u'generator-send'),
                         (read_property, u'dunder-methods'),
                         (comprehensions, u'comprehensions')):
        truth.start_thread(target, name)
        expected += 1
    Worker(truth.thread_name(u'method-chain')).start()
    expected += 1
    if sys.version_info[0] >= 3:
        import _py3_chains
        expected += _py3_chains.start(block)
    truth.park_and_record(out, expected)


if __name__ == '__main__':
    main()
