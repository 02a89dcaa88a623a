#!/usr/bin/env python3
"""Corpus tests: every scenario under every Python, dumped from outside.

For each python x scenario the scenario program (corpus/scenarios/NAME.py)
is started; it records its own stacks (corpus/truth.py) and parks.  Once the
truth file exists and /proc/PID/task has exactly the recorded threads, the
process is dumped

  core      gcore -o DIR/core PID; TOOL --format json DIR/core.PID
  core+exe  the same core with the executable given explicitly
            (one scenario per python)
  live      TOOL --format json --pid PID

and the tool's JSON must match the truth exactly: the same thread idents,
and per thread the same name, kernel tid (where the truth knows it) and
Python frames (function, file, line).  A thread the truth marks "volatile"
(a busy loop) must have the same number of frames with the same function
and file, at any line.  If a thread of the truth says "expect_gil", that
thread must report holds_gil true and every other thread false (null, i.e.
unknown, fails).  Where the truth has "tasks" (asyncio scenarios), the
tool's tasks must be the same set of addresses, and per task have the same
name, state, coro, running, tid (where the truth knows it), frames
(function, file, line) and awaits (as a set).  Where the truth has
"greenlets" (greenlet and gevent scenarios), the tool's greenlets must be
the same set of addresses, and per greenlet have the same type, name,
state, is_main, parent, tid (where the truth knows it) and frames (function,
file, line); elsewhere the tool must list no greenlet.  A scenario that
cannot run on an interpreter exits with status 77 (truth.skip()): its cases
are skipped.  One line per case, then a summary.

usage: tests/corpus/run.py [--tool PATH] [--python PATH]... [--scenario NAME]...
                           [--mode live|core|both] [-k SUBSTRING] [-j N] [-v]
                           [--truth-only] [--bad-input] [--layout-source S]...
                           [--greenlet-root DIR]

Exit status: 0 all passed, 1 something failed, 77 nothing could run (no tool,
no interpreters), with the reason on stderr.
"""

import argparse
import concurrent.futures
import glob
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
CORPUS = os.path.join(REPO, 'corpus')
SCENARIO_DIR = os.path.join(CORPUS, 'scenarios')
TRUTH_PY = os.path.join(CORPUS, 'truth.py')

TOOL_TIMEOUT = 60
GCORE_TIMEOUT = 120
TRUTH_TIMEOUT = 60
TASKS_TIMEOUT = 15
FORMAT = 'pycore-stacks/1'
SKIP = 77


# --- small helpers ----------------------------------------------------------

class CaseError(Exception):
    """A case failed; the message (possibly several lines) says why."""


class Skip(Exception):
    """A case cannot run here; the message says why."""


class Completed(object):
    def __init__(self, argv, returncode, stdout, stderr, timed_out, seconds):
        self.argv = argv
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr
        self.timed_out = timed_out
        self.seconds = seconds

    def describe(self):
        if self.timed_out:
            return 'timed out after %ds' % self.seconds
        if self.returncode < 0:
            return 'killed by signal %d' % -self.returncode
        return 'exit status %d' % self.returncode

    def stderr_text(self):
        return self.stderr.decode('utf-8', 'replace')


def run_command(argv, timeout, env=None):
    """Run argv in its own process group; kill the group on timeout."""
    start = time.time()
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True, env=env)
    try:
        out, err = proc.communicate(timeout=timeout)
        timed_out = False
    except subprocess.TimeoutExpired:
        kill_group(proc)
        out, err = proc.communicate()
        timed_out = True
    return Completed(argv, proc.returncode, out, err, timed_out,
                     time.time() - start)


def kill_group(proc):
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def quote(argv):
    return ' '.join(a if re.match(r'^[\w@%+=:,./-]+$', a) else repr(a)
                    for a in argv)


def indent(text, prefix='    '):
    return '\n'.join(prefix + line for line in text.splitlines())


def python_env(greenlet_root=None):
    """The environment for scenario programs: no PYTHON* variables, and
    PCS_GREENLET_ROOT (corpus/_truth_greenlet.py) if given."""
    env = dict((k, v) for k, v in os.environ.items()
               if not k.startswith('PYTHON') and k != 'PCS_GREENLET_ROOT')
    if greenlet_root:
        env['PCS_GREENLET_ROOT'] = os.path.abspath(greenlet_root)
    return env


# --- interpreters and scenarios ---------------------------------------------

class Python(object):
    def __init__(self, path, version):
        self.path = path
        self.version = version                      # e.g. "3.12.1"
        self.label = '.'.join(version.split('.')[:2])

    def __repr__(self):
        return '<Python %s %s>' % (self.label, self.path)


def pyenv_root():
    try:
        out = subprocess.run(['pyenv', 'root'], stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return os.environ.get('PYENV_ROOT')
    root = out.stdout.decode().strip()
    return root if out.returncode == 0 and root else None


def default_pythons():
    """Every pyenv python3.N (3.6-3.13 on the reference machines)."""
    root = pyenv_root()
    if not root:
        return []
    found = []
    for path in glob.glob(os.path.join(root, 'versions', '3.*', 'bin', 'python3.?*')):
        if re.search(r'/python3\.\d+$', path) and os.access(path, os.X_OK):
            found.append(path)
    return found


def probe_python(path):
    try:
        out = subprocess.run([path, '-E', '-s', '-c',
                              'import platform; print(platform.python_version())'],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             timeout=30, env=python_env())
    except (OSError, subprocess.TimeoutExpired) as e:
        raise Skip('%s: %s' % (path, e))
    if out.returncode != 0:
        raise Skip('%s: exit status %d' % (path, out.returncode))
    return Python(path, out.stdout.decode().strip())


def version_tuple(text):
    """(3, 12) of "3.12.1"."""
    return tuple(int(x) for x in re.findall(r'\d+', text)[:2])


def version_key(python):
    return tuple(int(x) if x.isdigit() else 0
                 for x in re.split(r'[.+a-z]+', python.version) if x)


def all_scenarios():
    names = []
    for path in sorted(glob.glob(os.path.join(SCENARIO_DIR, '*.py'))):
        name = os.path.basename(path)[:-3]
        if not name.startswith('_'):
            names.append(name)
    return names


def scenario_path(name):
    if name == 'demo':
        return os.path.join(CORPUS, 'demo.py')
    return os.path.join(SCENARIO_DIR, name + '.py')


def park_line():
    """(file, line) where truth.py parks every scenario's main thread."""
    with open(TRUTH_PY) as f:
        for number, line in enumerate(f, 1):
            if line.strip().startswith('time.sleep(3600)  # the main thread'):
                return TRUTH_PY, number
    raise RuntimeError('%s: no parking line' % TRUTH_PY)


# --- a running scenario -----------------------------------------------------

class Target(object):
    """A scenario process, started, settled, and killed on exit."""

    def __init__(self, python, scenario, workdir, verbose=False, greenlet_root=None):
        self.python = python
        self.scenario = scenario
        self.script = scenario_path(scenario)
        self.workdir = workdir
        self.greenlet_root = greenlet_root
        self.truth_path = os.path.join(workdir, 'truth.json')
        self.log_path = os.path.join(workdir, 'scenario.log')
        self.proc = None
        self.truth = None
        self.verbose = verbose

    def __enter__(self):
        argv = [self.python.path, '-E', '-B', '-s', self.script, self.truth_path]
        with open(self.log_path, 'wb') as log:
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                         stdout=log, stderr=log,
                                         cwd=self.workdir,
                                         env=python_env(self.greenlet_root),
                                         start_new_session=True,
                                         preexec_fn=allow_core_dumps)
        try:
            self._wait_truth()
            self._wait_tasks()
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc):
        if self.proc is not None:
            kill_group(self.proc)
            self.proc.wait()
        return False

    @property
    def pid(self):
        return self.proc.pid

    def log(self):
        try:
            with open(self.log_path, 'rb') as f:
                return f.read().decode('utf-8', 'replace').strip()
        except OSError:
            return ''

    def _died(self, what):
        message = '%s: scenario %s (exit status %s)' % (
            self.scenario, what, self.proc.returncode)
        log = self.log()
        if log:
            message += '\n' + indent(log)
        return CaseError(message)

    def _wait_truth(self):
        deadline = time.time() + TRUTH_TIMEOUT
        while not os.path.exists(self.truth_path):
            if self.proc.poll() == SKIP:
                lines = self.log().splitlines() or ['skip: (no reason given)']
                raise Skip(lines[-1].split('skip: ', 1)[-1])
            if self.proc.poll() is not None:
                raise self._died('exited before recording its truth')
            if time.time() > deadline:
                raise self._died('recorded no truth in %ds' % TRUTH_TIMEOUT)
            time.sleep(0.05)
        with open(self.truth_path, encoding='utf-8') as f:
            self.truth = json.load(f)

    def tasks(self):
        try:
            return sorted(int(t) for t in os.listdir('/proc/%d/task' % self.pid))
        except OSError:
            return None

    def _wait_tasks(self):
        want = len(self.truth['threads'])
        deadline = time.time() + TASKS_TIMEOUT
        while True:
            tasks = self.tasks()
            if tasks is None or self.proc.poll() is not None:
                raise self._died('exited after recording its truth')
            if len(tasks) == want:
                return
            if time.time() > deadline:
                raise CaseError('%s: /proc/%d/task has %d threads, truth has %d'
                                % (self.scenario, self.pid, len(tasks), want))
            time.sleep(0.02)

    def check_unharmed(self, tasks_before):
        """After a live dump: alive, same threads, none left stopped."""
        if self.proc.poll() is not None:
            raise self._died('died during the live dump')
        deadline = time.time() + 2
        while True:
            stopped = []
            for tid in self.tasks() or []:
                try:
                    with open('/proc/%d/task/%d/stat' % (self.pid, tid)) as f:
                        state = f.read().rsplit(')', 1)[1].split()[0]
                except (OSError, IndexError):
                    continue
                if state in ('T', 't'):
                    stopped.append(tid)
            if not stopped:
                break
            if time.time() > deadline:
                raise CaseError('target left stopped after the live dump: tids %s'
                                % ' '.join(map(str, stopped)))
            time.sleep(0.05)
        if self.tasks() != tasks_before:
            raise CaseError('target threads changed during the live dump: %s -> %s'
                            % (tasks_before, self.tasks()))


# --- checking the truth itself ----------------------------------------------

def by_name(truth):
    return dict((t['name'], t) for t in truth['threads'])


def expect_deep_recursion(truth):
    errors = []
    threads = by_name(truth)
    for depth in (1, 10, 100, 900):
        t = threads.get('depth-%d' % depth)
        got = t and sum(1 for f in t['frames'] if f['function'] == 'descend')
        if got != depth:
            errors.append('thread depth-%d has %s descend frames' % (depth, got))
    main = threads.get('MainThread')
    got = main and sum(1 for f in main['frames'] if f['function'] == 'main_descend')
    if got != 200:
        errors.append('MainThread has %s main_descend frames, want 200' % got)
    return errors


def expect_unicode_names(truth):
    want = {u'caf\u00e9-thread', u'w\u00f6rker-\u03c0', u'\u7ebf\u7a0b-\u03bb',
            u'\U0001f40d-snake \U0001f680', u''}
    missing = want - set(by_name(truth))
    return ['no thread named %r' % n for n in sorted(missing)]


def expect_unnamed_threads(truth):
    unnamed = [t for t in truth['threads'] if t['name'] is None]
    errors = []
    if sorted(len(t['frames']) for t in unnamed) != [0, 1]:
        errors.append('want two unnamed threads with 0 and 1 frames, got %s'
                      % [len(t['frames']) for t in unnamed])
    if not any((t['name'] or '').startswith('Dummy-') for t in truth['threads']):
        errors.append('no Dummy-N thread')
    return errors


def expect_gil_holder(truth):
    errors = []
    threads = by_name(truth)
    spinner = threads.get('spinner')
    if spinner is None:
        return ['no thread named spinner']
    # Python 2 releases the GIL every check interval: no holder is a right
    # answer there, so the spinner is not declared expect_gil (the scenario
    # says why).
    py2 = truth.get('python_version', '').startswith('2.')
    if not (spinner.get('volatile') and (spinner.get('expect_gil') or py2)):
        errors.append('spinner is not declared volatile and expect_gil')
    functions = [f['function'] for f in spinner['frames']]
    if functions[-2:] != ['run_hot', 'spin']:
        errors.append('spinner frames %s do not end in run_hot, spin' % functions)
    others = [t['name'] for t in truth['threads']
              if t is not spinner and (t.get('volatile') or t.get('expect_gil'))]
    if others:
        errors.append('threads besides spinner declared volatile or expect_gil: %s'
                      % others)
    return errors


def expect_generators_methods(truth):
    want = {'generator-chain': ['outer_gen', 'middle_gen', 'inner_gen'],
            'method-chain': ['through_classmethod', 'through_staticmethod',
                             'nested', '<lambda>']}
    errors = []
    threads = by_name(truth)
    for name, functions in want.items():
        got = [f['function'] for f in threads.get(name, {}).get('frames', [])]
        if not all(fn in got for fn in functions):
            errors.append('thread %s: frames %s lack %s' % (name, got, functions))
    return errors


TASK_KEYS = ('address', 'name', 'state', 'coro', 'tid', 'running', 'frames', 'awaits')


def expect_tasks_sane(truth, thread_tids):
    """What every asyncio truth must satisfy, whatever the scenario."""
    errors = []
    tasks = truth['tasks']
    named = version_tuple(truth['python_version']) >= (3, 8)
    addresses = [t.get('address') for t in tasks]
    if not tasks:
        errors.append('no tasks')
    if len(set(addresses)) != len(addresses):
        errors.append('duplicate task addresses')
    for t in tasks:
        label = 'task %s' % t.get('address')
        if sorted(t) != sorted(TASK_KEYS):
            errors.append('%s: keys %s, want %s' % (label, sorted(t), sorted(TASK_KEYS)))
            continue
        if not re.match(r'^0x[0-9a-f]+$', t['address']):
            errors.append('%s: bad address' % label)
        if t['state'] != 'pending' or t['running'] is not False:
            errors.append('%s: state %r, running %r' % (label, t['state'], t['running']))
        if named != (t['name'] is not None) or named != (t['tid'] is not None):
            errors.append('%s: name %r, tid %r on %s'
                          % (label, t['name'], t['tid'], truth['python_version']))
        if t['tid'] is not None and t['tid'] not in thread_tids:
            errors.append('%s: tid %s is no thread of the truth' % (label, t['tid']))
        if not t['frames'] or t['frames'][0]['function'] != t['coro'].split('.')[-1]:
            errors.append('%s: coro %s, frames %s' % (label, t['coro'], t['frames']))
        if any(not isinstance(f.get('line'), int) or f['line'] < 1 for f in t['frames']):
            errors.append('%s: a frame without a line: %s' % (label, t['frames']))
        unknown = set(t['awaits']) - set(addresses)
        if unknown or t['address'] in t['awaits']:
            errors.append('%s: awaits %s' % (label, t['awaits']))
    return errors


def expect_task_graph(truth, spec, stdlib):
    """Check the tasks of an asyncio truth against spec, by coroutine:

      {coro qualname: (how many tasks, [coro of each task it awaits],
                       [functions of its first frames], [explicit names])}

    Names (3.8+) are the explicit ones and "Task-N" for the others; no task
    is awaited by two.  Frames past the given first ones must be asyncio's
    own: stdlib is {function: its file's name} of those the chains may reach
    (generator-based on 3.6, coroutines later)."""
    errors = []
    tasks = truth['tasks']
    by_address = dict((t['address'], t) for t in tasks)
    named = version_tuple(truth['python_version']) >= (3, 8)
    awaited = [a for t in tasks for a in t['awaits']]
    if len(set(awaited)) != len(awaited):
        errors.append('a task is awaited by two: %s' % sorted(awaited))
    for coro, (count, awaits, functions, names) in sorted(spec.items()):
        mine = [t for t in tasks if t['coro'] == coro]
        if len(mine) != count:
            errors.append('%d tasks of %s, want %d' % (len(mine), coro, count))
        for t in mine:
            label = 'task %s (%s)' % (t['address'], coro)
            got = sorted(by_address[a]['coro'] for a in t['awaits'] if a in by_address)
            if got != sorted(awaits):
                errors.append('%s awaits %s, want %s' % (label, got, sorted(awaits)))
            got = [f['function'] for f in t['frames']]
            if got[:len(functions)] != functions:
                errors.append('%s: frames %s, want %s first' % (label, got, functions))
            for f in t['frames'][len(functions):]:
                if stdlib.get(f['function']) != os.path.basename(f['file']):
                    errors.append('%s: unexpected frame %s %s:%s'
                                  % (label, f['function'], f['file'], f['line']))
        if named:
            got = sorted(n if n in names else re.sub(r'^Task-\d+$', 'Task-*', n)
                         for n in (t['name'] for t in mine))
            want = sorted(names + ['Task-*'] * (count - len(names)))
            if got != want:
                errors.append('names of %s tasks %s, want %s' % (coro, got, want))
    return errors


def expect_asyncio_gather_tree(truth):
    return expect_task_graph(truth, {
        'root': (1, ['mid'] * 3, ['root'], ['root']),
        'mid': (3, ['leaf'] * 2, ['mid'], ['mid-2']),
        'leaf': (6, [], ['leaf', 'wait'], []),
    }, {})


def expect_asyncio_chains(truth):
    return expect_task_graph(truth, {
        'Pipeline.run': (1, [], ['run', 'stage_b', 'stage_c', 'stage_d', 'wait'],
                         ['nested-4']),
        'legacy_caller': (1, [], ['legacy_caller', 'legacy_outer', 'legacy_inner',
                                  'deepest'], ['yield-from']),
        'consume_async_for': (1, [], ['consume_async_for', 'ticker', 'wait'],
                              ['async-for']),
        'consume_asend': (1, [], ['consume_asend', 'ticker', 'wait'], ['asend']),
    }, {})


def expect_asyncio_waits(truth):
    return expect_task_graph(truth, {
        'wait_bare': (1, [], ['wait_bare'], ['bare-future']),
        'wait_event': (1, [], ['wait_event', 'wait'], ['event-wait']),
        'wait_queue': (1, [], ['wait_queue', 'get'], ['queue-get']),
        'wait_sleep': (1, [], ['wait_sleep', 'sleep'], ['sleep']),
        'guarded': (1, [], ['guarded', 'wait'], ['guarded']),
        'wait_shield': (1, ['guarded'], ['wait_shield'], ['shield-waiter']),
        'target': (1, [], ['target', 'wait'], ['target']),
        'wait_with_timeout': (1, ['target'], ['wait_with_timeout', 'wait_for'],
                              ['wait-for']),
        'watched': (1, [], ['watched', 'wait'], ['watched']),
        'wait_any': (1, ['watched'], ['wait_any', 'wait', '_wait'], ['wait-any']),
    }, {})


def expect_asyncio_many(truth):
    """1,000 tasks in three places: the collapsed check must fold them so."""
    import collections
    tasks = truth.get('tasks') or []
    places = collections.Counter(tuple(f['function'] for f in t['frames']) for t in tasks)
    want = {('handler', 'wait_event', 'wait'): 600, ('napper', 'sleep'): 300,
            ('reader', 'get'): 100}
    # 3.6's own Event.wait, sleep and Queue.get are generators: same names.
    if dict(places) != want:
        return ['tasks by place %r, want %r' % (dict(places), want)]
    return [] if all(not t['awaits'] for t in tasks) else ['a task awaits another']


def expect_gevent_server(truth):
    """500 handlers in read_request, 500 clients in client, the server's loop."""
    import collections
    places = collections.Counter(
        f['function'] for g in truth.get('greenlets') or () for f in g['frames'])
    errors = []
    for function, n in (('read_request', 500), ('client', 500)):
        if places[function] != n:
            errors.append('%d greenlets parked in %s, want %d' % (places[function], function, n))
    return errors


def expect_asyncio_taskgroup(truth):
    # TaskGroup.__aexit__ waits in itself (3.11-3.13) or in _aexit (3.14+).
    return expect_task_graph(truth, {
        'group_owner': (1, ['child', 'child_with_group'], ['group_owner', '__aexit__'],
                        ['group-owner']),
        'child_with_group': (1, ['grandchild'] * 2, ['child_with_group', '__aexit__'],
                             ['child-0']),
        'child': (1, [], ['child', 'wait'], []),
        'grandchild': (2, [], ['grandchild', 'wait'], ['grandchild-0']),
    }, {'_aexit': 'taskgroups.py'})


def expect_asyncio_threads(truth):
    errors = expect_task_graph(truth, {
        'producer': (3, [], ['producer', 'wait'], ['producer-0', 'producer-1', 'producer-2']),
        'consumer': (3, ['producer'], ['consumer'], ['consumer-0', 'consumer-1', 'consumer-2']),
    }, {})
    by_address = dict((t['address'], t) for t in truth['tasks'])
    for t in truth['tasks']:
        for a in t['awaits']:
            if by_address[a]['tid'] != t['tid']:
                errors.append('task %s awaits %s of another thread' % (t['address'], a))
    if version_tuple(truth['python_version']) >= (3, 8):
        threads = by_name(truth)
        loops = set(threads[n]['native_id'] for n in ('loop-0', 'loop-1', 'loop-2')
                    if n in threads)
        tids = set(t['tid'] for t in truth['tasks'])
        if tids != loops or len(loops) != 3:
            errors.append('task tids %s, loop threads %s' % (sorted(tids), sorted(loops)))
    return errors


def expect_asyncio_pytask(truth):
    """Python lists the pure-Python tasks until 3.13; 3.14's all_tasks()
    (and so the truth) lists only the C task."""
    names = dict((t['name'], t) for t in truth['tasks'])
    if version_tuple(truth['python_version']) >= (3, 14):
        return [] if 'c-waiter' in names else ['no task c-waiter']
    want = {'py-parent': ['py-child'], 'c-waiter': ['py-parent'], 'py-child': []}
    errors = []
    for name, awaited in sorted(want.items()):
        task = names.get(name)
        if task is None:
            errors.append('no task %s' % name)
            continue
        got = sorted(names_of(truth, task['awaits']))
        if got != sorted(awaited):
            errors.append('task %s awaits %s, want %s' % (name, got, awaited))
    return errors


def names_of(truth, addresses):
    by_address = dict((t['address'], t['name']) for t in truth['tasks'])
    return [by_address.get(a) for a in addresses]


GREENLET_KEYS = ('address', 'type', 'name', 'state', 'is_main', 'parent', 'tid',
                 'frames')
GREENLET_STATES = ('running', 'suspended', 'not-started', 'dead')


def greenlet_states(truth):
    """"2 running, 5 suspended, ..." of a truth's greenlets ("-" if none)."""
    states = [g['state'] for g in truth.get('greenlets', ())]
    return ', '.join('%d %s' % (states.count(s), s)
                     for s in GREENLET_STATES if s in states) or '-'


def expect_greenlets_sane(truth):
    """What every greenlet truth must satisfy, whatever the scenario: the
    rules of corpus/README.md ("greenlet truth") hold."""
    errors = []
    greenlets = truth['greenlets']
    by_address = dict((g.get('address'), g) for g in greenlets)
    threads = dict((t['native_id'], t) for t in truth['threads']
                   if t['native_id'] is not None)
    tids = version_tuple(truth['python_version']) >= (3, 8)
    if not greenlets:
        errors.append('no greenlets')
    if len(by_address) != len(greenlets):
        errors.append('duplicate greenlet addresses')
    running = {}
    for g in greenlets:
        label = 'greenlet %s' % g.get('address')
        if sorted(g) != sorted(GREENLET_KEYS):
            errors.append('%s: keys %s, want %s' % (label, sorted(g), sorted(GREENLET_KEYS)))
            continue
        label = 'greenlet %s' % greenlet_label(g)
        if not re.match(r'^0x[0-9a-f]+$', g['address']):
            errors.append('%s: bad address' % label)
        if g['state'] not in GREENLET_STATES:
            errors.append('%s: state %r' % (label, g['state']))
        if g['is_main'] != (g['parent'] is None):
            errors.append('%s: is_main %r, parent %r' % (label, g['is_main'], g['parent']))
        if g['parent'] is not None and g['parent'] not in by_address:
            errors.append('%s: parent %s is no greenlet of the truth' % (label, g['parent']))
        if g['is_main'] and (g['state'] not in ('running', 'suspended') or g['name']):
            errors.append('%s: a main greenlet %s, named %r' % (label, g['state'], g['name']))
        if tids != (g['tid'] is not None):
            errors.append('%s: tid %r on %s' % (label, g['tid'], truth['python_version']))
        elif g['tid'] is not None and g['tid'] not in threads:
            errors.append('%s: tid %s is no thread of the truth' % (label, g['tid']))
        root, seen = g, set()
        while root['parent'] is not None and root['parent'] in by_address:
            if root['address'] in seen:
                errors.append('%s: a cycle of parents' % label)
                break
            seen.add(root['address'])
            root = by_address[root['parent']]
        if root.get('tid') != g['tid']:
            errors.append('%s: tid %s, its main greenlet %s has %s'
                          % (label, g['tid'], root['address'], root.get('tid')))
        if any(not isinstance(f.get('line'), int) or f['line'] < 1 for f in g['frames']):
            errors.append('%s: a frame without a line: %s' % (label, g['frames']))
        if g['state'] in ('not-started', 'dead') and g['frames']:
            errors.append('%s: frames %s' % (label, g['frames']))
        if g['state'] == 'suspended' and not g['frames']:
            errors.append('%s: suspended without frames' % label)
        if g['state'] == 'running':
            key = g['tid'] if tids else root['address']
            if key in running:
                errors.append('%s: a second running greenlet in its thread (%s)'
                              % (label, running[key]))
            running[key] = g['address']
            thread = threads.get(g['tid'])
            if thread is not None and g['frames'] != thread['frames']:
                errors.append('%s: frames are not those of thread %s'
                              % (label, thread_label(thread)))
    mains = [g for g in greenlets if g.get('is_main')]
    if len(running) != len(mains):
        errors.append('%d main greenlets, %d running greenlets' % (len(mains), len(running)))
    return errors


def gevent_frame(frame):
    return '/gevent/' in frame['file'].replace(os.sep, '/')


def greenlet_key(g, by_address):
    """What expect_greenlets() compares of one greenlet: (name, type, state,
    (functions...), parent), with the frames of gevent's own files at the
    inner end left out, and parent "main" (a main greenlet), the parent's
    name, or "<Type>" for an unnamed one.  A main greenlet is
    ("main", type, state, None, None)."""
    if g['is_main']:
        return ('main', g['type'], g['state'], None, None)
    frames = list(g['frames'])
    while frames and gevent_frame(frames[-1]):
        frames.pop()
    parent = by_address[g['parent']]
    if parent['is_main']:
        parent_key = 'main'
    else:
        parent_key = parent['name'] or '<%s>' % parent['type']
    return (g['name'], g['type'], g['state'],
            tuple(f['function'] for f in frames), parent_key)


def expect_greenlets(truth, spec):
    """Check the greenlets of a truth against spec, a list of greenlet_key()s
    (a name as on Python 3: Python 2 has no qualified names); each key as
    many times as there are such greenlets.  Frames of a running greenlet
    are its thread's: the key of one that is not a main greenlet has none."""
    python2 = version_tuple(truth['python_version']) < (3, 0)
    by_address = dict((g['address'], g) for g in truth['greenlets'])
    got = []
    for g in truth['greenlets']:
        key = greenlet_key(g, by_address)
        if g['state'] == 'running' and not g['is_main']:
            key = key[:3] + (None,) + key[4:]
        got.append(key)
    want = []
    for key in spec:
        name = key[0]
        if python2 and name and key[0] != 'main':
            name = name.split('.')[-1]
        want.append((name,) + tuple(key[1:]))
    errors = []
    for key in sorted(set(want) | set(got), key=repr):
        if got.count(key) != want.count(key):
            errors.append('%d greenlets %r, want %d' % (got.count(key), key, want.count(key)))
    return errors


def expect_greenlet_raw(truth):
    fs = ('greenlet', 'suspended')
    ns = ('greenlet', 'not-started')
    return expect_greenlets(truth, [
        ('main', 'greenlet', 'running', None, None),
        ('chain-4',) + fs + (('chain_entry', 'descend', 'chain_inner', 'chain_leaf'), 'main'),
        (None,) + fs + (('park_here',), 'main'),
        ('method-2',) + fs + (('descend', 'chain_leaf'), 'main'),
        ('stepper', 'Stepper', 'suspended', ('run', 'step'), 'main'),
        (None, 'Stepper', 'suspended', ('run', 'step'), 'main'),
        ('tree-root',) + fs + (('tree_root',), 'main'),
        ('tree-child',) + fs + (('tree_child',), 'tree-root'),
        ('tree-grandchild',) + fs + (('tree_grandchild',), 'tree-child'),
        ('never_started',) + ns + ((), 'main'),
        ('never_started',) + ns + ((), 'main'),             # its "name" is 7
        ('Stage.descend',) + ns + ((), 'main'),
        ('setup.<locals>.<lambda>',) + ns + ((), 'main'),
        ('make_nested.<locals>.nested',) + ns + ((), 'main'),
        (None,) + ns + ((), 'main'),                        # len
        (None,) + ns + ((), 'main'),                        # no run
        ('named-idle',) + ns + ((), 'main'),
        (None, 'Stepper', 'not-started', (), 'main'),
        ('finished', 'greenlet', 'dead', (), 'main'),
        (None, 'greenlet', 'dead', (), 'main'),
    ])


def expect_greenlet_threads(truth):
    fs = ('greenlet', 'suspended')
    errors = expect_greenlets(truth, [
        ('main', 'greenlet', 'running', None, None),        # MainThread
        ('main', 'greenlet', 'running', None, None),        # gl-main-parks
        ('main', 'greenlet', 'suspended', None, None),      # gl-inside
        ('main', 'greenlet', 'running', None, None),        # gl-tree
        ('shallow',) + fs + (('back_to_main',), 'main'),
        ('deep',) + fs + (('level_two', 'level_three', 'back_to_main'), 'main'),
        ('runner', 'greenlet', 'running', None, 'main'),
        ('sibling',) + fs + (('back_to_inside',), 'runner'),
        ('idle', 'greenlet', 'not-started', (), 'main'),
        ('tree-parent',) + fs + (('tree_parent',), 'main'),
        ('tree-child',) + fs + (('tree_child', 'back_to_main'), 'tree-parent'),
        (None, 'greenlet', 'dead', (), 'main'),
    ])
    if version_tuple(truth['python_version']) >= (3, 8):
        threads = dict((t['native_id'], t['name']) for t in truth['threads'])
        want = {'shallow': 'gl-main-parks', 'deep': 'gl-main-parks',
                'runner': 'gl-inside', 'sibling': 'gl-inside', 'idle': 'gl-inside',
                'tree-parent': 'gl-tree', 'tree-child': 'gl-tree'}
        for g in truth['greenlets']:
            if g['name'] in want and threads.get(g['tid']) != want[g['name']]:
                errors.append('greenlet %s in thread %s, want %s'
                              % (g['name'], threads.get(g['tid']), want[g['name']]))
    return errors


def expect_gevent_pool(truth):
    fs = ('Greenlet', 'suspended')
    ns = ('Greenlet', 'not-started')
    errors = expect_greenlets(truth, [
        ('main', 'greenlet', 'suspended', None, None),
        (None, 'Hub', 'running', None, 'main'),
        ('sleep_1',) + fs + (('sleep_1',), '<Hub>'),
        ('sleep_2',) + fs + (('sleep_2', 'sleep_1'), '<Hub>'),
        ('sleep_3',) + fs + (('sleep_3', 'sleep_2', 'sleep_1'), '<Hub>'),
        ('wait_event',) + fs + (('wait_event',), '<Hub>'),
        ('get_queue',) + fs + (('get_queue',), '<Hub>'),
        ('Service.serve',) + fs + (('serve', 'handle'), '<Hub>'),
        ('named-worker',) + fs + (('named_worker', 'sleep_2', 'sleep_1'), '<Hub>'),
        (None, 'Job', 'suspended', ('_run',), '<Hub>'),
        ('never_started',) + ns + ((), '<Hub>'),
        ('idle-named',) + ns + ((), '<Hub>'),
        ('sleep_1',) + ns + ((), '<Hub>'),                  # spawn_later
        ('cancelled',) + ns + ((), '<Hub>'),                # killed before it started
        (None, 'Greenlet', 'dead', (), '<Hub>'),
        ('finished', 'Greenlet', 'dead', (), '<Hub>'),
    ])
    # The main thread runs the hub: its frames are the hub's, in gevent.
    main = by_name(truth).get('MainThread', {})
    functions = [f['function'] for f in main.get('frames', ())]
    if functions != ['run'] or not gevent_frame(main['frames'][0]):
        errors.append('MainThread frames %s, want Hub.run alone'
                      % [(f['function'], f['file']) for f in main.get('frames', ())])
    for g in truth['greenlets']:
        if g['is_main'] and (not g['frames'] or g['frames'][-1]['function'] != 'block_main'):
            errors.append('main greenlet frames %s, want block_main innermost'
                          % [f['function'] for f in g['frames']])
    return errors


def expect_locals_types(truth):
    """The locals the scenario parks with, as corpus/README.md ("locals
    truth") renders them; str and bytes as each Python has them."""
    py2 = version_tuple(truth['python_version']) < (3, 0)
    u = 'u' if py2 else ''
    b = '' if py2 else 'b'

    def obj(type_pattern):
        return re.compile(r'<%s object at 0x[0-9a-f]+>$' % type_pattern)
    want = {
        ('typed-locals', 'all_types'): {
            'number': '42', 'text': "%s'given'" % u, 'rest': 'tuple[1]',
            'options': 'dict[1]', 'none': 'None', 'yes': 'True', 'no': 'False',
            'small': '7', 'long_small': '5', 'huge': '<int 51 digits>',
            'negative_big': '-1267650600228229401496703205376', 'ints': 'list[22]',
            'f15': '1.5', 'negative_zero': '-0.0', 'f300': '1e+300', 'inf': 'inf',
            'nan': 'nan', 'ascii': "'ascii'",
            'unicode_text': u"%s'\xfcn\xefc\xf6d\xe9'" % u,
            'snake': u"%s'\U0001f40d'" % u, 'raw': "%s'bytes\\x00\\xff'" % b,
            'long_text': re.compile(re.escape("%s'Lorem ipsum dolor sit amet, " % u) +
                                    r".{52}'\.\.\.$"),
            'empty_list': 'list[0]', 'three': 'list[3]', 'one_tuple': 'tuple[1]',
            'empty_dict': 'dict[0]', 'twelve': 'dict[12]', 'four': 'set[4]',
            'frozen': 'frozenset[1]', 'ordered': obj(r'(collections\.)?OrderedDict'),
            'thing': obj('Thing'), 'old': obj('instance' if py2 else 'Old'),
            'function': obj('function'), 'module': obj('module'),
            'cls': obj('type'), 'lock': obj(r'_?thread\.lock'),
            'captured': "%s'captured'" % u, 'closure': obj('function')},
        ('cell-argument', 'cell_argument'): {
            'value': "%s'rebound'" % u, 'reader': obj('function')},
        ('free-variables', 'outer_with_free'): {
            'a': "%s'free'" % u, 'b': 'list[1]', 'inner': obj('function')},
        ('free-variables', 'inner'): {
            'a': "%s'free'" % u, 'b': 'list[1]', 'c': '3.25', 'd': 'tuple[3]'},
        ('empty-cell', 'empty_cell'): {'later': obj('function')},
        ('generator', 'generator'): {'limit': '3', 'index': '0', 'doubled': '0'},
        ('class-body', 'Parked'): {},
        ('method', 'method'): {'self': obj('Thing'), 'factor': '21', 'scaled': '42'},
    }
    errors = []
    threads = by_name(truth)
    for (thread, function), expected in sorted(want.items()):
        frames = [f for f in threads.get(thread, {}).get('frames', ())
                  if f['function'] == function]
        if len(frames) != 1 or 'locals' not in frames[0]:
            errors.append('thread %s: no frame %s with locals' % (thread, function))
            continue
        got = frames[0]['locals']
        if sorted(got) != sorted(expected):
            errors.append('thread %s, %s: locals %s, want %s'
                          % (thread, function, sorted(got), sorted(expected)))
        for name, value in sorted(expected.items()):
            if name not in got:
                continue
            ok = value.match(got[name]) if hasattr(value, 'match') else got[name] == value
            if not ok:
                errors.append('thread %s, %s: %s is %r, want %r' % (
                    thread, function, name, got[name], getattr(value, 'pattern', value)))
    values = [f for f in threads.get('every-value', {}).get('frames', ())
              if f['function'] == 'every_value']
    if len(values) != 1 or len(values[0].get('locals', ())) != 67:
        errors.append('every_value has not 67 locals')
    unlocaled = [(t['name'], f['function']) for t in truth['threads']
                 for f in t['frames'] if 'locals' not in f]
    if unlocaled:
        errors.append('frames without locals: %s' % unlocaled)
    return errors


# Scenarios whose main thread is not parked in truth.py's _park_main.
MAIN_PARKS_ELSEWHERE = ('demo', 'gevent_pool', 'gevent_server')


EXPECT = {
    'gevent_pool': expect_gevent_pool,
    'gevent_server': expect_gevent_server,
    'greenlet_raw': expect_greenlet_raw,
    'greenlet_threads': expect_greenlet_threads,
    'asyncio_pytask': expect_asyncio_pytask,
    'asyncio_gather_tree': expect_asyncio_gather_tree,
    'asyncio_chains': expect_asyncio_chains,
    'asyncio_waits': expect_asyncio_waits,
    'asyncio_many': expect_asyncio_many,
    'asyncio_taskgroup': expect_asyncio_taskgroup,
    'asyncio_threads': expect_asyncio_threads,
    'deep_recursion': expect_deep_recursion,
    'unicode_names': expect_unicode_names,
    'unnamed_threads': expect_unnamed_threads,
    'generators_methods': expect_generators_methods,
    'gil_holder': expect_gil_holder,
    'locals_types': expect_locals_types,
}


def check_truth(target):
    """Sanity of what the scenario recorded; a failure is a corpus bug."""
    truth = target.truth
    errors = []
    if truth.get('pid') != target.pid:
        errors.append('truth pid %s, process %d' % (truth.get('pid'), target.pid))
    if truth.get('python_version') != target.python.version:
        errors.append('truth python %s, interpreter %s'
                      % (truth.get('python_version'), target.python.version))
    idents = [t['ident'] for t in truth['threads']]
    if len(set(idents)) != len(idents):
        errors.append('duplicate idents')
    tids = [t['native_id'] for t in truth['threads'] if t['native_id'] is not None]
    if len(set(tids)) != len(tids):
        errors.append('duplicate native ids')
    if not set(tids) <= set(target.tasks() or []):
        errors.append('native ids %s not all in /proc/PID/task' % tids)
    for t in truth['threads']:
        for key in ('volatile', 'expect_gil'):
            if t.get(key, True) is not True:
                errors.append('thread %s: %s is %r, want true or absent'
                              % (thread_label(t), key, t[key]))
    if sum(1 for t in truth['threads'] if t.get('expect_gil')) > 1:
        errors.append('more than one thread declared expect_gil')
    mains = [t for t in truth['threads'] if t['name'] == 'MainThread']
    if len(mains) != 1:
        errors.append('%d MainThreads' % len(mains))
    else:
        main = mains[0]
        if main['native_id'] != target.pid:
            errors.append('MainThread native id %s, pid %d'
                          % (main['native_id'], target.pid))
        if target.scenario not in MAIN_PARKS_ELSEWHERE:
            inner = main['frames'][-1] if main['frames'] else {}
            where = (inner.get('function'), inner.get('file'), inner.get('line'))
            want = ('_park_main',) + park_line()
            if where != want:
                errors.append('MainThread innermost frame %s, want %s' % (where, want))
    if 'tasks' in truth:
        errors.extend(expect_tasks_sane(truth, set(tids)))
    if 'greenlets' in truth:
        errors.extend(expect_greenlets_sane(truth))
    check = EXPECT.get(target.scenario)
    if check and not errors:
        errors.extend(check(truth))
    if errors:
        raise CaseError('%s: bad truth (corpus bug):\n%s'
                        % (target.scenario, indent('\n'.join(errors))))


# --- comparing the tool's output with the truth -----------------------------

def fmt_frame(frame):
    if len(frame) == 2:                 # a volatile thread's: any line
        return '%s %s:*' % frame
    return '%s %s:%s' % frame


def python_frames(frames):
    return [(f.get('function'), f.get('file'), f.get('line'))
            for f in frames if f.get('kind') == 'python']


def frames_diff(want, got):
    """Readable diff of two frame lists, around the first difference."""
    first = next((i for i, (w, g) in enumerate(zip(want, got)) if w != g),
                 min(len(want), len(got)))
    lines = ['frames differ at index %d (expected %d frames, got %d):'
             % (first, len(want), len(got))]
    longest = max(len(want), len(got))
    if longest <= 16:
        lo, hi = 0, longest
    else:
        lo, hi = max(0, first - 3), min(longest, first + 6)
    if lo > 0:
        lines.append('      ... %d equal frames' % lo)
    for i in range(lo, hi):
        w = want[i] if i < len(want) else None
        g = got[i] if i < len(got) else None
        if w == g:
            lines.append('      [%3d] %s' % (i, fmt_frame(w)))
            continue
        lines.append('    - [%3d] %s' % (i, fmt_frame(w) if w else '(none)'))
        lines.append('    + [%3d] %s' % (i, fmt_frame(g) if g else '(none)'))
    if hi < longest:
        lines.append('      ... %d more' % (longest - hi))
    return lines


def thread_label(thread):
    return '%r (ident %s)' % (thread.get('name'), thread.get('ident'))


def gil_errors(label, want, got):
    """holds_gil of one thread, when the truth says which thread holds it."""
    expected = bool(want.get('expect_gil'))
    if 'holds_gil' not in got:
        return ['%s: no holds_gil, want %s' % (label, json.dumps(expected))]
    held = got['holds_gil']
    if held is None:
        return ['%s: holds_gil is null (unknown), want %s'
                % (label, json.dumps(expected))]
    if not isinstance(held, bool):
        return ['%s: holds_gil is %r, want %s' % (label, held, json.dumps(expected))]
    if held != expected:
        return ['%s: holds_gil %s, want %s'
                % (label, json.dumps(held), json.dumps(expected))]
    return []


def compare(truth, doc, kind, with_locals=False):
    """Differences between the truth and the tool's JSON document; with
    the tool run with --locals, the locals of each thread's frames too."""
    errors = []
    if not isinstance(doc, dict):
        return ['output is not a JSON object']
    if doc.get('format') != FORMAT:
        errors.append('format %r, want %r' % (doc.get('format'), FORMAT))
    target = doc.get('target') or {}
    if target.get('kind') != kind:
        errors.append('target.kind %r, want %r' % (target.get('kind'), kind))
    if target.get('pid') != truth['pid']:
        errors.append('target.pid %r, want %r' % (target.get('pid'), truth['pid']))
    version = (target.get('python') or {}).get('version')
    if version != truth['python_version']:
        errors.append('target.python.version %r, want %r'
                      % (version, truth['python_version']))
    threads = doc.get('threads')
    if not isinstance(threads, list):
        return errors + ['threads is %r, not a list' % type(threads).__name__]

    got = {}
    for t in threads:
        if t.get('ident') in got:
            errors.append('thread ident %s listed twice' % t.get('ident'))
        got[t.get('ident')] = t
    want = dict((t['ident'], t) for t in truth['threads'])
    for ident in sorted(set(want) - set(got), key=str):
        errors.append('missing thread %s' % thread_label(want[ident]))
    for ident in sorted(set(got) - set(want), key=str):
        errors.append('unexpected thread %s' % thread_label(got[ident]))

    gil = [t for t in threads if t.get('holds_gil') is True]
    bad_gil = [t for t in threads if t.get('holds_gil') not in (True, False, None)]
    if len(gil) > 1:
        errors.append('%d threads hold the GIL: %s'
                      % (len(gil), ', '.join(thread_label(t) for t in gil)))
    for t in bad_gil:
        errors.append('thread %s: holds_gil is %r' % (thread_label(t), t.get('holds_gil')))
    gil_known = any(t.get('expect_gil') for t in truth['threads'])

    for ident in sorted(set(want) & set(got)):
        w, g = want[ident], got[ident]
        label = 'thread %s' % thread_label(w)
        if g.get('name') != w['name']:
            errors.append('%s: name %r, want %r' % (label, g.get('name'), w['name']))
        if w['native_id'] is not None and g.get('tid') != w['native_id']:
            errors.append('%s: tid %r, want %r' % (label, g.get('tid'), w['native_id']))
        if gil_known:
            errors.extend(gil_errors(label, w, g))
        unit_errors = frame_errors(label, w, g)
        if with_locals and not unit_errors:
            unit_errors = compare_locals(label, w, g)
        errors.extend(unit_errors)
    if 'tasks' in truth:
        errors.extend(compare_tasks(truth['tasks'], doc.get('tasks')))
    if 'greenlets' in truth:
        errors.extend(compare_greenlets(truth['greenlets'], doc.get('greenlets')))
    elif doc.get('greenlets'):
        errors.append('%d greenlets, want none: %s' % (
            len(doc['greenlets']), ', '.join(greenlet_label(g) if isinstance(g, dict)
                                             else repr(g) for g in doc['greenlets'])))
    if errors and doc.get('warnings'):
        errors.append('tool warnings:\n%s' % indent('\n'.join(
            str(w) for w in doc['warnings'])))
    return errors


def frame_errors(label, want, got):
    """How the tool's frames of one thread or task differ from the truth's
    (a volatile unit -- a busy loop -- is compared without lines)."""
    frames = got.get('frames')
    if not isinstance(frames, list):
        return ['%s: frames is %r' % (label, frames)]
    wf = [(f['function'], f['file'], f['line']) for f in want['frames']]
    gf = python_frames(frames)
    if want.get('volatile'):
        wf = [(f, p) for (f, p, _) in wf]
        gf = [(f, p) for (f, p, _) in gf]
    if wf == gf:
        return []
    diff = frames_diff(wf, gf)
    return ['%s: %s\n%s' % (label, diff[0], '\n'.join(diff[1:]))]


def compare_locals(label, want, got):
    """With --locals: every Python frame of the tool has "locals", an object
    of name: repr; where the truth's frame has "locals" (corpus/README.md,
    "locals truth"), the same names with the same reprs, in any order."""
    errors = []
    frames = [f for f in got.get('frames') or () if f.get('kind') == 'python']
    for index, (w, g) in enumerate(zip(want['frames'], frames)):
        where = '%s: frame [%d] %s' % (label, index, w['function'])
        values = g.get('locals')
        if not isinstance(values, dict) or \
                not all(isinstance(v, str) for v in values.values()):
            errors.append('%s: locals is %r' % (where, values))
            continue
        if 'locals' not in w:
            continue
        for name in sorted(set(w['locals']) | set(values)):
            if w['locals'].get(name) != values.get(name):
                errors.append('%s: local %s is %s, want %s' % (
                    where, name, json.dumps(values.get(name), ensure_ascii=False),
                    json.dumps(w['locals'].get(name), ensure_ascii=False)))
    return errors


def task_label(task):
    return '%s (%s, %s)' % (task.get('address'), task.get('name') or '-',
                            task.get('coro'))


def compare_tasks(want_list, tasks):
    """Differences between the truth's tasks and the tool's."""
    if not isinstance(tasks, list):
        return ['tasks is %r, not a list' % type(tasks).__name__]
    errors = []
    got = {}
    for t in tasks:
        address = t.get('address') if isinstance(t, dict) else None
        if address in got:
            errors.append('task %s listed twice' % address)
        got[address] = t
    want = dict((t['address'], t) for t in want_list)
    for address in sorted(set(want) - set(got), key=str):
        errors.append('missing task %s' % task_label(want[address]))
    for address in sorted(set(got) - set(want), key=str):
        errors.append('unexpected task %s' % task_label(got[address]))
    for address in sorted(set(want) & set(got)):
        w, g = want[address], got[address]
        label = 'task %s' % task_label(w)
        for key in ('name', 'state', 'coro', 'running'):
            if g.get(key) != w[key]:
                errors.append('%s: %s %r, want %r' % (label, key, g.get(key), w[key]))
        if w['tid'] is not None and g.get('tid') != w['tid']:
            errors.append('%s: tid %r, want %r' % (label, g.get('tid'), w['tid']))
        awaits = g.get('awaits')
        if not isinstance(awaits, list):
            errors.append('%s: awaits is %r' % (label, awaits))
        elif sorted(set(map(str, awaits))) != sorted(w['awaits']) or \
                len(set(map(str, awaits))) != len(awaits):
            errors.append('%s: awaits %s, want %s'
                          % (label, sorted(map(str, awaits)), sorted(w['awaits'])))
        errors.extend(frame_errors(label, w, g))
    return errors


def greenlet_label(greenlet):
    return '%s (%s %s, %s)' % (greenlet.get('address'), greenlet.get('type'),
                               greenlet.get('name') or '-', greenlet.get('state'))


def compare_greenlets(want_list, greenlets):
    """Differences between the truth's greenlets and the tool's."""
    if not isinstance(greenlets, list):
        return ['greenlets is %r, not a list' % type(greenlets).__name__]
    errors = []
    got = {}
    for g in greenlets:
        address = g.get('address') if isinstance(g, dict) else None
        if address in got:
            errors.append('greenlet %s listed twice' % address)
        got[address] = g if isinstance(g, dict) else {}
    want = dict((g['address'], g) for g in want_list)
    for address in sorted(set(want) - set(got), key=str):
        errors.append('missing greenlet %s' % greenlet_label(want[address]))
    for address in sorted(set(got) - set(want), key=str):
        errors.append('unexpected greenlet %s' % greenlet_label(got[address]))
    for address in sorted(set(want) & set(got)):
        w, g = want[address], got[address]
        label = 'greenlet %s' % greenlet_label(w)
        for key in ('type', 'name', 'state', 'is_main', 'parent'):
            if g.get(key) != w[key]:
                errors.append('%s: %s %r, want %r' % (label, key, g.get(key), w[key]))
        if w['tid'] is not None and g.get('tid') != w['tid']:
            errors.append('%s: tid %r, want %r' % (label, g.get('tid'), w['tid']))
        errors.extend(frame_errors(label, w, g))
    return errors


def run_and_compare(tool, args, truth, kind, verbose, layout=None, extra=()):
    argv = [tool, '--format', 'json'] + list(extra) + args
    if layout:
        argv[1:1] = ['--layout-source', layout]
    result = run_command(argv, TOOL_TIMEOUT)
    head = '$ %s: %s' % (quote(argv), result.describe())
    if result.timed_out or result.returncode != 0:
        message = head
        if result.stderr:
            message += '\n' + indent(result.stderr_text().strip())
        raise CaseError(message)
    try:
        doc = json.loads(result.stdout.decode('utf-8'))
    except ValueError as e:
        raise CaseError('%s\n    output is not JSON (%s): %r'
                        % (head, e, result.stdout[:200]))
    errors = compare(truth, doc, kind, with_locals='--locals' in extra)
    if layout and (doc.get('target') or {}).get('layout') != layout:
        errors.append('target.layout is %r, want %r'
                      % ((doc.get('target') or {}).get('layout'), layout))
    if kind == 'core':
        plain = [a for a in argv[1:] if a not in ('--format', 'json')]
        errors.extend(text_errors(tool, plain, truth))
        errors.extend(collapsed_errors(tool, plain, truth))
    if errors:
        raise CaseError('%s\n%s' % (head, indent('\n'.join(errors))))
    return '%s (%.1fs)' % (head, result.seconds) if verbose else None


def collapsed_line(kind, frames):
    def name(text):
        return text.replace(';', ',')
    return ';'.join([kind] + ['%s (%s:%s)' % (name(f['function']), name(f['file']), f['line'])
                              for f in frames])


def collapsed_errors(tool, args, truth):
    """--format collapsed of the same core: each distinct stack with its count."""
    import collections
    argv = [tool, '--format', 'collapsed'] + args
    result = run_command(argv, TOOL_TIMEOUT)
    if result.timed_out or result.returncode != 0:
        return ['$ %s: %s' % (quote(argv), result.describe())]
    want = collections.Counter()
    units = [('thread', t) for t in truth['threads']]
    units += [('greenlet', g) for g in truth.get('greenlets') or () if g['state'] != 'running']
    units += [('task', t) for t in truth.get('tasks') or ()]
    for kind, unit in units:
        if unit.get('volatile'):
            return []           # its lines move: nothing exact to compare
        if unit['frames']:
            want[collapsed_line(kind, unit['frames'])] += 1
    got = collections.Counter()
    for line in result.stdout.decode('utf-8').splitlines():
        stack, _, count = line.rpartition(' ')
        if not count.isdigit() or got[stack]:
            return ['$ %s: malformed or repeated line %r' % (quote(argv), line)]
        got[stack] = int(count)
    errors = []
    for stack in sorted(set(want) | set(got)):
        if want[stack] != got[stack]:
            errors.append('collapsed: %d x %s, want %d' % (got[stack], stack, want[stack]))
    return errors


def text_errors(tool, args, truth):
    """The text output of the same core: it renders, and counts what the truth has."""
    argv = [tool, '--format', 'text'] + args
    result = run_command(argv, TOOL_TIMEOUT)
    if result.timed_out or result.returncode != 0:
        return ['$ %s: %s' % (quote(argv), result.describe())]
    text = result.stdout.decode('utf-8', 'replace')
    want = ['%d thread%s' % (len(truth['threads']), '' if len(truth['threads']) == 1 else 's')]
    for key, noun in (('greenlets', 'greenlet'), ('tasks', 'asyncio task')):
        n = len(truth.get(key) or ())
        if n:
            want.append('%d %s%s' % (n, noun, '' if n == 1 else 's'))
    errors = ['$ %s: no line starting %r' % (quote(argv), w) for w in want
              if not re.search(r'^%s\b' % re.escape(w), text, re.M)]
    # A thousand greenlets parked in a few places read on one screen.
    greenlets = truth.get('greenlets') or ()
    section = re.search(r'^\d+ greenlets.*?(?=\n\n|\Z)', text, re.M | re.S)
    if len(greenlets) >= 1000 and section and section.group(0).count('\n') + 1 > ONE_SCREEN:
        errors.append('$ %s: the greenlets take %d lines, more than one screen (%d)'
                      % (quote(argv), section.group(0).count('\n') + 1, ONE_SCREEN))
    return errors


ONE_SCREEN = 50


def allow_core_dumps():
    """In the child: let the kernel write a core when asked (--core-writer kernel)."""
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_CORE)
    resource.setrlimit(resource.RLIMIT_CORE, (hard, hard))


def kernel_core(target, directory):
    """Make the kernel write a core of the target (SIGABRT) and return its path.

    gdb's gcore can write wrong memory (zero pages at the top of thread
    stacks) for processes running a newer glibc than gdb knows, as Debian
    sid's 3.14/3.15 on bookworm's gdb 13.1; the kernel's own core is exact.
    """
    with open('/proc/sys/kernel/core_pattern') as f:
        pattern = f.read().strip()
    if pattern.startswith('|') or '/' in pattern:
        raise Skip('kernel cores go to %r, not the working directory' % pattern)
    os.kill(target.pid, signal.SIGABRT)
    try:
        target.proc.wait(timeout=GCORE_TIMEOUT)
    except subprocess.TimeoutExpired:
        raise CaseError('target did not die of SIGABRT')
    cores = [os.path.join(directory, n) for n in os.listdir(directory)
             if n.startswith(pattern.split('%')[0] or 'core')]
    if not cores:
        raise CaseError('no kernel core in %s (core_pattern %r)' % (directory, pattern))
    return max(cores, key=os.path.getmtime)


def gcore(pid, directory):
    prefix = os.path.join(directory, 'core')
    path = '%s.%d' % (prefix, pid)
    result = run_command(['gcore', '-o', prefix, str(pid)], GCORE_TIMEOUT)
    if result.timed_out or result.returncode != 0 or not os.path.exists(path):
        raise CaseError('gcore %d: %s\n%s' % (pid, result.describe(), indent(
            (result.stdout + result.stderr).decode('utf-8', 'replace').strip())))
    return path


# --- cases ------------------------------------------------------------------

class Result(object):
    def __init__(self, name, status, detail=None):
        self.name = name
        self.status = status          # 'ok' | 'FAIL' | 'skip'
        self.detail = detail

    def line(self):
        text = '%s - %s' % (self.status, self.name)
        if self.status == 'skip' and self.detail:
            text += ' # %s' % self.detail.splitlines()[0]
        return text


class Unit(object):
    """One python x scenario: one process, several cases."""

    def __init__(self, python, scenario, modes):
        self.python = python
        self.scenario = scenario
        self.modes = modes            # subset of truth, core, core+exe, live

    def case_name(self, mode):
        return '%s %s %s' % (self.python.label, self.scenario, mode)

    def run(self, options):
        results = []
        workdir = tempfile.mkdtemp(prefix='pcs-corpus-')
        try:
            try:
                with Target(self.python, self.scenario, workdir,
                            greenlet_root=options.greenlet_root) as target:
                    check_truth(target)
                    for mode in self.modes:
                        results.append(self.run_mode(mode, target, workdir, options))
            except Skip as e:
                for mode in self.modes:
                    results.append(Result(self.case_name(mode), 'skip', str(e)))
            except CaseError as e:
                done = set(r.name for r in results)
                for mode in self.modes:
                    name = self.case_name(mode)
                    if name not in done:
                        results.append(Result(name, 'FAIL', str(e)))
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        return results

    def run_mode(self, mode, target, workdir, options):
        name = self.case_name(mode)
        # "core@builtin": the mode, with the tool forced to one layout source.
        mode, _, layout = mode.partition('@')
        try:
            detail = None
            if mode == 'truth':
                detail = '%d threads, %d tasks, %d greenlets (%s), truth at %s' % (
                    len(target.truth['threads']), len(target.truth.get('tasks', ())),
                    len(target.truth.get('greenlets', ())),
                    greenlet_states(target.truth), target.truth_path)
            elif mode in ('core', 'core+exe'):
                if not options.gcore:
                    raise Skip('gcore not found (apt-get install gdb)')
                core = getattr(target, 'core', None)
                if core is None and options.core_writer == 'kernel':
                    core = target.core = kernel_core(target, workdir)
                elif core is None:
                    core = target.core = gcore(target.pid, workdir)
                args = [core]
                if mode == 'core+exe':
                    args.append(os.path.realpath(target.truth['executable']))
                detail = run_and_compare(options.tool, args, target.truth,
                                         'core', options.verbose, layout,
                                         options.tool_arg)
            elif mode == 'live':
                before = target.tasks()
                try:
                    detail = run_and_compare(options.tool, ['--pid', str(target.pid)],
                                             target.truth, 'process', options.verbose,
                                             layout, options.tool_arg)
                finally:
                    target.check_unharmed(before)
            return Result(name, 'ok', detail)
        except Skip as e:
            return Result(name, 'skip', str(e))
        except CaseError as e:
            return Result(name, 'FAIL', str(e))


def plan(pythons, scenarios, options):
    """The units to run, after the -k filter."""
    if options.truth_only:
        modes = ['truth']
    else:
        modes = {'live': ['live'], 'core': ['core'],
                 'both': ['core', 'live']}[options.mode]
    units = []
    for python in pythons:
        for index, scenario in enumerate(scenarios):
            unit_modes = list(modes)
            if index == 0 and 'core' in modes:
                unit_modes.insert(unit_modes.index('core') + 1, 'core+exe')
            if options.layout_source:
                unit_modes = [m if m == 'truth' else '%s@%s' % (m, source)
                              for source in options.layout_source
                              for m in unit_modes]
            if options.core_writer == 'kernel':
                # The kernel writes a core as the process dies: live first.
                unit_modes.sort(key=lambda m: m.split('@')[0] != 'live')
            unit = Unit(python, scenario, unit_modes)
            if options.k:
                unit.modes = [m for m in unit.modes
                              if any(k in unit.case_name(m) for k in options.k)]
            if unit.modes:
                units.append(unit)
    return units


class Reporter(object):
    def __init__(self, verbose):
        self.verbose = verbose
        self.lock = threading.Lock()
        self.counts = {'ok': 0, 'FAIL': 0, 'skip': 0}

    def report(self, result):
        with self.lock:
            self.counts[result.status] += 1
            print(result.line())
            if result.detail and (result.status == 'FAIL' or
                                  (self.verbose and result.status == 'ok')):
                print(indent(result.detail))
            sys.stdout.flush()

    def summary(self):
        text = '%d passed, %d failed' % (self.counts['ok'], self.counts['FAIL'])
        if self.counts['skip']:
            text += ', %d skipped' % self.counts['skip']
        return text


def default_tool():
    return os.environ.get('PCS') or os.path.join(REPO, 'src', 'pycore-stacks')


def resolve_pythons(paths):
    pythons = []
    for path in paths:
        try:
            pythons.append(probe_python(path))
        except Skip as e:
            print('skip: python %s' % e, file=sys.stderr)
    pythons.sort(key=version_key)
    # "3.12"; "3.11.2" and "3.11.7" when two share a minor version; the
    # path when two share the version.
    minors = [p.label for p in pythons]
    versions = [p.version for p in pythons]
    for p in pythons:
        if versions.count(p.version) > 1:
            p.label = p.path
        elif minors.count(p.label) > 1:
            p.label = p.version
    return pythons


def parse_args(argv):
    parser = argparse.ArgumentParser(
        description='Dump every corpus scenario live and from a core and '
                    'compare with the truth it recorded.')
    parser.add_argument('--tool', default=default_tool(),
                        help='pycore-stacks binary (default: $PCS or src/pycore-stacks)')
    parser.add_argument('--python', action='append', default=[],
                        help='interpreter to test (repeatable; default: every '
                             '$(pyenv root)/versions/3.*/bin/python3.N)')
    parser.add_argument('--scenario', action='append', default=[],
                        help='scenario name (repeatable; "demo" is corpus/demo.py)')
    parser.add_argument('--mode', choices=('live', 'core', 'both'), default='both')
    parser.add_argument('-k', action='append', default=[],
                        help='only cases whose name contains this (repeatable)')
    parser.add_argument('-j', '--jobs', type=int, default=2,
                        help='scenarios dumped in parallel (default 2)')
    parser.add_argument('-v', '--verbose', action='store_true')
    parser.add_argument('--core-writer', choices=('gcore', 'kernel'), default='gcore',
                        help='how cores are made: gdb\'s gcore (default), or the '
                        'kernel (SIGABRT; the process dies, so live runs first)')
    parser.add_argument('--tool-arg', action='append', default=[],
                        help='pass ARG to every run of the tool (repeatable), '
                        'e.g. --tool-arg=--debug-dir=DIR')
    parser.add_argument('--layout-source', action='append', default=[],
                        help='run the tool with --layout-source S (repeatable: '
                        'every mode once per source; the JSON must name it)')
    parser.add_argument('--greenlet-root', default=os.environ.get('PCS_GREENLET_ROOT'),
                        metavar='DIR',
                        help='greenlet builds for the scenarios: DIR/pyX.Y goes '
                        'first on their sys.path (passed as $PCS_GREENLET_ROOT; '
                        'default: $PCS_GREENLET_ROOT; tools/provision-greenlet.sh '
                        'prints it)')
    parser.add_argument('--truth-only', action='store_true',
                        help='only run the scenarios and check their truth; '
                             'no tool needed')
    parser.add_argument('--bad-input', action='store_true',
                        help='run tests/corpus/bad_input.py instead')
    return parser.parse_args(argv)


def main(argv=None):
    options = parse_args(sys.argv[1:] if argv is None else argv)
    if options.bad_input:
        sys.dont_write_bytecode = True
        import bad_input
        forwarded = ['--tool', options.tool]
        for python in options.python:
            forwarded += ['--python', python]
        for k in options.k:
            forwarded += ['-k', k]
        if options.verbose:
            forwarded.append('-v')
        return bad_input.main(forwarded)

    if not options.truth_only:
        options.tool = os.path.abspath(options.tool)
        if not os.access(options.tool, os.X_OK):
            print('skip: tool not found: %s (build it, or give --tool or $PCS)'
                  % options.tool, file=sys.stderr)
            return SKIP
    options.gcore = shutil.which('gcore')

    paths = options.python or default_pythons()
    pythons = resolve_pythons(paths)
    if not pythons:
        print('skip: no interpreters (none given with --python, and no '
              'pyenv python3.N found)', file=sys.stderr)
        return SKIP

    known = all_scenarios() + ['demo']
    scenarios = options.scenario or all_scenarios()
    for name in scenarios:
        if name not in known:
            print('unknown scenario %r; known: %s' % (name, ', '.join(known)),
                  file=sys.stderr)
            return 2

    units = plan(pythons, scenarios, options)
    reporter = Reporter(options.verbose)
    pool = concurrent.futures.ThreadPoolExecutor(max(1, options.jobs))
    futures = [pool.submit(unit.run, options) for unit in units]
    try:
        for future in concurrent.futures.as_completed(futures):
            for result in future.result():
                reporter.report(result)
    except KeyboardInterrupt:
        # Running units still kill their scenario on the way out.
        for future in futures:
            future.cancel()
        pool.shutdown(wait=True)
        print('interrupted; ' + reporter.summary())
        return 130
    pool.shutdown(wait=True)
    print(reporter.summary())
    return 1 if reporter.counts['FAIL'] else 0


if __name__ == '__main__':
    sys.exit(main())
