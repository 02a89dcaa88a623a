#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The gdb commands (gdb-scripts/pycore-stacks.gdb) in a real gdb with no
Python in use: -nx, Python auto-loading off, and a check that the script
itself never uses gdb's Python.

For each interpreter x scenario, a corpus scenario (tests/corpus) records
its own stacks, then gdb runs `py-all-stacks --format json` on it three
ways -- attached with -p, on a gcore core, and on a process gdb started
itself and interrupted -- and the JSON must match the scenario's record
exactly (the same comparison as the corpus tests). Then the clear-message
cases: no process, a non-Python process, the program not installed.

usage: tests/gdb/run.py [--script GDB-SCRIPT] [--python PATH]... [--scenario NAME]...
Prints one line per case and "N passed, N failed".
"""
import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, 'tests', 'corpus'))
import run as corpus  # noqa: E402

GDB_TIMEOUT = 120
GDB = ['gdb', '-nx', '-batch', '-iex', 'set auto-load python-scripts off',
       '-iex', 'set pagination off', '-iex', 'set confirm off']


class Failure(Exception):
    pass


def gdb(args, timeout=GDB_TIMEOUT):
    try:
        p = subprocess.run(GDB + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           stdin=subprocess.DEVNULL, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise Failure('gdb timed out: %s' % ' '.join(args))
    return p.stdout.decode('utf-8', 'replace'), p.stderr.decode('utf-8', 'replace')


def json_in(text):
    """The pycore-stacks JSON document inside gdb's output."""
    start = text.find('{\n  "format"')
    if start < 0:
        raise Failure('no JSON in gdb output:\n%s' % text[-2000:])
    depth = 0
    for i in range(start, len(text)):
        if text[i] == '{':
            depth += 1
        elif text[i] == '}':
            depth -= 1
            if depth == 0:
                return json.loads(text[start:i + 1])
    raise Failure('unterminated JSON in gdb output')


def check(truth, out, kind):
    errors = corpus.compare(truth, json_in(out), kind)
    if errors:
        raise Failure('\n'.join(errors))


def case_attach(script, target, workdir):
    out, err = gdb(['-p', str(target.pid), '-ex', 'source ' + script,
                    '-ex', 'py-all-stacks --format json'])
    check(target.truth, out, 'process')
    # Detaching must leave the process as it was: running, all threads.
    if not os.path.exists('/proc/%d' % target.pid):
        raise Failure('target gone after gdb detached')


def case_core(script, target, workdir):
    core = corpus.gcore(target.pid, workdir)
    exe = os.path.realpath(target.truth['executable'])
    out, err = gdb(['-ex', 'source ' + script, '-ex', 'py-all-stacks --format json',
                    exe, core])
    check(target.truth, out, 'core')


def case_started_by_gdb(script, python, scenario, workdir):
    """gdb runs the scenario itself; once it has parked, a SIGUSR1 from
    here makes gdb stop it (gdb stops on SIGUSR1 by default)."""
    truth_path = os.path.join(workdir, 'gdb-truth.json')
    proc = subprocess.Popen(
        GDB + ['-ex', 'source ' + script, '-ex', 'run',
               '-ex', 'py-all-stacks --format json', '-ex', 'kill',
               '--args', python.path, '-E', '-B', '-s',
               corpus.scenario_path(scenario), truth_path],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
        cwd=workdir, start_new_session=True)
    try:
        deadline = time.time() + 60
        truth = None
        while time.time() < deadline and truth is None:
            time.sleep(0.1)
            try:
                with open(truth_path) as f:
                    truth = json.load(f)
            except (OSError, ValueError):
                pass
        if truth is None:
            raise Failure('scenario under gdb recorded no truth')
        # The recorder thread is gone once the tasks match the truth.
        pid = truth['pid']
        while time.time() < deadline and \
                len(os.listdir('/proc/%d/task' % pid)) != len(truth['threads']):
            time.sleep(0.05)
        os.kill(pid, signal.SIGUSR1)
        out, err = proc.communicate(timeout=GDB_TIMEOUT)
    except subprocess.TimeoutExpired:
        raise Failure('gdb timed out')
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    check(truth, out.decode('utf-8', 'replace'), 'process')


def expect_message(args, needle):
    out, err = gdb(args)
    if needle not in err and needle not in out:
        raise Failure('want %r in gdb output, got:\n%s%s' % (needle, out[-1500:], err[-1500:]))


def run_case(name, fn, results):
    try:
        fn()
        print('ok - gdb %s' % name)
        results.append(True)
    except (Failure, corpus.CaseError) as e:
        print('FAIL - gdb %s\n    %s' % (name, str(e).replace('\n', '\n    ')))
        results.append(False)
    sys.stdout.flush()


def no_python_in(script_in):
    """The script must not use gdb's Python in any form."""
    bad = []
    with open(script_in) as f:
        for n, line in enumerate(f, 1):
            if re.match(r'\s*(python|python-interactive|pi|py|python3)(\s|$)', line):
                bad.append('%s:%d: %s' % (script_in, n, line.strip()))
    if bad:
        raise Failure('gdb Python used:\n' + '\n'.join(bad))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--script', default=os.path.join(
        REPO, 'gdb-scripts', 'pycore-stacks-uninstalled.gdb'))
    ap.add_argument('--python', action='append', default=[])
    ap.add_argument('--scenario', action='append', default=[])
    args = ap.parse_args()
    pythons = args.python or [
        os.path.join(corpus.pyenv_root() or '/nonexistent', 'versions', '3.12.1', 'bin',
                     'python3.12'), '/usr/bin/python3']
    scenarios = args.scenario or ['threads_blocking', 'unicode_names']
    script = os.path.abspath(args.script)
    results = []

    run_case('script uses no Python',
             lambda: no_python_in(os.path.join(REPO, 'gdb-scripts', 'pycore-stacks.gdb.in')),
             results)
    for path in pythons:
        if not os.path.exists(path):
            print('FAIL - gdb %s: no such interpreter' % path)
            results.append(False)
            continue
        python = corpus.probe_python(path)
        for scenario in scenarios:
            workdir = tempfile.mkdtemp(prefix='pcs-gdb-')
            try:
                label = '%s %s' % (python.label, scenario)
                try:
                    with corpus.Target(python, scenario, workdir) as target:
                        run_case(label + ' attached',
                                 lambda: case_attach(script, target, workdir), results)
                        run_case(label + ' core',
                                 lambda: case_core(script, target, workdir), results)
                except corpus.CaseError as e:
                    run_case(label, lambda: (_ for _ in ()).throw(Failure(str(e))), results)
                run_case(label + ' started by gdb',
                         lambda: case_started_by_gdb(script, python, scenario, workdir),
                         results)
            finally:
                shutil.rmtree(workdir, ignore_errors=True)

    run_case('message: no process',
             lambda: expect_message(['-ex', 'source ' + script, '-ex', 'py-all-stacks'],
                                    'gdb is debugging no process and no core file'),
             results)
    sleeper = subprocess.Popen(['sleep', '300'])
    try:
        run_case('message: not Python',
                 lambda: expect_message(['-p', str(sleeper.pid), '-ex', 'source ' + script,
                                         '-ex', 'py-all-stacks'], 'not a Python process'),
                 results)
        missing = os.path.join(tempfile.mkdtemp(prefix='pcs-gdb-'), 'missing.gdb')
        with open(script) as f, open(missing, 'w') as g:
            g.write(f.read().replace(os.path.join(REPO, 'src', 'pycore-stacks'),
                                     '/nonexistent/pycore-stacks'))
        run_case('message: not installed',
                 lambda: expect_message(['-p', str(sleeper.pid), '-ex', 'source ' + missing,
                                         '-ex', 'py-all-stacks'], 'is not installed'),
                 results)
        shutil.rmtree(os.path.dirname(missing), ignore_errors=True)
    finally:
        sleeper.kill()
        sleeper.wait()

    passed = sum(results)
    print('%d passed, %d failed' % (passed, len(results) - passed))
    return 0 if all(results) else 1


if __name__ == '__main__':
    sys.exit(main())
