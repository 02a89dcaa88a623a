#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""pycore-stacks benchmark: one command, results in bench/RESULTS.md.

    bench/run.sh                 # full run (what RESULTS.md shows)
    bench/run.sh --quick         # small sizes, 3 runs: bench/quick/RESULTS.md
    bench/run.sh --regen         # make the cached cores again

What it does, in order (see bench/README.md for the method):

 1. provisions what it needs (apt: gdb, python3.11-dbg, python3-greenlet,
    python3-gevent, time, linux-perf; Debian sid's CPython 3.14 through
    tools/provision-sid.sh) and builds the tool (tools/setup.sh);
 2. makes the cores, or reuses them from $PCS_CACHE/bench (default
    /var/cache/pycore-stacks/bench): each workload of bench/workloads/ is
    started, parks itself and prints "ready", then is dumped with gdb's
    gcore (Debian's 3.11) or by the kernel on SIGABRT (sid's 3.14, whose
    pages bookworm's gcore gets wrong);
 3. (full mode) waits until the 1-minute load average is below 0.7;
 4. times pycore-stacks on each core (median of N runs after one checked
    warm-up run), the anchors on the same inputs (gdb + CPython's
    libpython.py, `thread apply all py-bt`; `python3.14 -m asyncio pstree`
    live), the stop time of live targets measured from inside the target,
    and the scaling series;
 5. checks the tool's output on every input (exit status, counts, every
    await chain / greenlet stack) and reports failures loudly;
 6. writes RESULTS.md and results.json.

Standard library only; run it with any Python 3.7+ (bench/run.sh uses
/usr/bin/python3).
"""
import argparse
import array
import datetime
import hashlib
import json
import mmap
import os
import platform
import re
import resource
import select
import shutil
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time

BENCH = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(BENCH)
TOOL = os.path.join(ROOT, 'src', 'pycore-stacks')
WORKLOADS = os.path.join(BENCH, 'workloads')
PY311 = '/usr/bin/python3.11'
RING = 1 << 20                     # bench/workloads/common.py: monitor ring slots
RING_HEADER = 8

# Each task of the workloads awaits this chain (outermost first), each
# raw greenlet is suspended in this one.
TASK_CHAIN = ['waiter', 'middle', 'wait']
GREENLET_CHAIN = ['top', 'middle', 'leaf']
HEAP_GREENLET_CHAIN = ['top', 'middle_gl', 'leaf']

FULL = {
    'runs': 5, 'gdb_runs': 5, 'live_runs': 7,
    'threads': [3, 200],
    'tasks': 100000,
    'greenlets': 100000,
    # 5M gc-tracked objects, each with its own 192-byte bytes payload,
    # topped up to 2 GB with a (not tracked) bytes ballast; 10 tasks.
    'heap': {'objects': 5000000, 'payload': 192, 'tasks': 10, 'heap_mb': 2048},
    'scale_tasks': [1000, 10000, 100000],
    'scale_greenlets': [1000, 10000, 100000],
    'scale_objects': [500000, 1000000, 5000000],
    'scale_ballast_mb': [0, 512, 2048],
    'live_threads': [3, 50, 200],
    'live_tasks': 100000,
    'py314_tasks': 100000,
    'py314_live': [100000, 50000],
    'anchor_timeout': 600,
}
QUICK = {
    'runs': 3, 'gdb_runs': 3, 'live_runs': 3,
    'threads': [3, 200],
    'tasks': 10000,
    'greenlets': 10000,
    'heap': {'objects': 200000, 'payload': 192, 'tasks': 10, 'heap_mb': 256},
    'scale_tasks': [1000, 3000, 10000],
    'scale_greenlets': [1000, 3000, 10000],
    'scale_objects': [50000, 100000, 200000],
    'scale_ballast_mb': [0, 128, 512],
    'live_threads': [3, 50, 200],
    'live_tasks': 10000,
    'py314_tasks': 10000,
    'py314_live': [10000],
    'anchor_timeout': 120,
}
SECTIONS = ['cores', 'live', 'scaling', 'py314', 'perf']


def log(msg):
    sys.stderr.write('[bench %s] %s\n' % (time.strftime('%H:%M:%S'), msg))
    sys.stderr.flush()


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


# --- provisioning -----------------------------------------------------------

APT_PACKAGES = ['gdb', 'python3.11-dbg', 'python3-greenlet', 'python3-gevent', 'time', 'linux-perf']


def provision(notes):
    missing = [p for p in APT_PACKAGES if subprocess.run(
        ['dpkg-query', '-W', '-f=${Status}', p], stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL).stdout.decode().find('ok installed') < 0]
    if missing:
        log('apt-get install %s' % ' '.join(missing))
        env = dict(os.environ, DEBIAN_FRONTEND='noninteractive')
        subprocess.run(['apt-get', 'update', '-q'], stdout=subprocess.DEVNULL, env=env)
        r = subprocess.run(['apt-get', 'install', '-y', '-q', '--no-install-recommends'] + missing,
                           stdout=subprocess.DEVNULL, env=env)
        if r.returncode != 0:
            notes.append('apt-get install %s failed (exit %d)' % (' '.join(missing), r.returncode))
    log('building the tool (tools/setup.sh)')
    r = subprocess.run([os.path.join(ROOT, 'tools', 'setup.sh')], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT)
    if r.returncode != 0:
        tail = r.stdout.decode('utf-8', 'replace').strip().splitlines()[-5:]
        if os.access(TOOL, os.X_OK):
            notes.append('build failed (tools/setup.sh exit %d); benchmarked the existing binary: %s'
                         % (r.returncode, ' / '.join(tail)))
            log('build FAILED, using the existing binary')
        else:
            sys.exit('bench: build failed and there is no binary:\n' + '\n'.join(tail))
    py314 = None
    log('provisioning sid CPython 3.14 (tools/provision-sid.sh)')
    r = subprocess.run([os.path.join(ROOT, 'tools', 'provision-sid.sh')], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE)
    if r.returncode == 0:
        for line in r.stdout.decode().splitlines():
            if line.startswith('python3.14 '):
                py314 = line.split(' ', 1)[1]
    if not py314:
        notes.append('Debian sid CPython 3.14 could not be provisioned (tools/provision-sid.sh exit %d): '
                     'no 3.14 rows, no `asyncio pstree` anchor' % r.returncode)
    return py314


# --- processes --------------------------------------------------------------

class Workload(object):
    """A workload process parked in a known state."""

    def __init__(self, exe, script, args, cwd=None, kernel_core=False, timeout=900):
        self.argv = [exe, os.path.join(WORKLOADS, script)] + list(args)
        self.errfile = tempfile.TemporaryFile()

        def pre():
            if kernel_core:
                resource.setrlimit(resource.RLIMIT_CORE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
        self.proc = subprocess.Popen(self.argv, stdout=subprocess.PIPE, stderr=self.errfile,
                                     cwd=cwd, preexec_fn=pre, start_new_session=True)
        self.pid = self.proc.pid
        self.info = self._wait_ready(timeout)

    def _wait_ready(self, timeout):
        deadline = time.monotonic() + timeout
        buf = b''
        while b'\n' not in buf:
            left = deadline - time.monotonic()
            if left <= 0:
                self.kill()
                raise RuntimeError('%s: no "ready" within %d s' % (' '.join(self.argv), timeout))
            r, _, _ = select.select([self.proc.stdout], [], [], min(left, 1.0))
            if r:
                chunk = os.read(self.proc.stdout.fileno(), 4096)
                if not chunk:
                    self.proc.wait()
                    self.errfile.seek(0)
                    raise RuntimeError('%s exited (%s) before "ready":\n%s' % (
                        ' '.join(self.argv), self.proc.returncode,
                        self.errfile.read().decode('utf-8', 'replace')[-2000:]))
                buf += chunk
        line = buf.split(b'\n')[0].decode()
        if not line.startswith('ready'):
            self.kill()
            raise RuntimeError('%s: unexpected first line %r' % (' '.join(self.argv), line))
        info = {}
        for kv in line.split()[1:]:
            k, _, v = kv.partition('=')
            info[k] = int(v) if re.match(r'^-?\d+$', v) else v
        return info

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()


class Run(object):
    def __init__(self, cmd):
        self.cmd = cmd
        self.wall = None
        self.maxrss_kb = None
        self.minflt = self.majflt = None
        self.rc = None
        self.timed_out = False
        self.peak = {}          # sampled peaks of /proc/PID/status fields (kB)
        self.stderr = ''
        self.t0 = self.t1 = None

    def as_dict(self):
        return {'wall': self.wall, 'maxrss_kb': self.maxrss_kb, 'rc': self.rc,
                'minflt': self.minflt, 'majflt': self.majflt,
                'timed_out': self.timed_out, 'peak_kb': self.peak or None}


STATUS_FIELDS = ('VmRSS', 'RssAnon', 'RssFile', 'RssShmem')


GNU_TIME = '/usr/bin/time'


def measure(cmd, out_path, timeout, sample=False):
    """Run cmd with stdout to out_path: wall time (time.monotonic() around
    it, so it includes starting GNU time: ~1 ms) and peak RSS.

    Peak RSS comes from GNU time (its wait4 rusage of cmd), not from this
    driver's own wait4: Linux carries the RSS of the process that forked
    (or vforked) a program over into that program's ru_maxrss, and this
    driver grows to hundreds of MB parsing the outputs; GNU time is ~2 MB.
    sample: also poll /proc/PID/status of cmd every ~1 ms for the peaks
    of RssAnon / RssFile (a sampled peak: a lower bound)."""
    run = Run(cmd)
    fd, tfile = tempfile.mkstemp(prefix='time-')
    os.close(fd)
    with open(out_path, 'wb') as out, tempfile.TemporaryFile() as err:
        run.t0 = time.monotonic()
        proc = subprocess.Popen([GNU_TIME, '-f', 'rusage %M %R %F', '-o', tfile] + list(cmd),
                                stdout=out, stderr=err, start_new_session=True)
        done = threading.Event()

        def killer():
            if not done.wait(timeout):
                run.timed_out = True
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except OSError:
                    pass
        threading.Thread(target=killer, daemon=True).start()
        sampler = None
        if sample:
            def poll():
                children = '/proc/%d/task/%d/children' % (proc.pid, proc.pid)
                pid = None
                while pid is None and not done.is_set():
                    try:
                        with open(children) as f:
                            kids = f.read().split()
                    except OSError:
                        return
                    if kids:
                        pid = int(kids[0])
                path = '/proc/%d/status' % pid if pid else None
                while path and not done.is_set():
                    try:
                        with open(path) as f:
                            text = f.read()
                    except OSError:
                        return
                    for line in text.splitlines():
                        name, _, rest = line.partition(':')
                        if name in STATUS_FIELDS:
                            kb = int(rest.split()[0])
                            if kb > run.peak.get(name, 0):
                                run.peak[name] = kb
                    time.sleep(0.001)
            sampler = threading.Thread(target=poll, daemon=True)
            sampler.start()
        proc.wait()
        run.t1 = time.monotonic()
        done.set()
        if sampler:
            sampler.join()
        run.rc = proc.returncode
        run.wall = run.t1 - run.t0
        try:
            with open(tfile) as f:
                lines = f.read().splitlines()
            for line in lines:
                if line.startswith('rusage '):
                    run.maxrss_kb, run.minflt, run.majflt = (int(x) for x in line.split()[1:4])
                elif 'terminated by signal' in line:
                    run.rc = -int(line.split()[-1])
        except (OSError, ValueError):
            pass
        os.unlink(tfile)
        err.seek(0)
        run.stderr = err.read().decode('utf-8', 'replace')[-4000:]
    return run


# --- checking outputs -------------------------------------------------------

def check_tool_json(path, rc, expect):
    """Problems (list of str) and a summary of what the JSON holds."""
    problems = []
    if rc != 0:
        problems.append('exit status %s' % rc)
    try:
        with open(path) as f:
            d = json.load(f)
    except (OSError, ValueError) as e:
        problems.append('output is not JSON (%s)' % e)
        return problems, {}
    threads, tasks, greenlets = d.get('threads', []), d.get('tasks', []), d.get('greenlets', [])
    summary = {'threads': len(threads), 'tasks': len(tasks), 'greenlets': len(greenlets),
               'warnings': len(d.get('warnings', [])), 'layout': d.get('target', {}).get('layout')}
    if d.get('warnings'):
        problems.append('%d warnings, e.g. %r' % (len(d['warnings']), d['warnings'][0]))
    if 'threads' in expect and len(threads) != expect['threads']:
        problems.append('%d threads, expected %d' % (len(threads), expect['threads']))
    empty = [t for t in threads if not t.get('frames')]
    if empty:
        problems.append('%d threads without Python frames' % len(empty))
    if expect.get('threads_in_wait'):
        bad = [t for t in threads if not t.get('frames') or t['frames'][-1].get('function') != 'wait']
        if bad:
            problems.append('%d threads not shown blocked in wait()' % len(bad))
    if 'tasks' in expect:
        if len(tasks) != expect['tasks']:
            problems.append('%d tasks, expected %d' % (len(tasks), expect['tasks']))
        bad = [t for t in tasks if [f.get('function') for f in t.get('frames', [])] != TASK_CHAIN]
        if bad:
            problems.append('await chain wrong on %d of %d tasks: got %s, expected %s' % (
                len(bad), len(tasks), '/'.join(f.get('function') or '?' for f in bad[0].get('frames', [])) or 'nothing',
                '/'.join(TASK_CHAIN)))
    if 'greenlets' in expect:
        mine = [g for g in greenlets if g.get('type') == 'greenlet' and not g.get('is_main')]
        susp = [g for g in mine if g.get('state') == 'suspended']
        if len(susp) != expect['greenlets']:
            problems.append('%d suspended greenlets, expected %d' % (len(susp), expect['greenlets']))
        chain = expect.get('greenlet_chain', GREENLET_CHAIN)
        bad = [g for g in susp if [f.get('function') for f in g.get('frames', [])] != chain]
        if bad:
            problems.append('greenlet stack wrong on %d of %d: got %s' % (
                len(bad), len(susp), '/'.join(f.get('function') or '?' for f in bad[0].get('frames', []))))
        if not any(g.get('is_main') for g in greenlets):
            problems.append('no main greenlet')
    return problems, summary


def check_gdb(path, rc, expect):
    problems = []
    if rc != 0:
        problems.append('exit status %s' % rc)
    try:
        with open(path, 'rb') as f:
            text = f.read().decode('utf-8', 'replace')
    except OSError:
        text = ''
    tracebacks = text.count('Traceback (most recent call first):')
    unreadable = text.count('unable to read python frame information') + \
        text.count('Unable to locate python frame')
    want = expect.get('threads', 1)
    if tracebacks < want:
        problems.append('%d Python tracebacks, expected %d' % (tracebacks, want))
    if unreadable:
        problems.append('%d frames or threads unreadable ("unable to read python frame information" / '
                        '"Unable to locate python frame")' % unreadable)
    return problems, {'tracebacks': tracebacks}


def check_pstree(path, rc, expect):
    problems = []
    if rc != 0:
        problems.append('exit status %s' % rc)
    try:
        with open(path, 'rb') as f:
            text = f.read().decode('utf-8', 'replace')
    except OSError:
        text = ''
    tasks = len(re.findall(r'\(T\) waiter-\d+', text))
    if 'tasks' in expect and tasks != expect['tasks']:
        problems.append('%d tasks in the tree, expected %d' % (tasks, expect['tasks']))
        if rc != 0 and text.strip():
            problems.append('it said: %s' % text.strip().splitlines()[0][:200])
    return problems, {'tasks': tasks}


# --- inputs (cores) ---------------------------------------------------------

class Spec(object):
    """One workload configuration: what to run and what a dump must show."""

    def __init__(self, key, label, script, args, expect, python='py311'):
        self.key, self.label, self.script, self.args = key, label, script, [str(a) for a in args]
        self.expect, self.python = expect, python


def spec_threads(n, python='py311'):
    return Spec('threads-%d-%s' % (n, python), '%d threads' % n, 'threads.py', [n],
                {'threads': n, 'threads_in_wait': True}, python)


def spec_tasks(n, python='py311'):
    return Spec('tasks-%d-%s' % (n, python), '{:,} pending asyncio tasks'.format(n), 'tasks.py', [n],
                {'threads': 1, 'tasks': n}, python)


def spec_greenlets(n, python='py311'):
    return Spec('greenlets-%d-%s' % (n, python), '{:,} suspended greenlets'.format(n), 'greenlets.py', [n],
                {'threads': 1, 'greenlets': n}, python)


def spec_heap(objects, payload, tasks, heap_mb=0, ballast_mb=0, greenlets=0, python='py311'):
    args = [objects, payload, tasks]
    key = 'heap-%d-%d-%d' % (objects, payload, tasks)
    expect = {'threads': 1, 'tasks': tasks}
    if greenlets:
        args += ['--greenlets', greenlets]
        key += '-g%d' % greenlets
        expect.update(greenlets=greenlets, greenlet_chain=HEAP_GREENLET_CHAIN)
    if heap_mb:
        args += ['--heap-mb', heap_mb]
        key += '-h%d' % heap_mb
    if ballast_mb:
        args += ['--ballast-mb', ballast_mb]
        key += '-b%d' % ballast_mb
    if heap_mb:
        label = '{:,}-MB heap, {:,} objects, {} tasks'.format(heap_mb, objects, tasks)
    elif ballast_mb or not objects:
        label = '{:,}-MB ballast, {} tasks'.format(ballast_mb, tasks)
    else:
        label = '{:,} objects, {} tasks'.format(objects, tasks)
    if greenlets:
        label += ', %d greenlets' % greenlets
    return Spec(key + '-' + python, label, 'heap.py', args, expect, python)


def file_id(path):
    st = os.stat(path)
    return '%s:%d:%d' % (os.path.realpath(path), st.st_size, int(st.st_mtime))


class Cores(object):
    def __init__(self, cache, pythons, regen):
        self.cache, self.pythons, self.regen = cache, pythons, regen
        os.makedirs(cache, exist_ok=True)

    def get(self, spec):
        """(core path, meta) for spec, made if missing (or --regen)."""
        exe = self.pythons[spec.python]
        core = os.path.join(self.cache, spec.key + '.core')
        meta_path = core + '.json'
        want = {'argv': [spec.script] + spec.args, 'exe': exe, 'exe_id': file_id(exe),
                'workload_sha': self._workload_sha(spec.script)}
        if not self.regen and os.path.exists(core) and os.path.exists(meta_path):
            with open(meta_path) as f:
                meta = json.load(f)
            if all(meta.get(k) == v for k, v in want.items()) and \
                    meta.get('core_size') == os.path.getsize(core):
                return core, meta
        log('making core %s (%s %s)' % (spec.key, os.path.basename(exe), ' '.join(want['argv'])))
        kernel = spec.python != 'py311'
        work = tempfile.mkdtemp(prefix='make-', dir=self.cache)
        t0 = time.monotonic()
        try:
            wl = Workload(exe, spec.script, spec.args, cwd=work, kernel_core=kernel)
            if kernel:
                with open('/proc/sys/kernel/core_pattern') as f:
                    pattern = f.read().strip()
                if pattern.startswith('|') or '/' in pattern:
                    wl.kill()
                    raise RuntimeError('kernel cores go to %r, not the working directory' % pattern)
                os.kill(wl.pid, signal.SIGABRT)
                wl.proc.wait(timeout=900)
                made = [n for n in os.listdir(work) if n.startswith(pattern.split('%')[0] or 'core')]
                if not made:
                    raise RuntimeError('no kernel core in %s' % work)
                src = os.path.join(work, made[0])
            else:
                r = subprocess.run(['gcore', '-o', os.path.join(work, 'core'), str(wl.pid)],
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=1800)
                wl.kill()
                src = os.path.join(work, 'core.%d' % wl.pid)
                if r.returncode != 0 or not os.path.exists(src):
                    raise RuntimeError('gcore failed: %s' % r.stdout.decode('utf-8', 'replace')[-1000:])
            os.replace(src, core)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        st = os.stat(core)
        meta = dict(want, key=spec.key, ready=wl.info, core_size=st.st_size,
                    core_allocated=st.st_blocks * 512, method='kernel (SIGABRT)' if kernel else 'gcore',
                    seconds_to_make=round(time.monotonic() - t0, 1),
                    created=datetime.datetime.now().isoformat(timespec='seconds'))
        with open(meta_path, 'w') as f:
            json.dump(meta, f, indent=1)
        return core, meta

    @staticmethod
    def _workload_sha(script):
        h = hashlib.sha256()
        for name in (script, 'common.py'):
            with open(os.path.join(WORKLOADS, name), 'rb') as f:
                h.update(f.read())
        return h.hexdigest()[:16]


# --- benchmarking -----------------------------------------------------------

class Bench(object):
    def __init__(self, args, cfg, pythons, tmp):
        self.args, self.cfg, self.pythons, self.tmp = args, cfg, pythons, tmp
        self.failures = []        # loud: shown first in RESULTS.md
        self.section = 'cores'

    def fail(self, where, problems):
        for p in problems:
            self.failures.append({'section': self.section, 'what': '%s: %s' % (where, p)})
            log('FAIL %s: %s' % (where, p))

    def tool_on_core(self, where, core, exe, expect, runs, text=False, sample=True):
        """Checked warm-up run, one sampled run (RSS split), `runs` timed runs."""
        out = os.path.join(self.tmp, 'out.json')
        cmd = [TOOL, '--format', 'json', core, exe]
        first = measure(cmd, out, self.cfg['anchor_timeout'])
        problems, summary = check_tool_json(out, first.rc, expect)
        if first.timed_out:
            problems.insert(0, 'timed out after %d s' % self.cfg['anchor_timeout'])
        if first.rc not in (0, 3) and first.stderr:
            problems.append('stderr: ' + first.stderr.strip().splitlines()[-1])
        self.fail(where, problems)
        size = os.path.getsize(out)
        result = {'check': summary, 'problems': problems, 'output_bytes': size,
                  'cmd': ' '.join(cmd)}
        if first.timed_out:
            result['json'] = {'runs': [first.as_dict()], 'wall': None, 'maxrss_kb': None}
            return result
        sampled = measure(cmd, os.path.join(self.tmp, 'sampled.json'), 600, sample=True) if sample else None
        timed = []
        for _ in range(runs):
            r = measure(cmd, out, self.cfg['anchor_timeout'])
            if r.rc != first.rc or os.path.getsize(out) != size:
                self.fail(where, ['run differs from the checked one (exit %s, %d bytes vs %d)'
                                  % (r.rc, os.path.getsize(out), size)])
            timed.append(r)
        result['json'] = {'runs': [r.as_dict() for r in timed],
                          'wall': median(r.wall for r in timed),
                          'maxrss_kb': max(r.maxrss_kb for r in timed),
                          'minflt': median(r.minflt for r in timed),
                          'sampled_peak_kb': sampled.peak if sampled else None}
        if text:
            tcmd = [TOOL, core, exe]
            truns = [measure(tcmd, os.path.join(self.tmp, 'out.txt'), self.cfg['anchor_timeout'])
                     for _ in range(runs)]
            result['text'] = {'runs': [r.as_dict() for r in truns], 'wall': median(r.wall for r in truns),
                              'maxrss_kb': max(r.maxrss_kb for r in truns),
                              'output_bytes': os.path.getsize(os.path.join(self.tmp, 'out.txt'))}
        return result

    def gdb_on_core(self, where, core, exe, expect, extra_iex=(), extra_ex=()):
        cmd = ['gdb', '-batch', '-nx']
        for c in extra_iex:
            cmd += ['-iex', c]
        for c in extra_ex:
            cmd += ['-ex', c]
        cmd += ['-ex', 'thread apply all py-bt', exe, core]
        out = os.path.join(self.tmp, 'gdb.txt')
        timeout = self.cfg['anchor_timeout']
        runs = []
        problems = []
        for i in range(self.cfg['gdb_runs']):
            r = measure(cmd, out, timeout)
            runs.append(r)
            if i == 0:
                if r.timed_out:
                    problems = ['timed out (> %d s)' % timeout]
                else:
                    problems, summary = check_gdb(out, r.rc, expect)
                if problems:
                    break
                if r.wall > 60:       # slow: fewer runs
                    if len(runs) >= 3 or r.wall > 200:
                        break
            if i >= 2 and runs[0].wall > 60:
                break
        res = {'cmd': ' '.join(cmd), 'runs': [r.as_dict() for r in runs], 'problems': problems,
               'timed_out': runs[0].timed_out, 'timeout': timeout}
        if not problems:
            res['wall'] = median(r.wall for r in runs)
            res['maxrss_kb'] = max(r.maxrss_kb for r in runs)
        else:
            log('anchor gdb on %s: %s' % (where, '; '.join(problems)))
        return res

    # -- cores ---------------------------------------------------------------

    def core_specs(self):
        cfg = self.cfg
        return [spec_threads(n) for n in cfg['threads']] + [
            spec_tasks(cfg['tasks']), spec_greenlets(cfg['greenlets']),
            spec_heap(cfg['heap']['objects'], cfg['heap']['payload'], cfg['heap']['tasks'],
                      heap_mb=cfg['heap']['heap_mb'])]

    def cores_section(self, cores):
        cfg = self.cfg
        rows = []
        for spec in self.core_specs():
            core, meta = cores.get(spec)
            exe = self.pythons[spec.python]
            log('cores: %s' % spec.label)
            row = {'key': spec.key, 'label': spec.label, 'core': core, 'core_size': meta['core_size'],
                   'ready': meta['ready'], 'python': spec.python}
            row['tool'] = self.tool_on_core(spec.label, core, exe, spec.expect, cfg['runs'], text=True)
            row['gdb'] = self.gdb_on_core(spec.label, core, exe, spec.expect)
            rows.append(row)
        return rows

    # -- scaling -------------------------------------------------------------

    def scaling_section(self, cores):
        cfg = self.cfg
        h = cfg['heap']
        series = [
            ('tasks', [(n, spec_tasks(n)) for n in cfg['scale_tasks']]),
            ('greenlets', [(n, spec_greenlets(n)) for n in cfg['scale_greenlets']]),
            ('objects', [(n, spec_heap(n, h['payload'], h['tasks'],
                                       heap_mb=h['heap_mb'] if n == h['objects'] else 0))
                         for n in cfg['scale_objects']]),
            ('objects_gc', [(n, spec_heap(n, h['payload'], h['tasks'], greenlets=10))
                            for n in cfg['scale_objects']]),
            ('ballast_mb', [(mb, spec_heap(0, 0, h['tasks'], ballast_mb=mb)) for mb in cfg['scale_ballast_mb']]),
        ]
        out = []
        for axis, points in series:
            rows = []
            for n, spec in points:
                core, meta = cores.get(spec)
                log('scaling: %s' % spec.label)
                t = self.tool_on_core('scaling ' + spec.label, core, self.pythons[spec.python],
                                      spec.expect, cfg['runs'])
                rows.append({'n': n, 'key': spec.key, 'label': spec.label, 'core_size': meta['core_size'],
                             'ready': meta['ready'], 'tool': t})
            out.append({'axis': axis, 'rows': rows})
        return out

    # -- live ----------------------------------------------------------------

    def live_target(self, spec, exe, tools, runs, make_core=None):
        """Start spec's workload with the stop monitor; for each (label,
        argv-builder, checker) in tools, `runs` dumps, each with the
        longest gap the monitor saw while it ran; then baseline windows of
        the same length with no dump."""
        ring = os.path.join(self.tmp, 'monitor.ring')
        if os.path.exists(ring):
            os.unlink(ring)
        wl = Workload(exe, spec.script, spec.args + ['--monitor', ring])
        res = {'label': spec.label, 'ready': wl.info, 'tools': {}}
        try:
            time.sleep(1.5)
            with open(ring, 'rb') as f:
                mm = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
            res['period_ms'] = nominal_period(mm) * 1e3
            for label, build, checker in tools:
                out = os.path.join(self.tmp, 'live.out')
                rr = []
                problems = []
                for i in range(runs):
                    r = measure(build(wl.pid), out, self.cfg['anchor_timeout'])
                    time.sleep(0.1)
                    gap = max_gap(mm, r.t0, r.t1)
                    rr.append(dict(r.as_dict(), gap_ms=gap * 1e3 if gap is not None else None))
                    if i == 0:
                        problems, summary = checker(out, r.rc, spec.expect)
                        if r.timed_out:
                            problems.insert(0, 'timed out (> %d s)' % self.cfg['anchor_timeout'])
                        if problems and label == 'pycore-stacks':
                            self.fail('live %s (%s)' % (spec.label, os.path.basename(exe)), problems)
                        if problems and r.stderr.strip():
                            problems.append('stderr: %s' % r.stderr.strip().splitlines()[0][:200])
                        if r.timed_out or (problems and label != 'pycore-stacks'):
                            break
                    time.sleep(0.2)
                syscalls = None
                if label == 'pycore-stacks' and shutil.which('perf'):
                    syscalls = count_syscalls(build(wl.pid), self.tmp)
                    time.sleep(0.2)
                # Baseline: same window length, no dump.
                window = median(x['wall'] for x in rr)
                base = []
                for _ in range(runs):
                    t0 = time.monotonic()
                    time.sleep(window)
                    t1 = time.monotonic()
                    time.sleep(0.1)
                    g = max_gap(mm, t0, t1)
                    base.append(g * 1e3 if g is not None else None)
                res['tools'][label] = {
                    'runs': rr, 'problems': problems,
                    'wall': median(x['wall'] for x in rr),
                    'gap_ms': median(x['gap_ms'] for x in rr),
                    'gap_ms_max': max((x['gap_ms'] for x in rr if x['gap_ms'] is not None), default=None),
                    'baseline_ms': median(base), 'baseline_runs_ms': base, 'syscalls': syscalls,
                    'window_s': window}
                g, b = res['tools'][label]['gap_ms'], res['tools'][label]['baseline_ms']
                res['tools'][label]['stop_ms'] = (g - b) if g is not None and b is not None else None
            mm.close()
        finally:
            if make_core:
                res['core'] = make_core(wl)
            wl.kill()
        return res

    def live_section(self):
        cfg = self.cfg
        exe = self.pythons['py311']
        tool = ('pycore-stacks', lambda pid: [TOOL, '--format', 'json', '--pid', str(pid)], check_tool_json)
        gdb = ('gdb + libpython.py', lambda pid: ['gdb', '-batch', '-nx', '-ex', 'thread apply all py-bt',
                                                   exe, '-p', str(pid)], check_gdb)
        out = []
        for n in cfg['live_threads']:
            spec = spec_threads(n)
            spec.expect = {'threads': n}          # one of them is the monitor
            log('live: %s' % spec.label)
            out.append(self.live_target(spec, exe, [tool, gdb], cfg['live_runs']))
        for spec in [spec_tasks(cfg['live_tasks']), spec_greenlets(cfg['live_tasks'])]:
            spec.expect = dict(spec.expect, threads=2)     # + the monitor thread
            log('live: %s' % spec.label)
            out.append(self.live_target(spec, exe, [tool, gdb], cfg['live_runs']))
        for r in out:
            r['python'] = 'py311'
        return out

    def py314_section(self, cores):
        cfg = self.cfg
        exe = self.pythons.get('py314')
        if not exe:
            return None
        n = cfg['py314_tasks']
        res = {}
        # From a kernel core (no monitor thread).
        spec = spec_tasks(n, 'py314')
        try:
            core, meta = cores.get(spec)
        except RuntimeError as e:
            self.fail('3.14 core', [str(e)])
            core = None
        if core:
            log('py314: %s from a core' % spec.label)
            res['core'] = {'core_size': meta['core_size'], 'ready': meta['ready'],
                           'tool': self.tool_on_core('3.14 ' + spec.label, core, exe, spec.expect,
                                                     cfg['runs'], text=True)}
            sid = os.path.dirname(os.path.dirname(os.path.dirname(exe)))
            gdbpy = os.path.join(sid, 'usr/share/gdb/auto-load/usr/bin/python3.14-gdb.py')
            if os.path.exists(gdbpy):
                saved = self.cfg['gdb_runs']
                self.cfg['gdb_runs'] = 1
                res['core']['gdb'] = self.gdb_on_core(
                    '3.14 ' + spec.label, core, exe, spec.expect,
                    extra_iex=['set debug-file-directory %s/usr/lib/debug:/usr/lib/debug' % sid,
                               'set auto-load safe-path /'],
                    extra_ex=['source ' + gdbpy])
                self.cfg['gdb_runs'] = saved
        # Live, with the monitor: pycore-stacks --pid against asyncio pstree,
        # at the full size and at one pstree can read (it gives up past
        # 2^16 tasks in a list: "Task list appears corrupted").
        tool = ('pycore-stacks', lambda pid: [TOOL, '--format', 'json', '--pid', str(pid)], check_tool_json)
        pstree = ('python3.14 -m asyncio pstree', lambda pid: [exe, '-m', 'asyncio', 'pstree', str(pid)],
                  check_pstree)
        res['live'] = []
        for m in cfg['py314_live']:
            live_spec = spec_tasks(m, 'py314')
            live_spec.expect = dict(live_spec.expect, threads=2)
            log('py314: %s live' % live_spec.label)
            res['live'].append(self.live_target(live_spec, exe, [tool, pstree], cfg['live_runs']))
        return res

    def perf_section(self, cores):
        """Where the time goes: perf on each core input (one json run)."""
        if not shutil.which('perf'):
            return None
        out = []
        for spec in self.core_specs():
            core, _ = cores.get(spec)
            row = {'label': spec.label}
            data = os.path.join(self.tmp, 'perf.data')
            exe = self.pythons[spec.python]
            # Warm the page cache first, as for the timed runs.
            subprocess.run([TOOL, '--format', 'json', core, exe], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
            cmd = ['perf', 'record', '-q', '-F', '4999', '-o', data, '--',
                   TOOL, '--format', 'json', core, exe]
            r = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            if r.returncode != 0:
                out.append({'label': row['label'], 'error': r.stderr.decode('utf-8', 'replace')[-300:]})
                continue
            entry = {'label': row['label']}
            for key, sort in (('by_dso', 'dso'), ('by_symbol', 'dso,sym')):
                rep = subprocess.run(['perf', 'report', '-i', data, '--stdio', '--no-children',
                                      '--sort', sort], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
                agg = {}
                for line in rep.stdout.decode('utf-8', 'replace').splitlines():
                    m = re.match(r'^\s+([\d.]+)%\s+(\S+)(?:\s+\[(.)\]\s+(\S+))?', line)
                    if not m:
                        continue
                    dso = os.path.basename(m.group(2))
                    if key == 'by_dso':
                        name = dso
                    else:
                        sym = m.group(4) or '?'
                        name = '%s (%s)' % ('[unresolved]' if sym.startswith('0x') else sym, dso)
                    agg[name] = agg.get(name, 0.0) + float(m.group(1))
                entry[key] = sorted(({'name': k, 'percent': round(v, 1)} for k, v in agg.items()),
                                    key=lambda x: -x['percent'])[:8]
            out.append(entry)
            os.unlink(data)
        return out


LIVE_SYSCALLS = ('process_vm_readv', 'ptrace', 'wait4')


def count_syscalls(cmd, tmp):
    """How many of LIVE_SYSCALLS one dump makes (perf stat tracepoints)."""
    out = os.path.join(tmp, 'perf-stat.csv')
    argv = ['perf', 'stat', '-x', ',', '-o', out]
    for name in LIVE_SYSCALLS:
        argv += ['-e', 'syscalls:sys_enter_' + name]
    r = subprocess.run(argv + ['--'] + list(cmd), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if r.returncode not in (0, 3):
        return None
    counts = {}
    with open(out) as f:
        for line in f:
            parts = line.strip().split(',')
            if len(parts) > 2 and parts[2].startswith('syscalls:sys_enter_'):
                try:
                    counts[parts[2][len('syscalls:sys_enter_'):]] = int(parts[0])
                except ValueError:
                    pass
    return counts or None


def read_ring(mm):
    count = struct.unpack_from('<Q', mm, 0)[0]
    n = min(count, RING)
    ts = array.array('d')
    ts.frombytes(mm[RING_HEADER:RING_HEADER + 8 * RING])
    start = count - n
    return [ts[i % RING] for i in range(start, count)]


def max_gap(mm, t0, t1):
    """Longest interval between consecutive monitor timestamps that overlaps
    [t0, t1] (both time.monotonic(), the same clock in every process)."""
    ts = read_ring(mm)
    if not ts or ts[0] > t0:
        return None
    best = 0.0
    for a, b in zip(ts, ts[1:]):
        if b >= t0 and a <= t1 and b - a > best:
            best = b - a
    return best


def nominal_period(mm):
    ts = read_ring(mm)[-2000:]
    return statistics.median(b - a for a, b in zip(ts, ts[1:]))


# --- machine ----------------------------------------------------------------

def machine(pythons):
    def first(path, key):
        try:
            with open(path) as f:
                for line in f:
                    if line.startswith(key):
                        return line.split(':', 1)[1].strip()
        except OSError:
            pass
        return None

    def cmd(argv):
        try:
            return subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                  cwd=ROOT).stdout.decode().strip()
        except OSError:
            return None
    distro = None
    try:
        with open('/etc/os-release') as f:
            distro = dict(l.strip().split('=', 1) for l in f if '=' in l).get('PRETTY_NAME', '').strip('"')
        with open('/etc/debian_version') as f:
            distro += ' (%s)' % f.read().strip()
    except OSError:
        pass
    mem_kb = int(first('/proc/meminfo', 'MemTotal').split()[0])
    dirty = cmd(['git', 'status', '--porcelain', '--', 'src'])
    sha = tool_sha()
    versions = {}
    for label, exe in pythons.items():
        versions[label] = {'exe': exe, 'version': cmd([exe, '-c', 'import platform; print(platform.python_version())'])}
    return {
        'cpu': first('/proc/cpuinfo', 'model name'),
        'cpus': os.cpu_count(),
        'mem_gib': round(mem_kb / 1024 / 1024, 1),
        'kernel': platform.release(),
        'distro': distro,
        'commit': cmd(['git', 'rev-parse', 'HEAD']),
        'src_modified': dirty.splitlines() if dirty else [],
        'tool_sha256': sha,
        'tool_version': cmd([TOOL, '--version']),
        'gdb': (cmd(['gdb', '--version']) or '').splitlines()[0:1],
        'pythons': versions,
        'greenlet': cmd([PY311, '-c', 'import greenlet; print(greenlet.__version__)']),
        'date': datetime.datetime.now().astimezone().isoformat(timespec='seconds'),
    }


def tool_sha():
    with open(TOOL, 'rb') as f:
        return hashlib.sha256(f.read()).hexdigest()[:12]


def loadavg():
    with open('/proc/loadavg') as f:
        return float(f.read().split()[0])


class LoadWatch(object):
    """The 1-minute load before, after, and its peak (every 5 s) during a section."""

    def __init__(self):
        self.before = loadavg()
        self.peak = self.before
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.done.wait(5):
            self.peak = max(self.peak, loadavg())

    def stop(self):
        self.done.set()
        self.thread.join()
        after = loadavg()
        return {'before': self.before, 'after': after, 'peak': max(self.peak, after)}


def wait_for_quiet(limit=0.7, poll=30, max_wait=1800):
    t0 = time.monotonic()
    while True:
        load = loadavg()
        if load < limit:
            return load, time.monotonic() - t0
        if time.monotonic() - t0 >= max_wait:
            log('load still %.2f after %d s: going on' % (load, max_wait))
            return load, time.monotonic() - t0
        log('1-minute load %.2f >= %.2f: waiting %d s' % (load, limit, poll))
        time.sleep(poll)


# --- main -------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--quick', action='store_true', help='small sizes, 3 runs (while developing)')
    ap.add_argument('--regen', action='store_true', help='make the cached cores again')
    ap.add_argument('--runs', type=int, help='timed runs per measurement (default 5, quick 3)')
    ap.add_argument('--only', action='append', choices=SECTIONS, help='run only these sections')
    ap.add_argument('--no-wait', action='store_true', help='do not wait for a quiet machine')
    ap.add_argument('--out', help='directory for RESULTS.md and results.json '
                    '(default bench/, or bench/quick/ with --quick)')
    ap.add_argument('--merge', action='store_true', help='keep the sections not run from the '
                    'existing results.json (to measure again a section a busy machine disturbed)')
    ap.add_argument('--cache', help='where cores are kept (default $PCS_CACHE/bench)')
    args = ap.parse_args()
    cfg = dict(QUICK if args.quick else FULL)
    if args.runs:
        cfg['runs'] = cfg['gdb_runs'] = cfg['live_runs'] = args.runs
    sections = args.only or SECTIONS
    out_dir = args.out or (os.path.join(BENCH, 'quick') if args.quick else BENCH)
    cache = args.cache or os.path.join(os.environ.get('PCS_CACHE', '/var/cache/pycore-stacks'), 'bench')
    os.makedirs(out_dir, exist_ok=True)

    notes = []
    py314 = provision(notes)
    pythons = {'py311': PY311}
    if py314:
        pythons['py314'] = py314
    cores = Cores(cache, pythons, args.regen)
    tmp = tempfile.mkdtemp(prefix='pcs-bench-')
    bench = Bench(args, cfg, pythons, tmp)
    results = {'mode': 'quick' if args.quick else 'full', 'config': cfg,
               'machine': machine(pythons), 'notes': notes, 'load': {}}
    previous = None
    if args.merge and os.path.exists(os.path.join(out_dir, 'results.json')):
        with open(os.path.join(out_dir, 'results.json')) as f:
            previous = json.load(f)
        if previous.get('mode') != results['mode'] or previous.get('config') != cfg:
            sys.exit('bench: --merge: %s/results.json was made with another mode or configuration' % out_dir)
    try:
        # Make every core first (heavy), then measure, each section after
        # waiting for a quiet machine.
        log('making or reusing the cores in %s' % cache)
        h = cfg['heap']
        wanted = []
        if 'cores' in sections or 'perf' in sections:
            wanted += bench.core_specs()
        if 'scaling' in sections:
            wanted += [spec_tasks(n) for n in cfg['scale_tasks']]
            wanted += [spec_greenlets(n) for n in cfg['scale_greenlets']]
            wanted += [spec_heap(n, h['payload'], h['tasks'], heap_mb=h['heap_mb'] if n == h['objects'] else 0)
                       for n in cfg['scale_objects']]
            wanted += [spec_heap(n, h['payload'], h['tasks'], greenlets=10) for n in cfg['scale_objects']]
            wanted += [spec_heap(0, 0, h['tasks'], ballast_mb=mb) for mb in cfg['scale_ballast_mb']]
        if 'py314' in sections and py314:
            wanted.append(spec_tasks(cfg['py314_tasks'], 'py314'))
        for spec in wanted:
            try:
                cores.get(spec)
            except RuntimeError as e:
                bench.fail('making the core of ' + spec.label, [str(e)])
        run_section = {
            'cores': lambda: bench.cores_section(cores),
            'scaling': lambda: bench.scaling_section(cores),
            'live': bench.live_section,
            'py314': lambda: bench.py314_section(cores),
            'perf': lambda: bench.perf_section(cores),
        }
        wait_budget_used = 0
        for name in SECTIONS:
            if name not in sections:
                continue
            bench.section = name
            waited = 0
            if not args.quick and not args.no_wait:
                # 30 minutes of waiting in all, for every section together.
                _, waited = wait_for_quiet(max_wait=max(0, 1800 - wait_budget_used))
                wait_budget_used += waited
            watch = LoadWatch()
            t0 = time.monotonic()
            log('section %s (1-minute load %.2f)' % (name, watch.before))
            results[name] = run_section[name]()
            results['load'][name] = dict(watch.stop(), waited_s=round(waited),
                                         seconds=round(time.monotonic() - t0),
                                         date=datetime.datetime.now().astimezone().isoformat(timespec='seconds'),
                                         commit=results['machine']['commit'],
                                         tool_sha256=tool_sha())
            if results['load'][name]['tool_sha256'] != results['machine']['tool_sha256']:
                notes.append('src/pycore-stacks was rebuilt (by someone else) before or during section %s: '
                             'binary %s, not %s' % (name, results['load'][name]['tool_sha256'],
                                                    results['machine']['tool_sha256']))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    results['failures'] = bench.failures
    if previous:
        for name in SECTIONS:
            if name not in sections and name in previous:
                results[name] = previous[name]
                if name in previous.get('load', {}):
                    results['load'][name] = previous['load'][name]
                results['failures'] += [f for f in previous.get('failures', [])
                                        if isinstance(f, dict) and f.get('section') == name]
        results['notes'] = sorted(set(results['notes']) | set(previous.get('notes', [])))
    results['sections'] = [n for n in SECTIONS if n in results]
    with open(os.path.join(out_dir, 'results.json'), 'w') as f:
        json.dump(results, f, indent=1, sort_keys=True)
        f.write('\n')
    sys.path.insert(0, BENCH)
    import report
    with open(os.path.join(out_dir, 'RESULTS.md'), 'w') as f:
        f.write(report.markdown(results))
    log('wrote %s' % os.path.join(out_dir, 'RESULTS.md'))
    if bench.failures:
        log('%d FAILURES (see RESULTS.md)' % len(bench.failures))
    return 0


if __name__ == '__main__':
    sys.exit(main())
