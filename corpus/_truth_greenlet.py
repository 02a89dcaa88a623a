# -*- coding: utf-8 -*-
"""The greenlet part of truth.py: the truth about every greenlet.

Imported by the greenlet scenarios (scenarios/greenlet_*.py, gevent_*.py)
before anything else of theirs; runs on Python 2.7 and 3.x.  Importing it

  * puts $PCS_GREENLET_ROOT/pyX.Y first on sys.path if that directory
    exists (tests/corpus/run.py --greenlet-root: greenlet builds for the
    pyenv Pythons; Debian's and sid's Pythons find theirs in dist-packages),
  * imports greenlet, or ends the scenario with truth.skip() if there is
    none (a failure, status 3, if $PCS_GREENLET_ROOT/pyX.Y exists but its
    greenlet does not import),
  * turns the automatic garbage collector off: the truth lists what
    gc.get_objects() lists, and a collection between the truth and the dump
    (the recorder allocates) must not take greenlets away,
  * registers the importing thread (register()), and
  * has truth.py add "greenlets" to the truth file, recorded by the recorder
    thread from the same snapshots as the threads:

    "greenlets": [{"address": "0x7f3a2c1d9e40", "type": "Greenlet",
                   "name": "worker" or null,
                   "state": "running" | "suspended" | "not-started" | "dead",
                   "is_main": false, "parent": "0x..." or null,
                   "tid": 5653 or null,
                   "frames": [{"function": ..., "file": ..., "line": ...}]}]

Every thread that uses greenlets calls register() before it parks.  The
recorder thread never calls greenlet.getcurrent() nor switches: that would
make a main greenlet for it, and the truth would describe a process the
scenario did not make.

The rules record() follows are written down in corpus/README.md, "greenlet
truth"; pycore-stacks implements the same rules from memory.  Change both
together.
"""
from __future__ import print_function

import gc
import os
import sys
import threading
import types

import truth

PY2 = sys.version_info[0] == 2
HAS_TIDS = sys.version_info >= (3, 8)     # threading.get_native_id()


def _greenlet_root():
    root = os.environ.get('PCS_GREENLET_ROOT')
    if not root:
        return None
    path = os.path.join(root, 'py%d.%d' % sys.version_info[:2])
    if not os.path.isdir(path):
        return None
    sys.path.insert(0, path)
    return path


GREENLET_ROOT = _greenlet_root()

try:
    import greenlet
except ImportError as e:
    if GREENLET_ROOT:
        truth._fail('greenlet from %s does not import: %s' % (GREENLET_ROOT, e))
    truth.skip('no greenlet for Python %d.%d (%s)' % (sys.version_info[:2] + (e,)))

gc.disable()

BASE = greenlet.greenlet
# greenlet's own descriptors: gevent's Greenlet overrides `dead` (also true
# for a greenlet killed before it started) and truth value (true from
# start() on), which are not what the greenlet object holds.
_DEAD = BASE.__dict__['dead']
_ACTIVE = BASE.__dict__['__nonzero__' if PY2 else '__bool__']
_PARENT = BASE.__dict__['parent']
_FRAME = BASE.__dict__['gr_frame']
_RUN = BASE.__dict__['run']
_DICT = BASE.__dict__['__dict__']
_STR = (str, unicode) if PY2 else (str,)  # noqa: F821 (Python 2 only)

_lock = threading.Lock()
_roots = {}   # id(main greenlet) -> (main greenlet, thread ident, tid or None)


class RecordError(Exception):
    """The greenlets are not in a state the truth can describe."""


# --- for scenarios ----------------------------------------------------------

def register():
    """Declare the calling thread a greenlet thread: its main greenlet (made
    now if it has none) belongs to it.  Returns that main greenlet."""
    root = greenlet.getcurrent()
    while root.parent is not None:
        root = root.parent
    tid = threading.get_native_id() if HAS_TIDS else None
    with _lock:
        _roots[id(root)] = (root, truth.get_ident(), tid)
    return root


def _import_gevent():
    import gevent
    import gevent.event   # noqa: F401
    import gevent.pool    # noqa: F401
    import gevent.queue   # noqa: F401
    return gevent


def _debian_gevent():
    """Debian's dist-packages if it has a gevent built for this Python and
    greenlet came from $PCS_GREENLET_ROOT (pyenv's 3.11 and Debian's
    gevent 22.10.2 for its 3.11), else None."""
    if not GREENLET_ROOT:
        return None
    import sysconfig
    suffix = sysconfig.get_config_var('EXT_SUFFIX')
    if not suffix or not os.path.exists(os.path.join(
            DEBIAN_SITE, 'gevent', '_gevent_cgreenlet' + suffix)):
        return None
    return DEBIAN_SITE


DEBIAN_SITE = '/usr/lib/python3/dist-packages'


def import_gevent():
    """gevent, or the end of the scenario (truth.skip()) if there is none.

    A Python whose greenlet comes from $PCS_GREENLET_ROOT and that has no
    gevent of its own takes Debian's, if that was built for it: its
    dist-packages go last on sys.path (greenlet stays the one imported)."""
    try:
        return _import_gevent()
    except ImportError as e:
        error = e
    site = _debian_gevent()
    if site is not None and site not in sys.path:
        for module in list(sys.modules):
            if module == 'gevent' or module.startswith('gevent.'):
                del sys.modules[module]
        sys.path.append(site)
        try:
            return _import_gevent()
        except ImportError as e:
            error = e
    truth.skip('no gevent for Python %d.%d (%s)' % (sys.version_info[:2] + (error,)))


def park_in_gevent(out_path, expected_threads, block, args=()):
    """truth.park_and_record() for a main thread that runs a gevent hub.

    block(*args) runs in the main greenlet and must never return (a
    gevent.joinall() of greenlets that never finish, gevent.sleep() in a
    loop): it switches to the hub, which runs the loop in the main thread.
    That thread counts as parked once the hub has run every callback queued
    (every greenlet spawned has run until it blocked) and is about to wait
    in the loop: a callback queued behind them finds no other callback
    queued and calls truth.ready()."""
    import gevent
    loop = gevent.get_hub().loop

    def ready_when_idle():
        if len(loop._callbacks):
            loop.run_callback(ready_when_idle)
            return
        truth.ready()

    def park():
        loop.run_callback(ready_when_idle)
        block(*args)

    truth.park_and_record(out_path, expected_threads, park=park, park_signals=True)


# --- recording --------------------------------------------------------------

def address(obj):
    return '0x%x' % id(obj)


def _frames(frame):
    return [{'function': f, 'file': p, 'line': l}
            for (f, p, l) in truth._frames_of(frame)]


def state(g):
    """running, suspended, not-started or dead, by greenlet's own fields."""
    if _DEAD.__get__(g, type(g)):
        return 'dead'
    is_main = _PARENT.__get__(g, type(g)) is None
    if not _ACTIVE(g) and not is_main:
        return 'not-started'
    if _FRAME.__get__(g, type(g)) is not None:
        return 'suspended'
    return 'running'


def _function_name(fn):
    if type(fn) is types.FunctionType:
        return truth._text(fn.__name__ if PY2 else fn.__qualname__)
    return None


def callable_name(fn):
    """The name of a run callable: a function's qualified name (2.7: its
    name), a bound method's function's; None for anything else."""
    if type(fn) is types.FunctionType:
        return _function_name(fn)
    if type(fn) is types.MethodType:
        return _function_name(fn.__func__)
    return None


def name(g, state):
    # greenlet's __dict__ getter gives a greenlet without a dict an empty
    # one: no name either way, for the truth as for a reader of the memory.
    attributes = _DICT.__get__(g, type(g))
    value = attributes.get('name')
    if isinstance(value, _STR):
        return truth._text(value)
    if '_run' in attributes:                  # gevent's Greenlet(run)
        return callable_name(attributes['_run'])
    if state == 'not-started':
        try:
            return callable_name(_RUN.__get__(g, type(g)))
        except AttributeError:                # none given
            return None
    return None


def _root(g):
    seen = set()
    while True:
        parent = _PARENT.__get__(g, type(g))
        if parent is None:
            return g
        if id(g) in seen:
            raise RecordError('greenlet %s: a cycle of parents' % address(g))
        seen.add(id(g))
        g = parent


def greenlets():
    """Every greenlet object the collector knows of (by type: a proxy that
    claims greenlet as its __class__ is none)."""
    objects = gc.get_objects()
    try:
        return [x for x in objects if issubclass(type(x), BASE)]
    finally:
        del objects


def record(snapshot):
    """The "greenlets" list of the truth, in address order; snapshot is
    truth.py's {ident: frames} of the threads, taken just before."""
    with _lock:
        roots = dict(_roots)
    out = []
    running = {}
    for g in greenlets():
        kind = type(g)
        st = state(g)
        parent = _PARENT.__get__(g, kind)
        root = _root(g)
        if id(root) not in roots:
            raise RecordError('greenlet %s (%s): its main greenlet %s belongs to '
                              'no registered thread' % (address(g), kind.__name__,
                                                        address(root)))
        _, ident, tid = roots[id(root)]
        if st == 'suspended':
            frames = _frames(_FRAME.__get__(g, kind))
        elif st == 'running':
            if ident in running:
                raise RecordError(
                    'greenlets %s and %s both read as running in thread %s: one '
                    'is suspended with no Python frame' % (running[ident], address(g),
                                                           ident))
            running[ident] = address(g)
            if ident not in snapshot:
                raise RecordError('greenlet %s: its thread %s is not running'
                                  % (address(g), ident))
            frames = [{'function': f, 'file': p, 'line': l}
                      for (f, p, l) in snapshot[ident]]
        else:
            frames = []
        out.append({
            'address': address(g),
            'type': truth._text(kind.__name__),
            'name': name(g, st),
            'state': st,
            'is_main': parent is None,
            'parent': None if parent is None else address(parent),
            'tid': tid,
            'frames': frames,
        })
    missing = set(ident for _, ident, _ in roots.values()) - set(running)
    if missing:
        raise RecordError('no running greenlet in threads %s' % sorted(missing))
    out.sort(key=lambda x: int(x['address'], 16))
    return out


register()
truth.record_also('greenlets', record)
