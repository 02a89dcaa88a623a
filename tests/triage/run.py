#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Crash triage as it is done on other machines: crash context, --sysroot,
--lib-path, /proc/PID/root, --batch.

- crash: kernel-written cores of processes that die of SIGSEGV in a worker
  thread and of abort() in the main thread name the signal, its code, the
  faulting address and the thread that took it (JSON and text); a gcore'd
  core of a healthy process names no crash.
- sysroot: a Python copied to a scratch prefix, dumped, then moved under a
  directory (as a core and its files arrive on a triage host): the core is
  refused without --sysroot (one line naming what was looked for), read
  exactly with --sysroot (stacks equal the scenario's own record, source
  lines from the sysroot) and with --lib-path plus the executable, and
  refused when the sysroot holds another build (build-id mismatch).
- namespace: a process in its own mount namespace whose Python exists only
  there is read live through /proc/PID/root.
- batch: a directory of cores gives one JSON document per line, in name
  order, with a failed core's own line, and the right exit status.

Ends with "N passed, N failed".
"""

import argparse
import glob
import importlib.util
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

spec = importlib.util.spec_from_file_location(
    'corpus_run', os.path.join(ROOT, 'tests', 'corpus', 'run.py'))
corpus = importlib.util.module_from_spec(spec)
spec.loader.exec_module(corpus)

TIMEOUT = 60

# A worker thread named "crasher" records its OS thread id and the line it
# is about to die on, then reads address 0; the main thread sleeps. With
# "abort", the main thread calls os.abort() instead. Python 2.7 and 3.x.
CRASH_SCRIPT = r'''
import ctypes, json, os, sys, threading, time
out = sys.argv[1]
how = sys.argv[2]
libc = ctypes.CDLL(None, use_errno=True)
def gettid():
    return libc.syscall(186)  # SYS_gettid on x86-64
def record(line):
    info = {"pid": os.getpid(), "tid": gettid(), "line": line}
    with open(out + ".tmp", "w") as f:
        json.dump(info, f)
    os.rename(out + ".tmp", out)
def crash_here():
    record(sys._getframe().f_lineno + 1)
    ctypes.string_at(0)
def worker():
    crash_here()
if how == "segv":
    t = threading.Thread(target=worker, name="crasher")
    t.start()
    time.sleep(3600)
else:
    record(sys._getframe().f_lineno + 1)
    os.abort()
'''


class Failure(Exception):
    pass


def run(argv, timeout=TIMEOUT, **kw):
    return subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          timeout=timeout, **kw)


def dump(tool, args, want_status=0):
    r = run([tool] + args)
    if r.returncode != want_status:
        raise Failure('$ %s: exit %d, want %d\n%s' % (
            ' '.join([tool] + args), r.returncode, want_status,
            r.stderr.decode('utf-8', 'replace')))
    return r


def dump_json(tool, args, want_status=0):
    r = dump(tool, ['--format', 'json'] + args, want_status)
    return json.loads(r.stdout.decode('utf-8'))


def kernel_core_of(argv, workdir, info_path):
    """Run @argv in @workdir until it dies of a signal; its core's path."""
    with open(os.path.join(workdir, 'log'), 'wb') as log:
        proc = subprocess.Popen(argv, cwd=workdir, stdout=log, stderr=log,
                                preexec_fn=corpus.allow_core_dumps)
    try:
        proc.wait(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise Failure('%s did not crash' % ' '.join(argv))
    if proc.returncode >= 0:
        raise Failure('%s exited with %d, not by a signal' % (' '.join(argv), proc.returncode))
    cores = glob.glob(os.path.join(workdir, 'core*'))
    if not cores:
        raise corpus.Skip('no kernel core written (core_pattern %r)' %
                          open('/proc/sys/kernel/core_pattern').read().strip())
    with open(info_path) as f:
        return cores[0], json.load(f)


def check_crash(tool, python, how, workdir):
    script = os.path.join(workdir, 'crash.py')
    with open(script, 'w') as f:
        f.write(CRASH_SCRIPT)
    info_path = os.path.join(workdir, 'info.json')
    core, info = kernel_core_of([python, '-E', '-s', script, info_path, how], workdir,
                                info_path)
    doc = dump_json(tool, [core])
    crash = doc['target'].get('crash')
    errors = []
    if how == 'segv':
        want_crash = {'signal': 11, 'name': 'SIGSEGV', 'code': 1, 'code_name': 'SEGV_MAPERR',
                'address': '0x0', 'sender_pid': None, 'tid': info['tid']}
    else:
        # abort() raises SIGABRT with tgkill: SI_TKILL, from the process itself.
        want_crash = {'signal': 6, 'name': 'SIGABRT', 'code': -6, 'code_name': 'SI_TKILL',
                'address': None, 'sender_pid': info['pid'], 'tid': info['tid']}
    if crash != want_crash:
        errors.append('target.crash %r, want %r' % (crash, want_crash))
    crashed = [t['tid'] for t in doc['threads'] if t.get('crashed')]
    if crashed != [info['tid']]:
        errors.append('threads marked crashed: %r, want [%d]' % (crashed, info['tid']))
    thread = [t for t in doc['threads'] if t['tid'] == info['tid']]
    if thread:
        frames = thread[0]['frames']
        # SIGSEGV: in ctypes' string_at, called from crash_here; abort:
        # os.abort() is C, the innermost Python frame is the module's.
        want = [('crash_here', info['line']), ('string_at', None)] if how == 'segv' \
            else [('<module>', info['line'])]
        got = [(f.get('function'), f.get('line')) for f in frames[-len(want):]]
        got = [(fn, None if w[1] is None else line) for (fn, line), w in zip(got, want)]
        if got != want:
            errors.append('innermost frames of the crashed thread %r, want %r' % (got, want))
    # The whole command line, not only the kernel's first 80 bytes.
    if doc['target'].get('args') != '%s -E -s %s %s %s' % (python, script, info_path, how):
        errors.append('target.args %r' % doc['target'].get('args'))
    text = dump(tool, ['--format', 'text', '--color', 'never', core]).stdout.decode()
    name = ' "crasher"' if how == 'segv' else ' "MainThread"'
    line = ('Signal: SIGSEGV (SEGV_MAPERR) at 0x0, in thread %d%s' % (info['tid'], name)
            if how == 'segv' else
            'Signal: SIGABRT (SI_TKILL from pid %d), in thread %d%s'
            % (info['pid'], info['tid'], name))
    if line not in text.splitlines():
        errors.append('text has no line %r:\n%s' % (line, '\n'.join(text.splitlines()[:4])))
    if 'took %s' % want_crash['name'] not in text:
        errors.append('text marks no thread as having taken %s' % want_crash['name'])
    if errors:
        raise Failure('\n'.join(errors))
    return core


def check_truth(truth, doc, kind='core'):
    errors = corpus.compare(truth, doc, kind)
    if errors:
        raise Failure('\n'.join(errors))


def copy_python(src_prefix, dst_prefix, version):
    """The parts of a pyenv prefix a corpus scenario needs."""
    os.makedirs(os.path.join(dst_prefix, 'bin'))
    shutil.copy2(os.path.join(src_prefix, 'bin', 'python' + version),
                 os.path.join(dst_prefix, 'bin'))
    lib = os.path.join(dst_prefix, 'lib')
    os.makedirs(lib)
    for so in glob.glob(os.path.join(src_prefix, 'lib', 'libpython%s*.so*' % version)):
        shutil.copy2(so, lib)
    shutil.copytree(os.path.join(src_prefix, 'lib', 'python' + version),
                    os.path.join(lib, 'python' + version), symlinks=True,
                    ignore=shutil.ignore_patterns('test', 'tests', 'idlelib', 'tkinter',
                                                  'site-packages', '__pycache__',
                                                  'config-*', 'ensurepip'))


def scenario_env(prefix):
    env = dict(os.environ)
    env['LD_LIBRARY_PATH'] = os.path.join(prefix, 'lib')
    return env


class Scenario(object):
    """A corpus scenario run by a python outside pyenv's prefix."""

    def __init__(self, argv, workdir, env, scenario='threads_blocking'):
        self.argv = argv + ['-E', '-B', '-s', corpus.scenario_path(scenario),
                            os.path.join(workdir, 'truth.json')]
        self.workdir = workdir
        self.env = env
        self.truth_path = os.path.join(workdir, 'truth.json')

    def __enter__(self):
        self.log = open(os.path.join(self.workdir, 'scenario.log'), 'wb')
        self.proc = subprocess.Popen(self.argv, cwd=self.workdir, env=self.env,
                                     stdout=self.log, stderr=self.log,
                                     start_new_session=True)
        deadline = time.time() + TIMEOUT
        while not os.path.exists(self.truth_path):
            if self.proc.poll() is not None or time.time() > deadline:
                self.__exit__()
                raise Failure('scenario did not record its truth: %s' % open(
                    os.path.join(self.workdir, 'scenario.log')).read())
            time.sleep(0.05)
        with open(self.truth_path) as f:
            self.truth = json.load(f)
        # Its threads all started (the truth lists them).
        while len(os.listdir('/proc/%d/task' % self.proc.pid)) < len(self.truth['threads']):
            time.sleep(0.02)
        return self

    def __exit__(self, *exc):
        corpus.kill_group(self.proc)
        self.proc.wait()
        self.log.close()
        return False


def check_sysroot(tool, pyenv, workdir):
    src = os.path.join(pyenv, 'versions', '3.12.1')
    if not os.path.exists(src):
        raise corpus.Skip('no pyenv 3.12.1')
    prefix = os.path.join(workdir, 'opt', 'py')
    copy_python(src, prefix, '3.12')
    exe = os.path.join(prefix, 'bin', 'python3.12')
    with Scenario([exe], workdir, scenario_env(prefix)) as s:
        core = corpus.gcore(s.proc.pid, workdir)
        truth = s.truth
    # The triage host: the core's files under a sysroot, not where the
    # process saw them.
    sysroot = os.path.join(workdir, 'sysroot')
    moved = sysroot + prefix
    os.makedirs(os.path.dirname(moved))
    os.rename(prefix, moved)
    errors = []
    r = dump(tool, [core], want_status=1)
    err = r.stderr.decode().strip()
    if len(err.splitlines()) != 1 or 'named by the core' not in err or exe not in err \
            or '--sysroot' not in err:
        errors.append('without --sysroot: %r' % err)
    doc = dump_json(tool, ['--sysroot', sysroot, core])
    check_truth(truth, doc)
    sources = [f.get('source') for t in doc['threads'] for f in t['frames']
               if f['file'].startswith(prefix)]
    if not sources or not all(sources):
        errors.append('--sysroot: frames in the moved stdlib have no source line: %r'
                      % sources[:5])
    # --lib-path: the executable named, libpython found by name.
    doc = dump_json(tool, ['--lib-path', '/nonexistent:' + os.path.join(moved, 'lib'),
                           core, os.path.join(moved, 'bin', 'python3.12')])
    check_truth(truth, doc)
    # Another build in the sysroot: refused, naming both build-ids.
    other = glob.glob(os.path.join(pyenv, 'versions', '3.11.*', 'lib', 'libpython3.11.so.1.0'))
    if other:
        lib = os.path.join(moved, 'lib', 'libpython3.12.so.1.0')
        os.rename(lib, lib + '.orig')
        shutil.copy2(other[0], lib)
        r = dump(tool, ['--sysroot', sysroot, core], want_status=1)
        err = r.stderr.decode().strip()
        if len(err.splitlines()) != 1 or 'build-id' not in err or lib not in err:
            errors.append('a libpython of another build under --sysroot: %r' % err)
        os.rename(lib + '.orig', lib)
    if errors:
        raise Failure('\n'.join(errors))
    return core


def check_no_crash(tool, core, workdir):
    """A gcore'd core of a process that was not crashing: no crash."""
    sysroot = os.path.join(os.path.dirname(core), 'sysroot')
    doc = dump_json(tool, ['--sysroot', sysroot, core])
    crashed = [t['tid'] for t in doc['threads'] if t.get('crashed')]
    if doc['target'].get('crash', 0) is not None or crashed:
        raise Failure('crash %r, threads marked crashed %r'
                      % (doc['target'].get('crash', 0), crashed))


def check_namespace(tool, pyenv, workdir):
    """A process whose Python exists only in its own mount namespace."""
    src = os.path.join(pyenv, 'versions', '3.12.1')
    if not os.path.exists(src):
        raise corpus.Skip('no pyenv 3.12.1')
    if not shutil.which('unshare'):
        raise corpus.Skip('no unshare')
    # The scenario's files are bind-mounted at /mnt/pcs-ns (a tmpfs only the
    # new namespace sees), and pyenv's own prefix is hidden there, so that
    # every file it maps has a path that does not exist out here.
    inner = '/mnt/pcs-ns'
    script = ('mount -t tmpfs none /mnt && '
              'mkdir -p %(inner)s/py %(inner)s/work %(inner)s/corpus && '
              'mount --bind %(src)s %(inner)s/py && mount --bind %(work)s %(inner)s/work && '
              'mount --bind %(corpus)s %(inner)s/corpus && mount -t tmpfs none %(src)s && '
              'export LD_LIBRARY_PATH=%(inner)s/py/lib && exec "$@"'
              % {'inner': inner, 'src': shlex.quote(src), 'work': shlex.quote(workdir),
                 'corpus': shlex.quote(os.path.join(ROOT, 'corpus'))})
    argv = ['unshare', '-m', '--propagation', 'private', 'sh', '-c', script, 'sh',
            os.path.join(inner, 'py', 'bin', 'python3.12'), '-E', '-B', '-s',
            os.path.join(inner, 'corpus', 'scenarios', 'threads_blocking.py'),
            os.path.join(inner, 'work', 'truth.json')]
    log = open(os.path.join(workdir, 'ns.log'), 'wb')
    proc = subprocess.Popen(argv, cwd=workdir, stdout=log, stderr=log,
                            start_new_session=True)
    try:
        truth_path = os.path.join(workdir, 'truth.json')
        deadline = time.time() + TIMEOUT
        while not os.path.exists(truth_path):
            if proc.poll() is not None:
                log.close()
                text = open(os.path.join(workdir, 'ns.log')).read()
                if 'Operation not permitted' in text or 'unshare failed' in text:
                    raise corpus.Skip('no mount namespaces here: %s' % text.strip())
                raise Failure('namespaced scenario died: %s' % text)
            if time.time() > deadline:
                raise Failure('namespaced scenario recorded no truth')
            time.sleep(0.05)
        with open(truth_path) as f:
            truth = json.load(f)
        while len(os.listdir('/proc/%d/task' % proc.pid)) < len(truth['threads']):
            time.sleep(0.02)
        maps = open('/proc/%d/maps' % proc.pid).read()
        lib = os.path.join(inner, 'py', 'lib', 'libpython3.12.so.1.0')
        if lib not in maps or os.path.exists(lib):
            raise Failure('the test is wrong: %s should be mapped and not exist out here' % lib)
        doc = dump_json(tool, ['--pid', str(proc.pid)])
        check_truth(truth, doc, kind='process')
        if doc['target']['layout'] != 'dwarf':
            raise Failure('layout %r, want "dwarf" (libpython\'s DWARF through /proc/PID/root)'
                          % doc['target']['layout'])
        sources = [f.get('source') for t in doc['threads'] for f in t['frames']]
        if not any(sources):
            raise Failure('no source line read through /proc/PID/root')
    finally:
        corpus.kill_group(proc)
        proc.wait()
        log.close()


def check_batch(tool, cores, sysroot, workdir):
    """cores: [(path, {"crashed": bool})] of readable cores; the files of
    some are under @sysroot."""
    batch = os.path.join(workdir, 'batch')
    os.makedirs(batch)
    names = []
    for i, (path, _) in enumerate(cores):
        name = 'core.%d' % i
        os.symlink(path, os.path.join(batch, name))
        names.append(name)
    with open(os.path.join(batch, 'README.txt'), 'w') as f:
        f.write('not a core: skipped\n')
    with open(cores[0][0], 'rb') as f:
        head = f.read(100000)
    with open(os.path.join(batch, 'core.z-truncated'), 'wb') as f:
        f.write(head)
    names.append('core.z-truncated')
    errors = []
    tool = [tool, '--sysroot', sysroot]
    r = run(tool + ['--batch', batch])
    if r.returncode != 3:
        errors.append('--batch with a truncated core: exit %d, want 3' % r.returncode)
    lines = r.stdout.decode().splitlines()
    if len(lines) != len(names):
        errors.append('%d lines, want %d' % (len(lines), len(names)))
    for name, line in zip(names, lines):
        doc = json.loads(line)
        core = (doc.get('target') or {}).get('core') or ''
        if os.path.basename(core) != name and os.path.realpath(
                os.path.join(batch, name)) != core:
            errors.append('line for %s names core %r' % (name, core))
        if name.endswith('truncated'):
            if doc.get('status') != 1 or 'truncated' not in (doc.get('error') or ''):
                errors.append('truncated core: %r' % line[:300])
        elif doc.get('format') != 'pycore-stacks/1' or not doc.get('threads'):
            errors.append('%s: not a full document: %r' % (name, line[:300]))
    # Only good cores: 0. Sentry events one per line too.
    good = [os.path.join(batch, n) for n in names if not n.endswith('truncated')]
    r = run(tool + ['--batch'] + good)
    if r.returncode != 0 or len(r.stdout.decode().splitlines()) != len(good):
        errors.append('--batch of good cores: exit %d, %d lines' % (
            r.returncode, len(r.stdout.decode().splitlines())))
    r = run(tool + ['--batch', '--format', 'sentry'] + good)
    sentry_lines = r.stdout.decode().splitlines()
    if r.returncode != 0 or len(sentry_lines) != len(good) or \
            not all(isinstance(json.loads(l), dict) for l in sentry_lines):
        errors.append('--batch --format sentry: exit %d, %d lines' % (
            r.returncode, len(sentry_lines)))
    # Nothing readable: 1. No cores at all: 1. Usage: 2.
    r = run(tool + ['--batch', os.path.join(batch, 'core.z-truncated')])
    if r.returncode != 1:
        errors.append('--batch of one truncated core: exit %d, want 1' % r.returncode)
    empty = os.path.join(workdir, 'empty')
    os.makedirs(empty)
    r = run(tool + ['--batch', empty])
    if r.returncode != 1 or len(r.stderr.decode().strip().splitlines()) != 1:
        errors.append('--batch of an empty directory: exit %d, %r' % (r.returncode, r.stderr))
    r = run(tool + ['--batch', '--format', 'text', batch])
    if r.returncode != 2:
        errors.append('--batch --format text: exit %d, want 2' % r.returncode)
    errors.extend(readme_example(tool[0], batch, sysroot, cores, workdir))
    if errors:
        raise Failure('\n'.join(errors))


def readme_example(tool, batch, sysroot, cores, workdir):
    """The README's "triage in CI" block, run as written on @batch."""
    with open(os.path.join(ROOT, 'README.md'), encoding='utf-8') as f:
        readme = f.read()
    m = re.search(r'<!-- triage-example -->\n```sh\n(.*?)```', readme, re.S)
    if not m:
        return ['README.md has no triage example block']
    block = re.sub(r'^CORES=\S+', 'CORES=' + shlex.quote(batch), m.group(1), flags=re.M)
    block = re.sub(r'^SYSROOT=\S+', 'SYSROOT=' + shlex.quote(sysroot), block, flags=re.M)
    env = dict(os.environ)
    env['PATH'] = os.path.dirname(tool) + ':' + env['PATH']
    r = subprocess.run(['bash', '-e', '-c', block], cwd=workdir, env=env,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=TIMEOUT)
    out = r.stdout.decode().splitlines()
    errors = []
    if r.returncode != 0:
        errors.append('README example: exit %d: %s' % (r.returncode, r.stderr.decode()))
    want = len(cores) + 1
    if len(out) != want:
        errors.append('README example printed %d lines, want %d:\n%s'
                      % (len(out), want, '\n'.join(out)))
    crashed = [l for l in out if re.search(r': SIG(SEGV|ABRT) in thread \d+ \S+ at \S+:\d+ in ', l)]
    if len(crashed) != sum(1 for _, c in cores if c['crashed']):
        errors.append('README example: %d lines name a crash, want %d:\n%s'
                      % (len(crashed), sum(1 for _, c in cores if c['crashed']), '\n'.join(out)))
    if not any('unreadable: ' in l and 'truncated' in l for l in out):
        errors.append('README example: no line for the truncated core')
    return errors


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--tool', default=os.path.join(ROOT, 'src', 'pycore-stacks'))
    parser.add_argument('-v', '--verbose', action='store_true')
    args = parser.parse_args()
    tool = os.path.abspath(args.tool)
    pyenv = corpus.pyenv_root() or ''
    passed = failed = skipped = 0
    scratch = tempfile.mkdtemp(prefix='pcs-triage-')
    cores = []

    def case(name, fn, *a):
        nonlocal passed, failed, skipped
        workdir = os.path.join(scratch, re.sub(r'[^A-Za-z0-9.-]+', '_', name))
        os.makedirs(workdir)
        start = time.time()
        try:
            result = fn(*a, workdir)
        except corpus.Skip as e:
            print('skip - %s: %s' % (name, e))
            skipped += 1
            return None
        except Exception as e:
            detail = str(e) if isinstance(e, Failure) else traceback.format_exc()
            print('FAIL - %s\n%s' % (name, corpus.indent(detail)))
            failed += 1
            return None
        print('ok - %s (%.1fs)' % (name, time.time() - start))
        passed += 1
        return result

    pythons = ['/usr/bin/python3']
    for v in ('3.12.1', '3.8.18', '2.7.18'):
        found = glob.glob(os.path.join(pyenv, 'versions', v[:v.rindex('.')] + '.*', 'bin',
                                       'python' + v[:v.rindex('.')]))
        if found:
            pythons.append(sorted(found)[-1])
    for py in pythons:
        for how in ('segv', 'abort'):
            core = case('crash %s %s' % (how, py), check_crash, tool, py, how)
            if core:
                cores.append((core, {'crashed': True}))
    core = sysroot_core = case('sysroot and lib-path (pyenv 3.12 moved)', check_sysroot,
                               tool, pyenv)
    if core:
        cores.append((core, {'crashed': False}))
        case('gcore names no crash', check_no_crash, tool, core)
    case('live in another mount namespace (/proc/PID/root)', check_namespace, tool, pyenv)
    if cores:
        sysroot = ''
        if sysroot_core:
            sysroot = os.path.join(os.path.dirname(sysroot_core), 'sysroot')
        case('batch', check_batch, tool, cores, sysroot or '/')
    shutil.rmtree(scratch, ignore_errors=True)
    print('%d passed, %d failed, %d skipped' % (passed, failed, skipped))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
