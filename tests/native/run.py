#!/usr/bin/env python3
"""Native frames (--native): C stacks merged with the Python frames.

Each scenario (threads_blocking, generators_methods, greenlet_raw,
greenlet_threads, gevent_pool) runs under each interpreter and is dumped
live and from a gcore core with native frames; the greenlet scenarios
where the interpreter has greenlet (gevent) and skip elsewhere
(--greenlet-root DIR, default $PCS_GREENLET_ROOT, else the root
tools/provision-greenlet.sh prints).
The interpreters, by default:

  pyenv 3.12        shared libpython with DWARF: file:line for its frames
  /usr/bin/python3.11
                    Debian's static, stripped executable; its DWARF comes
                    from python3.11-dbg (by build-id) when installed
  the same without DWARF
                    a copy of it without .gnu_debuglink and with another
                    build-id, so no debug file is found: symbols come only
                    from .dynsym, unwinding only from .eh_frame

A process gdb holds (threads_blocking, through the gdb commands, or
tests/native/dump --held from gdb's shell) has no native frames: its
registers are gdb's alone; the tool says so in one warning and the Python
frames are as ever.

For every other dump: exit status 0 and no warning; the Python frames of every
thread equal the scenario's own record exactly, in order (the corpus
comparison of tests/corpus/run.py); every thread's stack is unwound to
its outermost frame (_start, or clone for a thread), so the merged stack
begins with a native frame; every run of Python frames comes right after
an evaluation-loop frame (_PyEval_EvalFrameDefault; PyEval_EvalFrameEx on
2.7), and every evaluation-loop frame is followed by the Python frames it
runs, none left empty.  In threads_blocking:

  time.sleep      (the threads that sleep, and the main thread, parked in
                  truth.py) below the innermost Python frame: a clock_nanosleep,
                  nanosleep or select wait from libc, and where the
                  interpreter has symbols time_sleep, with its file:line
                  (timemodule.c) where it has DWARF
  Lock.acquire    (the lock waiters) a futex or semaphore wait, and where
                  the interpreter has symbols lock_PyThread_acquire_lock or
                  acquire_timed (which LTO may inline into it; 3.15:
                  _thread_lock_acquire)
  no symbols      (the copy without DWARF) the frames between the innermost
                  Python frame and libc are in the interpreter, and none has
                  a file:line (its DWARF really was out of reach)

In the greenlet scenarios, every suspended greenlet has native frames too,
complete (no note), with the structure above (each run of its Python frames,
which equal its own record, right after an evaluation-loop frame); its
innermost frame is in greenlet's _greenlet module (slp_switch where the
module has a symbol table: the -g builds, not Debian's) and called from
g_switchstack (exported: named in Debian's too), and its outermost
is greenlet's g_initialstub (a main greenlet's: _start or clone, like a
thread's). A thread running a greenlet other than its main one ends at
that greenlet's g_initialstub; a running greenlet's frames are its
thread's. Each dump's checks are also run on copies of it broken on
purpose (a Python frame moved among the native ones, the outermost
native frame dropped, two Python frames swapped): each must fail,
or the checks could not catch what they are for.

The tool is TOOL --native --format json when TOOL --help lists --native,
else tests/native/dump (the same pipeline, printing the same JSON).

usage: tests/native/run.py [--tool PATH] [--dump PATH] [--python PATH]...
                           [--scenario NAME]... [--debug-dir DIR]
                           [--greenlet-root DIR] [-k SUBSTRING] [-v]

Ends with "N passed, N failed"; exit status 0 all passed, 1 something
failed, 77 nothing could run.
"""

import argparse
import copy
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True      # no __pycache__ in the source tree
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), 'corpus'))
import run  # noqa: E402

NAME = 'native'
SCENARIOS = ('threads_blocking', 'generators_methods', 'greenlet_raw', 'greenlet_threads',
             'gevent_pool')
EVAL_LOOPS = ('_PyEval_EvalFrameDefault', 'PyEval_EvalFrameEx')
OUTERMOST = ('_start', 'clone', '__clone', 'clone3', '__clone3')
# Where a greenlet's C stack begins and ends (C++ symbols, mangled).
GREENLET_STUB = 'g_initialstub'
GREENLET_SWITCH = 'slp_switch'
GREENLET_SWITCHSTACK = 'g_switchstack'
SLEEP_WAITS = ('clock_nanosleep', '__clock_nanosleep', '__GI___clock_nanosleep',
               'nanosleep', '__nanosleep', 'select', '__select')
# acquire_timed (3.x) may be inlined into lock_PyThread_acquire_lock; 3.15
# acquires through _PyMutex_LockTimed.
LOCK_ACQUIRES = ('lock_PyThread_acquire_lock', 'acquire_timed', '_thread_lock_acquire',
                 '_thread_lock_acquire_impl')
LOCK_WAIT = re.compile(r'futex|sem_(clock|timed)?wait|lll_lock|pthread_cond')
# Threads of threads_blocking by what they block in.
SLEEPERS = ('sleeper', 'after-rename', 'MainThread')
LOCK_WAITERS = ('lock-waiter',)


def bare(symbol):
    """A symbol without its ELF version ("clock_nanosleep@GLIBC_2.2.5")."""
    return symbol.split('@')[0] if symbol else symbol


def base(symbol):
    """A symbol without a GCC clone suffix ("_PyEval_EvalFrameDefault.cold")."""
    return bare(symbol).split('.')[0] if symbol else symbol


# --- interpreters -----------------------------------------------------------

class Interpreter(object):
    def __init__(self, label, path):
        self.label = label
        self.path = path
        self.python = None            # run.Python, once probed


def elf_sections(path):
    out = subprocess.run(['readelf', '-S', '-W', path], stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL).stdout.decode()
    return set(re.findall(r'\]\s+(\.\S+)', out))


def build_id(path):
    out = subprocess.run(['readelf', '-n', path], stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL).stdout.decode()
    m = re.search(r'Build ID:\s*([0-9a-f]+)', out)
    return m.group(1) if m else None


# Where separate debug files are looked up by build-id (--debug-dir first).
DEBUG_DIRS = ['/usr/lib/debug']


def debug_file(path):
    """The separate debug file libdwfl finds for path by build-id, or None."""
    ident = build_id(path)
    for directory in DEBUG_DIRS if ident else ():
        candidate = '%s/.build-id/%s/%s.debug' % (directory, ident[:2], ident[2:])
        if os.path.exists(candidate):
            return candidate
    return None


def has_symtab(path):
    """Whether the module's static functions have names (.symtab, here or in
    its debug file)."""
    debug = debug_file(path)
    return '.symtab' in elf_sections(path) or bool(debug and '.symtab' in elf_sections(debug))


def has_dwarf(path):
    debug = debug_file(path)
    return '.debug_info' in elf_sections(path) or bool(debug and '.debug_info' in elf_sections(debug))


def without_dwarf(src, directory):
    """A copy of the executable src whose DWARF cannot be found: no
    .gnu_debuglink, and another build-id (its note rewritten in place, so
    the code and every address stay the same)."""
    os.makedirs(directory, exist_ok=True)
    dst = os.path.join(directory, os.path.basename(os.path.realpath(src)))
    shutil.copy2(os.path.realpath(src), dst)
    result = subprocess.run(['objcopy', '--remove-section=.gnu_debuglink', dst],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if result.returncode != 0:
        raise run.Skip('objcopy: %s' % result.stdout.decode().strip())
    with open(dst, 'r+b') as f:
        data = bytearray(f.read())
        shoff, = struct.unpack_from('<Q', data, 0x28)
        shentsize, shnum = struct.unpack_from('<HH', data, 0x3a)
        patched = False
        for i in range(shnum):
            sh = shoff + i * shentsize
            sh_type, = struct.unpack_from('<I', data, sh + 4)
            offset, size = struct.unpack_from('<QQ', data, sh + 0x18)
            if sh_type != 7:            # SHT_NOTE
                continue
            at = offset
            while at + 12 <= offset + size:
                namesz, descsz, kind = struct.unpack_from('<III', data, at)
                name_at = at + 12
                desc_at = name_at + ((namesz + 3) & ~3)
                if kind == 3 and data[name_at:name_at + namesz] == b'GNU\0':
                    for j in range(desc_at, desc_at + descsz):
                        data[j] ^= 0x5a
                    patched = True
                at = desc_at + ((descsz + 3) & ~3)
        if not patched:
            raise run.Skip('%s has no build-id to change' % src)
        f.seek(0)
        f.write(data)
    if has_dwarf(dst) or has_symtab(dst):
        raise run.CaseError('%s: the copy still finds its DWARF' % dst)
    return dst


def default_interpreters(workdir):
    found = []
    root = run.pyenv_root()
    if root:
        for path in sorted(os.listdir(os.path.join(root, 'versions'))):
            if path.startswith('3.12.'):
                found.append(Interpreter('pyenv-3.12', os.path.join(
                    root, 'versions', path, 'bin', 'python3.12')))
                break
    system = '/usr/bin/python3.11'
    if os.access(system, os.X_OK):
        found.append(Interpreter('debian-3.11', system))
        try:
            found.append(Interpreter('debian-3.11-nodwarf',
                                     without_dwarf(system, os.path.join(workdir, 'nodwarf'))))
        except run.Skip as e:
            print('skip: python without DWARF: %s' % e, file=sys.stderr)
    return found


# --- checks -----------------------------------------------------------------

def frame_label(frame):
    if frame.get('kind') == 'python':
        return 'py %s %s:%s' % (frame.get('function'), frame.get('file'), frame.get('line'))
    where = ' %s:%s' % (frame['file'], frame.get('line')) if frame.get('file') else ''
    return '%s (%s %s)%s' % (frame.get('symbol') or '??',
                             os.path.basename(frame.get('module') or '?'),
                             frame.get('pc'), where)


def dump_stack(frames):
    return run.indent('\n'.join(frame_label(f) for f in frames), '        ')


def innermost_native(frames):
    """The native frames below the innermost Python frame, outermost first."""
    last = max([i for i, f in enumerate(frames) if f.get('kind') == 'python'] or [-1])
    return frames[last + 1:]


def interpreter_module(doc):
    for thread in doc.get('threads') or []:
        for frame in thread.get('frames') or []:
            if frame.get('kind') == 'native' and base(frame.get('symbol')) in EVAL_LOOPS:
                return frame.get('module')
    return None


def is_stub(frame):
    """greenlet's g_initialstub (any C++ mangling of it)."""
    return frame.get('kind') == 'native' and GREENLET_STUB in (frame.get('symbol') or '')


def structure_errors(label, frames, stub=False):
    """Where the Python frames sit among the native ones. @p stub: the stack
    is a greenlet's (other than a main one), which begins in g_initialstub."""
    errors = []
    if not frames:
        return ['%s: no frames' % label]
    kinds = [f.get('kind') for f in frames]
    if any(k not in ('python', 'native') for k in kinds):
        errors.append('%s: frame kinds %s' % (label, sorted(set(kinds))))
    # A libc without symbols (no libc6-dbg) names no clone3.
    first = frames[0]
    if stub and not is_stub(first):
        errors.append('%s: the outermost frame is %s, not greenlet\'s %s (unwound partly)'
                      % (label, frame_label(first), GREENLET_STUB))
    elif not stub and (first.get('kind') != 'native' or (
            first.get('symbol') and bare(first.get('symbol')) not in OUTERMOST)):
        errors.append('%s: the outermost frame is %s, not one of %s (unwound partly)'
                      % (label, frame_label(first), ', '.join(OUTERMOST)))
    evals = 0
    for i, f in enumerate(frames):
        is_eval = f.get('kind') == 'native' and base(f.get('symbol')) in EVAL_LOOPS
        evals += is_eval
        starts_run = f.get('kind') == 'python' and (i == 0 or frames[i - 1].get('kind') != 'python')
        if starts_run and (i == 0 or base(frames[i - 1].get('symbol')) not in EVAL_LOOPS):
            errors.append('%s: Python frames from [%d] %s follow %s, not an '
                          'evaluation-loop frame' % (label, i, frame_label(f),
                                                     frame_label(frames[i - 1]) if i else
                                                     'nothing'))
        if is_eval and (i + 1 == len(frames) or frames[i + 1].get('kind') != 'python'):
            errors.append('%s: evaluation-loop frame [%d] %s runs no Python frame'
                          % (label, i, frame_label(f)))
    if not evals and 'python' in kinds:
        errors.append('%s: no evaluation-loop frame' % label)
    return errors


def blocking_errors(label, frames, kind, module, symbols, dwarf):
    """The C frames under time.sleep / Lock.acquire."""
    inner = innermost_native(frames)
    names = [bare(f.get('symbol')) for f in inner]
    errors = []
    # The wait is libc's: its static functions have names only with its
    # symbol table (libc6-dbg).
    libc_named = bool(inner) and (inner[-1].get('symbol') or
                                  'libc' not in os.path.basename(f_module(inner[-1]) or ''))
    if kind == 'sleep':
        if libc_named and not any(n in SLEEP_WAITS for n in names):
            errors.append('%s: no sleep wait (%s) under time.sleep'
                          % (label, ', '.join(SLEEP_WAITS)))
        wanted = ['time_sleep'] if symbols else []
    else:
        if libc_named and not any(n and LOCK_WAIT.search(n) for n in names):
            errors.append('%s: no futex or semaphore wait under Lock.acquire' % label)
        if symbols and not any(base(n) in LOCK_ACQUIRES for n in names):
            errors.append('%s: none of %s under the innermost Python frame'
                          % (label, ', '.join(LOCK_ACQUIRES)))
        wanted = []
    for name in wanted:
        matches = [f for f in inner if base(f.get('symbol')) == name]
        if not matches:
            errors.append('%s: no %s frame under the innermost Python frame' % (label, name))
        # time_sleep is in the time extension module where that is not built in.
        elif dwarf and has_dwarf(f_module(matches[0])) and name == 'time_sleep' and not (
                (matches[0].get('file') or '').endswith('timemodule.c') and
                isinstance(matches[0].get('line'), int) and matches[0]['line'] > 0):
            errors.append('%s: time_sleep has no file:line in timemodule.c: %s'
                          % (label, frame_label(matches[0])))
    if not symbols:
        ours = [f for f in inner if f_module(f) == module]
        if not ours:
            errors.append('%s: no frame of the interpreter under the innermost '
                          'Python frame' % label)
    return errors


def f_module(frame):
    return frame.get('module')


def greenlet_tids(truth, doc):
    """The threads running a greenlet other than their main one (by the
    tool's tid: truths before 3.8 have none; run.compare() checks it where
    they do)."""
    running = set(g['address'] for g in truth.get('greenlets') or ()
                  if g['state'] == 'running' and not g['is_main'])
    return set(g.get('tid') for g in doc.get('greenlets') or ()
               if g.get('address') in running and g.get('tid'))


def greenlet_errors(doc, truth):
    """Every suspended greenlet's native frames; a running one's are its
    thread's."""
    errors = []
    got = dict((g.get('address'), g) for g in doc.get('greenlets') or ())
    threads = dict((t.get('tid'), t) for t in doc.get('threads') or ())
    symtabs = {}
    for want in truth.get('greenlets') or ():
        g = got.get(want['address'])
        if g is None or want['state'] not in ('suspended', 'running'):
            continue                # run.compare() says so; no stack
        label = 'greenlet %s' % run.greenlet_label(want)
        frames = g.get('frames') or []
        if want['state'] == 'running':
            thread = threads.get(g.get('tid'))
            if thread is not None and frames != thread.get('frames'):
                errors.append('%s: its frames are not its thread\'s' % label)
            continue
        problems = []
        if g.get('truncated'):
            problems.append('%s: %s' % (label, g['truncated']))
        natives = [f for f in frames if f.get('kind') == 'native']
        if not natives:
            problems.append('%s: no native frames' % label)
        else:
            problems += structure_errors(label, frames, stub=not want['is_main'])
            last = frames[-1]
            module = last.get('module') or ''
            if last.get('kind') != 'native' or \
                    not os.path.basename(module).startswith('_greenlet'):
                problems.append('%s: the innermost frame is %s, not in greenlet\'s '
                                '_greenlet module' % (label, frame_label(last)))
            else:
                if module not in symtabs:
                    symtabs[module] = has_symtab(module)
                if symtabs[module] and bare(last.get('symbol')) != GREENLET_SWITCH:
                    problems.append('%s: the innermost frame is %s, not %s'
                                    % (label, frame_label(last), GREENLET_SWITCH))
                # Exported, so named even in a stripped module.
                caller = frames[-2] if len(frames) > 1 else {}
                if GREENLET_SWITCHSTACK not in (caller.get('symbol') or '') or \
                        GREENLET_SWITCHSTACK in (last.get('symbol') or ''):
                    problems.append('%s: the innermost frame\'s caller is %s, not %s'
                                    % (label, frame_label(caller), GREENLET_SWITCHSTACK))
        if problems:
            errors += problems + ['    stack:', dump_stack(frames)]
    return errors


def native_errors(doc, truth, scenario, interp):
    errors = []
    module = interpreter_module(doc)
    if not module:
        return ['no evaluation-loop frame in any thread']
    symbols = has_symtab(module)
    dwarf = has_dwarf(module)
    by_ident = dict((t['ident'], t) for t in truth['threads'])
    in_greenlet = greenlet_tids(truth, doc)
    for thread in doc.get('threads') or []:
        want = by_ident.get(thread.get('ident'))
        if want is None:
            continue                # run.compare() says so
        label = 'thread %s' % run.thread_label(want)
        frames = thread.get('frames') or []
        problems = structure_errors(label, frames, stub=thread.get('tid') in in_greenlet)
        if scenario == 'threads_blocking':
            name = want['name'] or ''
            if name in SLEEPERS:
                problems += blocking_errors(label, frames, 'sleep', module, symbols,
                                            dwarf)
            elif name in LOCK_WAITERS or (name.startswith('Thread-') and 'lock_waiter' in name):
                problems += blocking_errors(label, frames, 'lock', module, symbols,
                                            dwarf)
        if not dwarf:
            with_lines = [f for f in frames if f.get('kind') == 'native' and
                          f_module(f) == module and f.get('file')]
            if with_lines:
                problems.append('%s: %s has a file:line without DWARF'
                                % (label, frame_label(with_lines[0])))
        if problems:
            errors += problems + ['    stack:', dump_stack(frames)]
    return errors + greenlet_errors(doc, truth)


def all_errors(doc, truth, kind, scenario, interp):
    return run.compare(truth, doc, kind) + native_errors(doc, truth, scenario, interp)


def broken_copies(doc):
    """Copies of a good dump, each broken in one way the checks are there
    to catch: (what was done, the copy)."""
    def stacks(d):
        """Merged stacks: suspended greenlets' last (broken where there are)."""
        units = (d.get('threads') or []) + [
            g for g in d.get('greenlets') or () if g.get('state') == 'suspended']
        return [u['frames'] for u in units
                if any(f.get('kind') == 'native' for f in u.get('frames') or ())
                and any(f.get('kind') == 'python' for f in u.get('frames') or ())]

    def broken(what, change):
        d = copy.deepcopy(doc)
        change(stacks(d)[-1])
        return what, d

    def move_run(frames):
        # The innermost Python frame, moved below the native frame after it.
        i = max(i for i, f in enumerate(frames) if f.get('kind') == 'python')
        if i + 1 < len(frames):
            frames[i], frames[i + 1] = frames[i + 1], frames[i]
        else:
            frames.insert(i - 1, frames.pop(i))

    def drop_outermost(frames):
        del frames[0]

    def swap_python(frames):
        i = [i for i, f in enumerate(frames) if f.get('kind') == 'python']
        if len(i) >= 2:
            frames[i[0]], frames[i[-1]] = frames[i[-1]], frames[i[0]]
        else:
            frames[i[0]] = dict(frames[i[0]], function='not_' + frames[i[0]]['function'])

    if not stacks(doc):
        return []
    return [broken('a Python frame moved among the native ones', move_run),
            broken('the outermost native frame dropped', drop_outermost),
            broken('two Python frames swapped', swap_python)]


# --- running ----------------------------------------------------------------

def tool_argv(options, args):
    debug = ['--debug-dir', options.debug_dir] if options.debug_dir else []
    if options.native_tool:
        return [options.tool, '--native', '--format', 'json'] + debug + args
    return [options.dump] + debug + args


def check_dump(options, interp, scenario, target, kind, args):
    argv = tool_argv(options, args)
    result = run.run_command(argv, run.TOOL_TIMEOUT)
    head = '$ %s: %s' % (run.quote(argv), result.describe())
    if result.timed_out or result.returncode != 0:
        raise run.CaseError('%s\n%s' % (head, run.indent(result.stderr_text())))
    try:
        doc = json.loads(result.stdout.decode('utf-8'))
    except ValueError as e:
        raise run.CaseError('%s\noutput is not JSON: %s' % (head, e))
    errors = all_errors(doc, target.truth, kind, scenario, interp)
    if doc.get('warnings'):
        errors.append('warnings:\n%s' % run.indent('\n'.join(doc['warnings'])))
    if errors:
        raise run.CaseError('\n'.join([head] + errors))
    # The checks must see what they are there for.
    for what, broken in broken_copies(doc):
        if not all_errors(broken, target.truth, kind, scenario, interp):
            raise run.CaseError('%s\nthe checks pass a dump with %s' % (head, what))
    return '%s (%.2fs)' % (head, result.seconds)


GDB = ['gdb', '-nx', '-batch', '-iex', 'set auto-load python-scripts off',
       '-iex', 'set pagination off', '-iex', 'set confirm off']
GDB_SCRIPT_IN = os.path.join(run.REPO, 'gdb-scripts', 'pycore-stacks.gdb.in')


def check_held(options, target, workdir):
    """A process gdb holds: its registers cannot be read from outside gdb, so
    no native frames and one warning that says why; the Python frames as
    ever."""
    if options.native_tool:
        # The gdb commands, running the tool under test.
        script = os.path.join(workdir, 'pycore-stacks.gdb')
        with open(GDB_SCRIPT_IN) as f:
            text = f.read().replace('@PCS_PROGRAM@', options.tool)
        with open(script, 'w') as f:
            f.write(text.replace('@pkgdatadir@', workdir))
        command = ['-ex', 'source ' + script, '-ex', 'py-all-stacks --native --format json']
    else:
        command = ['-ex', 'shell %s --held %d' % (options.dump, target.pid)]
    argv = GDB + ['-p', str(target.pid)] + command
    result = run.run_command(argv, run.TOOL_TIMEOUT)
    head = '$ %s: %s' % (run.quote(argv), result.describe())
    text = result.stdout.decode('utf-8', 'replace')
    start = text.find('{')
    try:
        doc, _ = json.JSONDecoder().raw_decode(text[start:]) if start >= 0 else (None, 0)
    except ValueError as e:
        doc = None
        head += ': %s' % e
    if not isinstance(doc, dict):
        raise run.CaseError('%s\nno JSON in gdb output:\n%s' % (head, run.indent(text[-2000:])))
    errors = run.compare(target.truth, doc, 'process')
    warnings = doc.get('warnings') or []
    if len(warnings) != 1 or 'debugger' not in warnings[0]:
        errors.append('warnings %r, want one saying a debugger holds the process' % warnings)
    for thread in doc.get('threads') or []:
        natives = [f for f in thread.get('frames') or [] if f.get('kind') != 'python']
        if natives:
            errors.append('thread %s: native frames %s' % (
                thread.get('ident'), ', '.join(frame_label(f) for f in natives[:3])))
    if errors:
        raise run.CaseError('\n'.join([head] + errors))
    return head


def run_unit(options, reporter, interp, scenario):
    modes = [m for m in ('live', 'core') + (('held',) if scenario == SCENARIOS[0] else ())
             if not options.k or any(k in '%s %s %s %s' % (NAME, interp.label, scenario, m)
                                     for k in options.k)]
    if not modes:
        return
    workdir = tempfile.mkdtemp(prefix='pcs-native-')
    try:
        try:
            with run.Target(interp.python, scenario, workdir,
                            greenlet_root=options.greenlet_root) as target:
                run.check_truth(target)
                for mode in modes:
                    name = '%s %s %s %s' % (NAME, interp.label, scenario, mode)
                    try:
                        if mode == 'live':
                            before = target.tasks()
                            try:
                                detail = check_dump(options, interp, scenario, target,
                                                    'process', ['--pid', str(target.pid)])
                            finally:
                                target.check_unharmed(before)
                        elif mode == 'held':
                            if not options.gdb:
                                raise run.Skip('gdb not found (apt-get install gdb)')
                            detail = check_held(options, target, workdir)
                        else:
                            if not options.gcore:
                                raise run.Skip('gcore not found (apt-get install gdb)')
                            core = run.gcore(target.pid, workdir)
                            detail = check_dump(options, interp, scenario, target,
                                                'core', [core])
                        reporter.report(run.Result(name, 'ok', detail))
                    except run.Skip as e:
                        reporter.report(run.Result(name, 'skip', str(e)))
                    except run.CaseError as e:
                        reporter.report(run.Result(name, 'FAIL', str(e)))
        except run.Skip as e:
            for mode in modes:
                reporter.report(run.Result('%s %s %s %s' % (NAME, interp.label, scenario, mode),
                                           'skip', str(e)))
        except run.CaseError as e:
            for mode in modes:
                reporter.report(run.Result('%s %s %s %s' % (NAME, interp.label, scenario, mode),
                                           'FAIL', str(e)))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--tool', default=run.default_tool(),
                        help='pycore-stacks (used when its --help lists --native)')
    parser.add_argument('--dump', default=os.path.join(HERE, 'dump'),
                        help='tests/native/dump, used otherwise')
    parser.add_argument('--python', action='append', default=[],
                        help='interpreter to test (repeatable; default: pyenv 3.12, '
                        '/usr/bin/python3.11 and a copy of it without DWARF)')
    parser.add_argument('--scenario', action='append', default=[])
    parser.add_argument('--debug-dir', metavar='DIR',
                        help='passed to the tool: separate debug info in DIR first')
    parser.add_argument('--greenlet-root', metavar='DIR',
                        default=os.environ.get('PCS_GREENLET_ROOT'),
                        help='greenlet builds for the pyenv Pythons (default: '
                        '$PCS_GREENLET_ROOT, else what tools/provision-greenlet.sh '
                        'prints)')
    parser.add_argument('-k', action='append', default=[],
                        help='only cases whose name contains this (repeatable)')
    parser.add_argument('-v', '--verbose', action='store_true')
    return parser.parse_args(argv)


def provisioned_greenlet_root():
    """What tools/provision-greenlet.sh prints as greenlet-root, or None (the
    greenlet scenarios then skip on the pyenv Pythons)."""
    script = os.path.join(run.REPO, 'tools', 'provision-greenlet.sh')
    try:
        out = subprocess.run([script], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                             timeout=1800).stdout.decode()
    except (OSError, subprocess.TimeoutExpired) as e:
        print('skip: greenlet for the pyenv Pythons: %s' % e, file=sys.stderr)
        return None
    for line in out.splitlines():
        words = line.split()
        if len(words) == 2 and words[0] == 'greenlet-root':
            return words[1]
    return None


def supports_native(tool):
    if not os.access(tool, os.X_OK):
        return False
    result = run.run_command([tool, '--help'], run.TOOL_TIMEOUT)
    return b'--native' in result.stdout


def main(argv=None):
    options = parse_args(sys.argv[1:] if argv is None else argv)
    options.tool = os.path.abspath(options.tool)
    options.native_tool = supports_native(options.tool)
    if not options.native_tool and not os.access(options.dump, os.X_OK):
        print('skip: neither %s --native nor %s (make tests/native/dump)'
              % (options.tool, options.dump), file=sys.stderr)
        return run.SKIP
    options.gcore = shutil.which('gcore')
    options.gdb = shutil.which('gdb')
    if not options.greenlet_root:
        options.greenlet_root = provisioned_greenlet_root()
    if options.debug_dir:
        DEBUG_DIRS.insert(0, options.debug_dir)
    scratch = tempfile.mkdtemp(prefix='pcs-native-pythons-')
    try:
        if options.python:
            interps = [Interpreter(None, p) for p in options.python]
        else:
            interps = default_interpreters(scratch)
        usable = []
        for interp in interps:
            try:
                interp.python = run.probe_python(interp.path)
            except run.Skip as e:
                print('skip: python %s' % e, file=sys.stderr)
                continue
            usable.append(interp)
        labels = [i.python.label for i in usable]
        for interp in usable:
            if not interp.label:
                interp.label = (interp.python.label if labels.count(interp.python.label) == 1
                                else interp.path)
        if not usable:
            print('skip: no interpreters', file=sys.stderr)
            return run.SKIP
        reporter = run.Reporter(options.verbose)
        print('# %s' % (('%s --native' % options.tool) if options.native_tool
                        else options.dump))
        for interp in usable:
            for scenario in options.scenario or SCENARIOS:
                run_unit(options, reporter, interp, scenario)
        print(reporter.summary())
        return 1 if reporter.counts['FAIL'] else 0
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == '__main__':
    sys.exit(main())
