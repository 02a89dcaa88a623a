"""The asyncio part of truth.py (Python 3.6+ only): event loops run by
worker threads, and the truth about their tasks.

A scenario starts each loop with start_loop(setup, thread_name): a daemon
thread makes a new event loop, has truth.py watch it, runs setup() as the
loop's first callback (it creates the tasks, with spawn()), and calls
truth.ready() once the loop is idle: nothing left to run, every task blocked
on a future that is never done.  The thread then sits in the selector for
good.  The recorder thread (never a loop's) calls record(), which returns the
"tasks" list of the truth file.

The rules record() follows are written down in corpus/README.md, "asyncio
truth"; pycore-stacks implements the same rules from memory.  Change both
together.
"""

import asyncio
import functools
import gc
import re
import sys
import threading
import types

import truth

HAS_NAMES = sys.version_info >= (3, 8)         # Task.get_name(), native ids
DEFERRED_NAMES = sys.version_info >= (3, 12)   # task_name may hold an int

# The objects async generators hand to the awaiting frame: asend() and
# __anext__() make an async_generator_asend, athrow() and aclose() an
# async_generator_athrow.  The chain goes through them to their generator.
_AGEN_AWAITABLES = ('async_generator_asend', 'async_generator_athrow')


# Every task spawn() made.  An event loop holds its tasks weakly only, and a
# task blocked for good on a future that only its own frames reach is garbage
# (a reference cycle) that the collector would destroy.
_tasks = []


class RecordError(Exception):
    """The loops are not in a state the truth can describe."""


# --- for scenarios ----------------------------------------------------------

def running_loop():
    """The loop running the calling code (a callback or a coroutine)."""
    get = getattr(asyncio, 'get_running_loop', None)   # 3.7+
    if get is not None:
        return get()
    return asyncio.get_event_loop()   # 3.6: the running loop, if any


def spawn(coro, name=None):
    """A task for coro on the running loop, named where Python has names."""
    loop = running_loop()
    if name is not None and HAS_NAMES:
        task = loop.create_task(coro, name=name)
    else:
        task = loop.create_task(coro)
    _tasks.append(task)
    return task


def start_loop(setup, thread_name, args=()):
    """Start a daemon thread running a new event loop forever; setup(*args)
    runs as its first callback.  Returns the thread."""

    def run():
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        tid = threading.get_native_id() if HAS_NAMES else None
        truth.watch_loop(loop, tid)
        loop.call_soon(setup, *args)
        loop.call_soon(_ready_when_idle, loop)
        loop.run_forever()  # every loop thread parks in here, in the selector

    return truth.start_thread(run, thread_name)


def _ready_when_idle(loop):
    # Handles scheduled meanwhile are queued in loop._ready; once none is,
    # this callback is the last thing the loop runs before it blocks in the
    # selector with nothing due but far-off timers.
    if any(not handle._cancelled for handle in loop._ready):
        loop.call_soon(_ready_when_idle, loop)
        return
    truth.ready()


# --- recording --------------------------------------------------------------

def address(obj):
    return '0x%x' % id(obj)


def _pending_tasks(loop):
    if hasattr(asyncio, 'all_tasks'):                   # 3.7+
        tasks = asyncio.all_tasks(loop)
    else:                                               # 3.6: done ones too
        tasks = asyncio.Task.all_tasks(loop)
    return [t for t in tasks if not t.done()]


def _current_task(loop):
    if hasattr(asyncio, 'current_task'):                # 3.7+
        return asyncio.current_task(loop)
    return asyncio.Task.current_task(loop)


def _coro(task):
    get = getattr(task, 'get_coro', None)               # 3.8+
    return get() if get is not None else task._coro


def _name(task):
    """Task.get_name(), without making 3.12+ store a name it did not have.

    3.12+ keep a default name as the int N of "Task-N" until get_name() is
    first called, which replaces it with the str.  Both read the same from
    outside, but calling it would leave no int for pycore-stacks to read, so
    the int is taken from the task's references instead (task_name is one of
    them, the only int).  An explicit name is a str already; get_name() just
    returns it."""
    if not HAS_NAMES:
        return None
    # Only C tasks defer their names; a pure-Python task's name is a str
    # from the start (and its referents are its attributes).
    if DEFERRED_NAMES and isinstance(task, asyncio.Task):
        ints = [r for r in gc.get_referents(task) if type(r) is int]
        if len(ints) > 1:
            raise RecordError('task %s refers to several ints %r'
                              % (address(task), ints))
        if ints:
            return 'Task-%d' % ints[0]
        name = task.get_name()
        if re.match(r'^Task-\d+$', name):
            # Something asked for it before: the int path goes untested.
            raise RecordError('task %s: default name %s already a str'
                              % (address(task), name))
        return name
    return task.get_name()


def _frame(frame):
    code = frame.f_code
    return {'function': code.co_name, 'file': code.co_filename,
            'line': frame.f_lineno}


def _agen_of(awaitable):
    """The async generator of an async_generator_asend/athrow object (its
    ags_gen/agt_gen, not visible from Python but among its references)."""
    gens = [r for r in gc.get_referents(awaitable)
            if isinstance(r, types.AsyncGeneratorType)]
    if len(gens) != 1:
        raise RecordError('%s refers to %d async generators'
                          % (type(awaitable).__name__, len(gens)))
    return gens[0]


def chain(coro):
    """The await chain from a task's coroutine: outermost first."""
    frames = []
    obj = coro
    while obj is not None:
        if type(obj).__name__ in _AGEN_AWAITABLES:
            obj = _agen_of(obj)       # no frame of its own
            continue
        if isinstance(obj, types.CoroutineType):
            frame, awaited = obj.cr_frame, obj.cr_await
        elif isinstance(obj, types.GeneratorType):
            frame, awaited = obj.gi_frame, obj.gi_yieldfrom
        elif isinstance(obj, types.AsyncGeneratorType):
            frame, awaited = obj.ag_frame, obj.ag_await
        else:
            break                     # a FutureIter, a Future, ...: the end
        if frame is None:
            break                     # finished
        frames.append(_frame(frame))
        obj = awaited
    return frames


def _done_callbacks(future):
    callbacks = future._callbacks or []
    if sys.version_info >= (3, 7):    # (callback, context) pairs
        return [cb for cb, _ in callbacks]
    return list(callbacks)


def _signals(callback, waiter):
    """Whether callback, a done-callback of some task, refers to waiter (a
    plain future another task waits on) in one of the three ways asyncio's
    own combinators make such links:

      a function whose closure holds it  shield(): _inner_done_callback
                                         (3.6: _done_callback) closes over
                                         `outer`; wait(): _on_completion over
                                         `waiter`
      a functools.partial with it among  wait_for() 3.6-3.11:
        its positional arguments         partial(_release_waiter, waiter)
      a bound method of an object whose  TaskGroup: _on_task_done of the
        instance attribute               group, which waits on its
        _on_completed_fut it is          _on_completed_fut in __aexit__
    """
    if isinstance(callback, types.FunctionType):
        for cell in callback.__closure__ or ():
            try:
                if cell.cell_contents is waiter:
                    return True
            except ValueError:        # an empty cell
                pass
        return False
    if isinstance(callback, functools.partial):
        return any(arg is waiter for arg in callback.args)
    if isinstance(callback, types.MethodType):
        attributes = getattr(callback.__self__, '__dict__', None) or {}
        return attributes.get('_on_completed_fut') is waiter
    return False


def _gathered(gathering):
    """The tasks a gather() future waits on: its children that are tasks,
    and those of children that are gather() futures themselves."""
    found = []
    for child in gathering._children:
        if isinstance(child, asyncio.Task):
            found.append(child)
        elif isinstance(child, asyncio.tasks._GatheringFuture):
            found.extend(_gathered(child))
    return found


def awaits(task, pending):
    """The tasks (among pending, {id: task}) that task waits on, by its
    _fut_waiter W (the rules of corpus/README.md, "asyncio truth"):

      W is a pending task       W itself (await task; wait_for() 3.12+),
                                C or pure-Python (_PyTask)
      W is a _GatheringFuture   its task children, through nested gathers
      W is another future       every pending task with a done-callback
                                that refers to W (_signals)
    """
    waiter = task._fut_waiter
    if waiter is None:
        return []
    if isinstance(waiter, asyncio.Task) or id(waiter) in pending:
        found = [waiter]
    elif isinstance(waiter, asyncio.tasks._GatheringFuture):
        found = _gathered(waiter)
    else:
        found = [other for other in pending.values()
                 if any(_signals(cb, waiter) for cb in _done_callbacks(other))]
    return sorted(set(address(t) for t in found if id(t) in pending))


def _awaited_by_check(task, pending, found):
    """3.14+ keep, for each future, the tasks awaiting it (_asyncio_awaited_by):
    check that the rules agree with it, so a reader may use either."""
    by = set(address(other) for other in pending.values()
             if task in (other._asyncio_awaited_by or ()))
    if by != set(found):
        raise RecordError('task %s: awaits %s by the rules, %s by '
                          '_asyncio_awaited_by' % (address(task), sorted(found),
                                                   sorted(by)))


def record(loops):
    """The "tasks" list of the truth: every pending task of every watched
    loop [(loop, tid)], in address order."""
    owned = []
    for loop, tid in loops:
        if not loop.is_running():
            raise RecordError('a watched loop is not running')
        if _current_task(loop) is not None:
            raise RecordError('a task is running on a watched loop')
        owned.extend((task, tid) for task in _pending_tasks(loop))
    pending = dict((id(task), task) for task, _ in owned)
    if len(pending) != len(owned):
        raise RecordError('a task belongs to two loops')
    out = []
    for task, tid in owned:
        if task._state != 'PENDING':
            raise RecordError('task %s is %s' % (address(task), task._state))
        coro = _coro(task)
        found = awaits(task, pending)
        if hasattr(task, '_asyncio_awaited_by'):
            _awaited_by_check(task, pending, found)
        out.append({
            'address': address(task),
            'name': _name(task),
            'state': 'pending',
            'coro': coro.__qualname__,
            'tid': tid,
            'running': False,
            'frames': chain(coro),
            'awaits': found,
        })
    out.sort(key=lambda t: int(t['address'], 16))
    return out
