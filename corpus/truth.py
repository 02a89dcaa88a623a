# -*- coding: utf-8 -*-
"""Park every thread of a scenario in a known place and record the truth.

A scenario starts its worker threads; each worker calls ready() right before
the call that blocks it forever.  The main thread then calls
park_and_record(out_path, expected_threads), which

  * starts a short-lived recorder thread, and
  * parks the main thread for good (time.sleep(3600) in a loop, in a
    function of its own, or in the scenario's own park function).

The recorder waits until every thread that runs Python code has signalled
ready(), the main thread is parked and the interpreter has exactly
expected_threads threads besides the recorder (threads that run no Python
code at all are declared with frameless(ident)); it lets the blocking calls be entered (a short sleep), takes
sys._current_frames() twice until two snapshots agree, and writes
out_path atomically (tmp file, then rename):

  {"python": sys.version, "python_version": platform.python_version(),
   "executable": sys.executable, "pid": os.getpid(),
   "threads": [{"ident": ..., "native_id": ... or null, "name": ... or null,
                "frames": [{"function": co_name, "file": co_filename,
                            "line": f_lineno}, ...],
                "volatile": true,      # only if declared, see ready()
                "expect_gil": true}]}  # only if declared, see ready()

frames are outermost first; a scenario that calls record_locals() gives
each frame "locals": {name: repr} too (_truth_locals.py).  A scenario that
watches event loops
(watch_loop(), through _truth_asyncio.start_loop()) also gets

   "tasks": [{"address": "0x...", "name": ..., "state": "pending",
              "coro": ..., "tid": ..., "running": false,
              "frames": [...], "awaits": ["0x...", ...]}]

recorded by _truth_asyncio.record() in the same snapshots as the threads,
by the rules of corpus/README.md ("asyncio truth").  Other parts of the
truth are added with record_also(key, fn) (_truth_greenlet.py: "greenlets"),
also from the same snapshots.

A volatile thread never blocks (a busy loop): its lines keep changing, so
the snapshots need only agree on its functions and files, and the line
recorded for it is just the last one seen.  The recorder leaves itself out
and then exits, so a tool dumping the process once /proc/PID/task has
len(threads) entries sees exactly the recorded threads, each still parked
where it was recorded.

If the scenario never reaches the expected state the recorder prints why on
stderr and ends the process with status 3.

Runs unchanged on Python 2.7 and 3.6+.
"""
from __future__ import print_function

import json
import os
import platform
import sys
import threading
import time

try:
    import _thread as _rawthread
except ImportError:  # Python 2
    import thread as _rawthread

PY2 = sys.version_info[0] == 2

# How long the recorder waits for the scenario to settle before giving up.
SETTLE_TIMEOUT = 30.0
# Time left for the threads that have signalled ready() to enter their
# blocking call before the first snapshot.
ENTER_DELAY = 0.3

_cond = threading.Condition(threading.Lock())
_ready_idents = set()
_native_ids = {}          # ident -> kernel thread id, recorded by the thread itself
_frameless = {}           # ident -> name, threads that run no Python code
_volatile = set()         # idents of threads that never block (busy loops)
_expect_gil = set()       # idents of threads declared to hold the GIL
_main_parked = threading.Event()
_loops = []               # [(event loop, tid of its thread or None)]: watch_loop()
_extras = []              # [(key, fn)]: record_also()
_locals_fn = [None]       # frame -> {name: repr}: record_locals()
_main_ident = [None]      # set by park_and_record()

# Syscall numbers of gettid(2), for Pythons without threading.get_native_id().
_GETTID = {'x86_64': 186, 'amd64': 186, 'i386': 224, 'i686': 224,
           'aarch64': 178, 'arm64': 178, 'riscv64': 178, 'armv7l': 224,
           'ppc64le': 207, 'ppc64': 207, 's390x': 236}


def get_ident():
    return _rawthread.get_ident()


def native_id():
    """Kernel thread id of the calling thread, or None if it cannot be had."""
    get = getattr(threading, 'get_native_id', None)
    if get is not None:
        return get()
    if not sys.platform.startswith('linux'):
        return None
    nr = _GETTID.get(platform.machine())
    if nr is None:
        return None
    try:
        import ctypes
        tid = ctypes.CDLL(None, use_errno=True).syscall(nr)
    except Exception:
        return None
    return tid if tid > 0 else None


def thread_name(text):
    """A thread name usable with threading.Thread on this Python.

    Python 2's Thread does str(name), which fails for non-ASCII unicode; there
    the name is stored as UTF-8 bytes, and the truth decodes it back.
    """
    if PY2 and isinstance(text, unicode):  # noqa: F821 (Python 2 only)
        return text.encode('utf-8')
    return text


def ready(volatile=False, expect_gil=False):
    """Called by a worker right before the call that blocks it forever.

    A worker that never blocks but spins in a pure-Python loop forever calls
    ready(volatile=True) right before the loop: its line keeps changing, so
    only its functions and files are recorded as the truth (the truth file
    says "volatile": true; its lines are not compared).  expect_gil=True
    declares that this thread holds the GIL whenever the process is dumped
    ("expect_gil": true): every other thread then must not.
    """
    ident = get_ident()
    tid = native_id()
    with _cond:
        _ready_idents.add(ident)
        _native_ids[ident] = tid
        if volatile:
            _volatile.add(ident)
        if expect_gil:
            _expect_gil.add(ident)
        if ident == _main_ident[0]:
            # The main thread, parked by park_and_record(..., park_signals=True).
            _main_parked.set()
        _cond.notify_all()


def frameless(ident, name=None):
    """Declare a thread that runs no Python code (a raw thread running a
    builtin), which sys._current_frames() does not list.  It is recorded
    with no frames, no native id and the given name."""
    with _cond:
        _frameless[ident] = name
        _cond.notify_all()


def watch_loop(loop, tid):
    """Record the tasks of this asyncio event loop in the truth ("tasks").

    Called by the thread that runs the loop (see _truth_asyncio.start_loop);
    tid is the kernel id of that thread where the truth is to name it, else
    None.  The thread calls ready() once its loop is idle, like any worker."""
    with _cond:
        _loops.append((loop, tid))
        _cond.notify_all()


def record_also(key, fn):
    """Add document[key] = fn(snapshot) to the truth file.

    The recorder calls fn with each snapshot it takes of the threads,
    {ident: ((co_name, co_filename, f_lineno), ...)} outermost first (the
    recorder left out), and takes snapshots until two agree on the threads
    and on what fn returned: JSON-able data, compared with ==.  fn raises
    an exception, with a message, if the process is in a state it cannot
    describe; the scenario then fails (status 3)."""
    with _cond:
        _extras.append((key, fn))
        _cond.notify_all()


def record_locals(fn):
    """Give every frame of the truth its arguments and locals, "locals":
    fn(frame), {name: repr} (_truth_locals.frame_locals, by the rules of
    corpus/README.md, "locals truth"), taken in the same snapshots as the
    threads, which must agree on them too."""
    with _cond:
        _locals_fn[0] = fn
        _cond.notify_all()


def skip(reason):
    """End a scenario that cannot run on this Python (exit status 77); the
    harness reports its cases as skipped, with the reason."""
    sys.stderr.write('skip: %s\n' % reason)
    sys.stderr.flush()
    os._exit(77)


def _text(value):
    if value is None:
        return None
    if PY2 and isinstance(value, str):
        try:
            return value.decode('utf-8')
        except UnicodeDecodeError:
            return value.decode('latin-1')
    return value


def _fail(message):
    sys.stderr.write('truth: %s\n' % message)
    sys.stderr.flush()
    os._exit(3)


def _frames_of(frame):
    chain = []
    while frame is not None:
        code = frame.f_code
        chain.append((_text(code.co_name), _text(code.co_filename), frame.f_lineno))
        frame = frame.f_back
    chain.reverse()
    return tuple(chain)


def _snapshot(recorder):
    """{ident: frames} of every thread but the recorder; frames are tuples."""
    frames = sys._current_frames()
    try:
        snap = {}
        for ident, frame in frames.items():
            if ident != recorder:
                snap[ident] = _frames_of(frame)
        return snap
    finally:
        del frames


def _locals_snapshot(recorder, fn):
    """{ident: ({name: repr} of each frame, outermost first)}, or None."""
    if fn is None:
        return None
    frames = sys._current_frames()
    try:
        out = {}
        for ident, frame in frames.items():
            if ident == recorder:
                continue
            chain = []
            while frame is not None:
                chain.append(tuple(sorted(fn(frame).items())))
                frame = frame.f_back
            chain.reverse()
            out[ident] = tuple(chain)
        return out
    finally:
        del frames


def _agreeing(snap, volatile):
    """What two snapshots must agree on: everything, but only the functions
    and files of volatile threads."""
    key = {}
    for ident, chain in snap.items():
        if ident in volatile:
            chain = tuple((f, p) for (f, p, _) in chain)
        key[ident] = chain
    return key


def _settled(recorder, main, expected):
    # Every thread that runs Python code, the main thread aside, signals
    # ready() right before it blocks; frameless threads are declared.
    if not _main_parked.is_set():
        return False, 'main thread not parked'
    running = set(_snapshot(recorder))
    with _cond:
        waiting = running - _ready_idents - set([main])
        declared = set(_frameless)
    if waiting:
        names = _names(recorder)
        return False, 'threads not ready: %s' % ', '.join(
            sorted('%s' % names.get(i, i) for i in waiting))
    count = len(running | declared)
    if count != expected:
        return False, 'expected %d threads, found %d' % (expected, count)
    return True, ''


def _names(recorder):
    names = {}
    for t in threading.enumerate():
        if t.ident is not None and t.ident != recorder:
            names[t.ident] = _text(t.name)
    return names


def _tasks(loops):
    """The "tasks" of the truth for the watched loops, or None if none."""
    if not loops:
        return None
    import _truth_asyncio  # Python 3 only; loops are watched only there
    try:
        return _truth_asyncio.record(loops)
    except _truth_asyncio.RecordError as e:
        _fail('tasks: %s' % e)


def _extra(extras, snap):
    """[(key, value)] of the record_also() functions for this snapshot."""
    out = []
    for key, fn in extras:
        try:
            out.append((key, fn(snap)))
        except Exception as e:
            _fail('%s: %s' % (key, e))
    return out


def _record(out_path, expected, main):
    recorder = get_ident()
    deadline = time.time() + SETTLE_TIMEOUT
    while True:
        ok, why = _settled(recorder, main, expected)
        if ok:
            break
        if time.time() > deadline:
            _fail('scenario did not settle in %ds: %s' % (SETTLE_TIMEOUT, why))
        time.sleep(0.02)

    time.sleep(ENTER_DELAY)
    with _cond:
        volatile = set(_volatile)
        loops = list(_loops)
        extras = list(_extras)
        locals_fn = _locals_fn[0]
    previous = None
    while True:
        snap = _snapshot(recorder)
        tasks = _tasks(loops)
        extra = _extra(extras, snap)
        local_vars = _locals_snapshot(recorder, locals_fn)
        key = (_agreeing(snap, volatile), tasks, extra, local_vars)
        if key == previous:
            break
        previous = key
        if time.time() > deadline:
            _fail('stacks did not settle in %ds' % SETTLE_TIMEOUT)
        time.sleep(0.2)

    with _cond:
        declared = dict(_frameless)
        tids = dict(_native_ids)
        expect_gil = set(_expect_gil)
    names = _names(recorder)
    by_thread = dict((t.ident, t) for t in threading.enumerate())
    threads = []
    idents = set(snap) | set(declared)
    if len(idents) != expected:
        _fail('expected %d threads, recorded %d' % (expected, len(idents)))
    for ident in sorted(idents):
        tid = tids.get(ident)
        if tid is None and ident == main:
            tid = os.getpid()
        if tid is None:
            tid = getattr(by_thread.get(ident), 'native_id', None)
        if ident in names:
            name = names[ident]
        else:
            name = _text(declared.get(ident))
        thread = {
            'ident': ident,
            'native_id': tid,
            'name': name,
            'frames': [{'function': f, 'file': p, 'line': l}
                       for (f, p, l) in snap.get(ident, ())],
        }
        if local_vars is not None:
            chain = local_vars.get(ident, ())
            if len(chain) != len(thread['frames']):
                _fail('thread %s: %d frames, locals of %d'
                      % (ident, len(thread['frames']), len(chain)))
            for frame, pairs in zip(thread['frames'], chain):
                frame['locals'] = dict(pairs)
        if ident in volatile:
            thread['volatile'] = True
        if ident in expect_gil:
            thread['expect_gil'] = True
        threads.append(thread)

    document = {
        'python': _text(sys.version),
        'python_version': platform.python_version(),
        'executable': _text(sys.executable),
        'pid': os.getpid(),
        'threads': threads,
    }
    if tasks is not None:
        document['tasks'] = tasks
    for key, value in extra:
        document[key] = value
    tmp = '%s.tmp.%d' % (out_path, os.getpid())
    with open(tmp, 'w') as out:
        json.dump(document, out, indent=1, sort_keys=True)
        out.write('\n')
    os.rename(tmp, out_path)


def _park_main():
    while True:
        time.sleep(3600)  # the main thread of every scenario parks here


def park_and_record(out_path, expected_threads, park=None, park_signals=False):
    """Record the truth to out_path (if not None) and park the main thread.

    expected_threads counts every thread to be recorded, the main thread
    included and the recorder excluded.  park, if given, is called instead of
    the default sleep loop; it must block forever.  With park_signals the
    main thread counts as parked only once it calls ready() itself, from
    inside park (a gevent hub that has run everything it had to run: the
    main thread goes on running Python code after park is called).  Never
    returns.
    """
    main = get_ident()
    with _cond:
        _native_ids[main] = native_id()
        _main_ident[0] = main
    if out_path:
        recorder = threading.Thread(target=_record, name='truth-recorder',
                                    args=(out_path, expected_threads, main))
        recorder.daemon = True
        recorder.start()
    if not park_signals:
        _main_parked.set()
    if park is None:
        _park_main()
    else:
        park()
    _fail('park function returned')


def start_thread(target, name=None, args=()):
    """Start a daemon threading.Thread running target(*args) and return it."""
    if name is not None:
        name = thread_name(name)
    thread = threading.Thread(target=target, name=name, args=args)
    thread.daemon = True
    thread.start()
    return thread


def out_path_from_argv():
    """The truth path given as the scenario's first argument, or None."""
    if len(sys.argv) > 1 and sys.argv[1]:
        return sys.argv[1]
    return None


def run_py3_scenario(module, min_version=(3, 6), what='asyncio'):
    """The main() of a scenario whose code needs Python 3 and lives in
    `module` (a scenarios/_*.py file with a start() that starts its threads
    and returns how many): skip on older Pythons, else start and record."""
    if sys.version_info < min_version:
        skip('%s needs Python %d.%d+' % ((what,) + tuple(min_version)))
    threads = __import__(module).start()
    park_and_record(out_path_from_argv(), 1 + threads)
