# -*- coding: utf-8 -*-
"""Raw greenlets (no gevent), all in the main thread, which then parks in
its main greenlet:

  suspended    chain-4   chain_entry -> Stage.descend -> chain_inner ->
                         chain_leaf (name set: "chain-4")
               depth 1   park_here (no name)
               depth 2   Stage.descend -> chain_leaf (bound method as run;
                         name set: "method-2")
               Stepper   a greenlet subclass with its own run() (one named
                         "stepper" through its __init__, one not)
               a tree    tree_root -> its child tree_child -> its child
                         tree_grandchild: parents that are not main greenlets
  not-started  run = a function, a bound method, a lambda, a nested
               function, a builtin (no name), none; one with a name set,
               one whose "name" is no str; a Stepper
  dead         finished, kept: one named "finished", one not

Every suspended greenlet switched back to the main greenlet from a Python
function, so each has a frame (a greenlet suspended with no Python frame
would read as running).

usage: greenlet_raw.py TRUTH.json
"""
from __future__ import print_function

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import truth  # noqa: E402
import _truth_greenlet as tg  # noqa: E402  (skips without greenlet)

greenlet = tg.greenlet.greenlet
MAIN = tg.register()    # the main thread's main greenlet
keep = []               # every greenlet made: none may be freed (and killed)


def make(run=None, name=None, parent=None):
    g = greenlet(run) if parent is None else greenlet(run, parent)
    if name is not None:
        g.name = name
    keep.append(g)
    return g


# --- suspended --------------------------------------------------------------

def chain_leaf():
    MAIN.switch()  # the suspended raw greenlets park here


def chain_inner():
    chain_leaf()


class Stage(object):

    def __init__(self, depth):
        self.depth = depth

    def descend(self):
        if self.depth > 2:
            chain_inner()
        else:
            chain_leaf()


def chain_entry():
    Stage(4).descend()


def park_here():
    MAIN.switch()  # the depth-1 greenlet parks here


class Stepper(greenlet):
    """A greenlet subclass with its own run()."""

    def __init__(self, label=None):
        greenlet.__init__(self)
        if label is not None:
            self.name = label

    def run(self):
        self.step()

    def step(self):
        MAIN.switch()  # Stepper greenlets park here


def tree_grandchild():
    MAIN.switch()  # the tree's leaf parks here


def tree_child():
    grandchild = make(tree_grandchild, u'tree-grandchild')
    grandchild.switch()  # the tree's middle parks here, in its child


def tree_root():
    child = make(tree_child, u'tree-child')
    child.switch()  # the tree's root parks here, in its child


# --- not started, dead ------------------------------------------------------

def never_started():
    pass


def make_nested():
    def nested():
        pass
    return nested


def finish():
    return 'done'


def setup():
    make(chain_entry, u'chain-4').switch()
    make(park_here).switch()
    make(Stage(2).descend, u'method-2').switch()
    for label in (u'stepper', None):
        stepper = Stepper(label)
        keep.append(stepper)
        stepper.switch()
    make(tree_root, u'tree-root').switch()

    make(never_started)
    make(Stage(9).descend)
    make(lambda: None)
    make(make_nested())
    make(len)                                   # a builtin: no name
    make()                                      # no run at all
    make(never_started, u'named-idle')
    make(never_started, 7)                      # a name that is no str
    keep.append(Stepper())                      # run is the class's

    for label in (u'finished', None):
        done = make(finish, label)
        done.switch()
        assert done.dead


if __name__ == '__main__':
    setup()
    truth.park_and_record(truth.out_path_from_argv(), 1)
