# -*- coding: utf-8 -*-
"""Greenlets in three worker threads, each with its own greenlets:

  gl-main-parks   parks in its main greenlet (running); two greenlets
                  suspended, at depth 1 and 3
  gl-inside       parks inside a greenlet of its own (running: the thread's
                  frames are that greenlet's), so its main greenlet is
                  suspended; a suspended sibling and a not-started one
  gl-tree         parks in its main greenlet; a suspended greenlet whose
                  child is suspended too, and a dead one

The main thread uses no greenlet beyond importing (its main greenlet,
running, is made when _truth_greenlet registers it) and parks as usual.

usage: greenlet_threads.py TRUTH.json
"""
from __future__ import print_function

import os
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import truth  # noqa: E402
import _truth_greenlet as tg  # noqa: E402  (skips without greenlet)

greenlet = tg.greenlet.greenlet
never = threading.Event()   # never set
keep = []                   # every greenlet made: none may be freed (and killed)
_local = threading.local()


def make(run, name=None):
    g = greenlet(run)
    if name is not None:
        g.name = name
    keep.append(g)
    return g


def back_to_main():
    _local.main.switch()  # suspended greenlets of every thread park here


def level_two():
    level_three()


def level_three():
    back_to_main()


def block():
    truth.ready()
    never.wait()


# --- gl-main-parks ----------------------------------------------------------

def main_parks():
    _local.main = tg.register()
    make(back_to_main, u'shallow').switch()
    make(level_two, u'deep').switch()
    block()


# --- gl-inside --------------------------------------------------------------

def inside_runner():
    make(back_to_inside, u'sibling').switch()
    block()


def back_to_inside():
    _local.runner.switch()  # the sibling parks here, in the runner


def inside():
    _local.main = tg.register()
    make(back_to_main, u'idle')
    _local.runner = make(inside_runner, u'runner')
    _local.runner.switch()  # gl-inside's main greenlet parks here


# --- gl-tree ----------------------------------------------------------------

def tree_child():
    back_to_main()


def tree_parent():
    make(tree_child, u'tree-child').switch()  # the tree's parent parks here


def tree():
    _local.main = tg.register()
    make(tree_parent, u'tree-parent').switch()
    done = make(level_two)
    done.switch()
    done.switch()   # back from back_to_main: finishes
    assert done.dead
    block()


if __name__ == '__main__':
    truth.start_thread(main_parks, u'gl-main-parks')
    truth.start_thread(inside, u'gl-inside')
    truth.start_thread(tree, u'gl-tree')
    truth.park_and_record(truth.out_path_from_argv(), 4)
