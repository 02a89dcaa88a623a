#!/usr/bin/env python3
"""Bad input: the tool must fail cleanly, never crash.

For each bad target the tool (run with --format json) must exit with status
1 and print exactly one non-empty line on stderr and nothing on stdout; for
usage errors it must exit with status 2, print something on stderr and
nothing on stdout.  A signal, a timeout or any other status fails the case.

  usage errors        no arguments, an unknown option, --pid abc,
                      --format bogus, too many operands, --pid with a core
  not a core          a missing path, an empty file, a directory, a text
                      file, an ELF executable
  truncated cores     a Python core cut to 100 bytes, 4096 bytes, half its
                      size (half may instead give a partial dump: status 3
                      with valid JSON and warnings, or status 0 with output
                      matching the truth exactly)
  compressed cores    a Python core's .zst cut in half, or with a byte in its
                      middle changed; an .lz4 of a text file; an empty .gz
  not Python          a core of `sleep`, --pid of `sleep` (which must be
                      left running, not stopped), --pid of no process
  wrong executable    a Python core with /bin/sleep, another Python's
                      binary, or a missing path as EXECUTABLE
  garbage memory      a Python core whose memory is overwritten with
                      pseudo-random bytes (every PT_LOAD segment, the
                      writable ones, the large writable ones: the heap) or
                      with zeros: a clean failure (1, one line) or an
                      honest partial dump (3, JSON with warnings)
  frame loops         a thread whose frame chain loops back on itself
                      (ctypes rewires f_back, or _PyInterpreterFrame
                      .previous on 3.11+): that stack is cut where the loop
                      starts, with a warning (3), live and from a core;
                      every other thread is still complete
  memory ceiling      --max-frames 100 on the deep_recursion scenario (about
                      1,000 frames): at most 100 frames, the stacks past
                      the ceiling cut with a warning naming it (3)
  unknown greenlet    a process whose greenlet is a release with neither
                      DWARF nor a built-in table: threads are dumped, the
                      greenlets are not, a warning names the release (3)

usage: tests/corpus/bad_input.py [--tool PATH] [--python PATH]... [-k S] [-v]
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True      # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run  # noqa: E402

NAME = 'bad-input'


class Checker(object):
    def __init__(self, options, reporter):
        self.options = options
        self.reporter = reporter

    def selected(self, case):
        return not self.options.k or any(k in '%s %s' % (NAME, case)
                                         for k in self.options.k)

    def tool(self, args, fmt=True):
        argv = [self.options.tool] + (['--format', 'json'] if fmt else []) + args
        return run.run_command(argv, run.TOOL_TIMEOUT)

    def report(self, case, problems, result):
        name = '%s %s' % (NAME, case)
        head = '$ %s: %s' % (run.quote(result.argv), result.describe())
        stderr = result.stderr_text().strip()
        if problems:
            detail = '\n'.join([head] + problems)
            if stderr:
                detail += '\n    stderr:\n' + run.indent(stderr, '        ')
            self.reporter.report(run.Result(name, 'FAIL', detail))
        else:
            detail = head + ('\n' + run.indent(stderr) if stderr else '')
            self.reporter.report(run.Result(name, 'ok', detail))

    def crash(self, result):
        if result.timed_out:
            return ['timed out after %ds' % run.TOOL_TIMEOUT]
        if result.returncode < 0:
            return ['killed by signal %d' % -result.returncode]
        if result.returncode >= 128:
            return ['exit status %d (a crash?)' % result.returncode]
        return []

    def expect(self, case, args, status=1, fmt=True, after=None):
        """Run the tool on args; it must fail with status and one line."""
        if not self.selected(case):
            return
        result = self.tool(args, fmt)
        problems = self.crash(result) or self.clean_failure(result, status)
        if after is not None:
            problems += after()
        self.report(case, problems, result)

    def clean_failure(self, result, status):
        problems = []
        if result.returncode != status:
            problems.append('exit status %d, want %d' % (result.returncode, status))
        if result.stdout.strip():
            problems.append('stdout not empty: %r' % result.stdout[:200])
        lines = result.stderr_text().splitlines()
        if status == 2:
            if not lines or not lines[0].strip():
                problems.append('usage error with no message on stderr')
        elif len(lines) != 1 or not lines[0].strip():
            problems.append('stderr has %d lines, want exactly one non-empty line'
                            % len(lines))
        return problems

    def expect_partial(self, case, args, truth):
        """A badly truncated core: a clean failure, or an honest partial dump."""
        if not self.selected(case):
            return
        result = self.tool(args)
        problems = self.crash(result)
        if not problems and result.returncode in (0, 3):
            try:
                doc = json.loads(result.stdout.decode('utf-8'))
            except ValueError as e:
                problems.append('exit status %d, stdout not JSON: %s'
                                % (result.returncode, e))
            else:
                if doc.get('format') != run.FORMAT:
                    problems.append('format %r' % doc.get('format'))
                if result.returncode == 3 and not doc.get('warnings'):
                    problems.append('exit status 3 without warnings')
                if result.returncode == 0:
                    problems += ['exit status 0 but: ' + e
                                 for e in run.compare(truth, doc, 'core')]
        elif not problems:
            problems = self.clean_failure(result, 1)
        self.report(case, problems, result)


def nonexistent_pid():
    with open('/proc/sys/kernel/pid_max') as f:
        pid = int(f.read()) - 1
    while os.path.exists('/proc/%d' % pid):
        pid -= 1
    return pid


def not_stopped(pid):
    def check():
        try:
            with open('/proc/%d/stat' % pid) as f:
                state = f.read().rsplit(')', 1)[1].split()[0]
        except OSError:
            return ['pid %d gone after the tool ran' % pid]
        deadline = time.time() + 2
        while state in ('T', 't') and time.time() < deadline:
            time.sleep(0.05)
            with open('/proc/%d/stat' % pid) as f:
                state = f.read().rsplit(')', 1)[1].split()[0]
        return ['pid %d left stopped (state %s)' % (pid, state)] if state in 'Tt' else []
    return check


# Which dumped segments to overwrite: (flags, size) -> bool.
SCRAMBLE = {
    'all': lambda flags, size: True,
    'writable': lambda flags, size: flags & 2,             # PF_W: data, heap, stacks
    'heap': lambda flags, size: flags & 2 and size >= 8 << 20,
}


def scrambled(core, workdir, fill, which):
    """A copy of core whose chosen dumped segments are all fill(n) bytes."""
    import struct
    out = os.path.join(workdir, 'scrambled-%s-%s.core' % (which, fill.__name__))
    shutil.copyfile(core, out)
    with open(out, 'r+b') as f:
        head = f.read(64)
        phoff, = struct.unpack_from('<Q', head, 32)
        phentsize, phnum = struct.unpack_from('<HH', head, 54)
        for i in range(phnum):
            f.seek(phoff + i * phentsize)
            ptype, flags, offset, _, _, filesz = struct.unpack('<IIQQQQ', f.read(40))
            if ptype == 1 and filesz and SCRAMBLE[which](flags, filesz):   # PT_LOAD
                f.seek(offset)
                f.write(fill(filesz))
    return out


def random_bytes(n):
    import random
    rng = random.Random(n)
    return bytes(rng.getrandbits(8) for _ in range(min(n, 1 << 16))) * (n // (1 << 16)) + \
        bytes(rng.getrandbits(8) for _ in range(n % (1 << 16)))


def zeros(n):
    return bytes(n)


def truncated(core, size, workdir):
    path = os.path.join(workdir, 'core.trunc%d' % size)
    with open(core, 'rb') as src, open(path, 'wb') as dst:
        remaining = size
        while remaining:
            chunk = src.read(min(remaining, 1 << 20))
            if not chunk:
                break
            dst.write(chunk)
            remaining -= len(chunk)
    return path


GREENLET_PROGRAM = r'''
import sys, threading, greenlet
def park(): greenlet.getcurrent().parent.switch()
g = greenlet.greenlet(park)
g.switch()
print('ready'); sys.stdout.flush()
threading.Event().wait()
'''


# Rewire the parked thread's innermost frame to name itself as its caller.
# Offsets (x86-64, release builds): PyFrameObject.f_back is at 24 up to
# 3.10 (a PyVarObject); from 3.11 the chain is of _PyInterpreterFrame, found
# at PyFrameObject.f_frame (24), whose `previous` is at 48 (3.11) or 8.
LOOP_PROGRAM = r'''
import ctypes, sys, threading
def looped(ready):
    f = sys._getframe()
    if sys.version_info < (3, 11):
        ctypes.c_void_p.from_address(id(f) + 24).value = id(f)
    else:
        iframe = ctypes.c_void_p.from_address(id(f) + 24).value
        previous = 48 if sys.version_info < (3, 12) else 8
        ctypes.c_void_p.from_address(iframe + previous).value = iframe
    ready.set()
    threading.Event().wait()
ready = threading.Event()
t = threading.Thread(target=looped, args=(ready,))
t.daemon = True
t.start()
ready.wait()
print('ready'); sys.stdout.flush()
threading.Event().wait()
'''


def frame_loops(checker, pythons, workdir, gcore):
    """Each mode: exit 3, the looped thread cut with a warning, the main one whole."""
    for python in pythons:
        case = 'frame-loop %s' % python.label
        if not checker.selected(case):
            continue
        proc = subprocess.Popen([python.path, '-c', LOOP_PROGRAM], env=run.python_env(),
                                stdout=subprocess.PIPE, start_new_session=True)
        try:
            if proc.stdout.readline().strip() != b'ready':
                raise run.CaseError('%s: the frame-loop program did not start' % python.path)
            modes = [('live', ['--pid', str(proc.pid)])]
            if gcore:
                modes.append(('core', [run.gcore(proc.pid, workdir)]))
            for mode, args in modes:
                result = checker.tool(args)
                problems = checker.crash(result)
                if not problems:
                    problems = loop_problems(result)
                checker.report('%s %s' % (case, mode), problems, result)
                if mode == 'core':
                    os.unlink(args[0])
        finally:
            run.kill_group(proc)
            proc.wait()


def loop_problems(result):
    problems = []
    if result.returncode != 3:
        problems.append('exit status %d, want 3' % result.returncode)
    try:
        doc = json.loads(result.stdout.decode('utf-8'))
    except ValueError as e:
        return problems + ['stdout not JSON: %s' % e]
    threads = doc.get('threads') or []
    looped = [t for t in threads if any(f.get('function') == 'looped'
                                        for f in t.get('frames') or ())]
    whole = [t for t in threads if t not in looped]
    if len(looped) != 1 or not looped[0].get('truncated'):
        problems.append('want one truncated thread in looped(): %r' % (looped,))
    elif sum(f.get('function') == 'looped' for f in looped[0]['frames']) > 2:
        problems.append('the loop was followed: %r' % (looped[0]['frames'],))
    if len(whole) != 1 or whole[0].get('truncated') or not whole[0].get('frames'):
        problems.append('want the main thread complete: %r' % (whole,))
    if not doc.get('warnings'):
        problems.append('no warnings')
    return problems


def ceiling_problems(result):
    if result.returncode != 3:
        return ['exit status %d, want 3' % result.returncode]
    try:
        doc = json.loads(result.stdout.decode('utf-8'))
    except ValueError as e:
        return ['stdout not JSON: %s' % e]
    problems = []
    frames = sum(len(t.get('frames') or ()) for t in doc.get('threads') or ())
    if not 0 < frames <= 100:
        problems.append('%d frames in all, want 1 to 100' % frames)
    if not any('memory ceiling' in (t.get('truncated') or '') for t in doc.get('threads') or ()):
        problems.append('no stack cut at the memory ceiling')
    if not any('memory ceiling' in w for w in doc.get('warnings') or ()):
        problems.append('no warning names the memory ceiling')
    return problems


def unknown_greenlet(checker, workdir):
    """Debian's greenlet, relabelled as a release the tool has no table for."""
    case = 'greenlet unknown-version'
    if not checker.selected(case):
        return
    python = '/usr/bin/python3'
    out = subprocess.run([python, '-c', 'import greenlet, os; '
                          'print(os.path.dirname(greenlet.__file__))'],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    if out.returncode != 0:
        checker.reporter.report(run.Result('%s %s' % (NAME, case), 'skip',
                                           'no greenlet for %s' % python))
        return
    package = os.path.join(workdir, 'site', 'greenlet')
    shutil.copytree(out.stdout.decode().strip(), package)
    init = os.path.join(package, '__init__.py')
    with open(init) as f:
        text = f.read()
    with open(init, 'w') as f:
        f.write(text.replace("__version__ = '", "__version__ = '0.0.0+unknown-"))
    env = dict(run.python_env(), PYTHONPATH=os.path.dirname(package))
    proc = subprocess.Popen([python, '-c', GREENLET_PROGRAM], env=env,
                            stdout=subprocess.PIPE, start_new_session=True)
    try:
        if proc.stdout.readline().strip() != b'ready':
            raise run.CaseError('the greenlet program did not start')
        result = checker.tool(['--pid', str(proc.pid)])
        problems = checker.crash(result)
        if not problems:
            if result.returncode != 3:
                problems.append('exit status %d, want 3' % result.returncode)
            try:
                doc = json.loads(result.stdout.decode('utf-8'))
            except ValueError as e:
                doc = {}
                problems.append('stdout not JSON: %s' % e)
            if doc.get('greenlets') != []:
                problems.append('greenlets %r, want []' % (doc.get('greenlets'),))
            if len(doc.get('threads') or ()) != 1:
                problems.append('threads %r, want the main thread' % (doc.get('threads'),))
            if not any('greenlet 0.0.0+unknown-' in w for w in doc.get('warnings') or ()):
                problems.append('no warning names the greenlet release: %r'
                                % (doc.get('warnings'),))
        checker.report(case, problems, result)
    finally:
        run.kill_group(proc)
        proc.wait()


def compressed(c, core, workdir):
    """Broken compressed cores (tests/compressed/run.py has the good ones)."""
    tools = ('zstd', 'lz4', 'gzip')
    if not all(shutil.which(t) for t in tools):
        c.reporter.report(run.Result('%s compressed cases' % NAME, 'skip',
                                     'not installed: ' + ' '.join(tools)))
        return

    def compress(argv, src, dst):
        with open(src, 'rb') as i, open(dst, 'wb') as o:
            subprocess.run(argv, stdin=i, stdout=o, check=True)
        return dst

    zst = compress(['zstd', '-q', '-c'], core, os.path.join(workdir, 'core.zst'))
    size = os.path.getsize(zst)
    c.expect('core zstd-truncated', [truncated(zst, size // 2, workdir)])
    corrupt = os.path.join(workdir, 'corrupt.zst')
    shutil.copyfile(zst, corrupt)
    with open(corrupt, 'r+b') as f:
        f.seek(size // 2)
        byte = f.read(1)
        f.seek(size // 2)
        f.write(bytes([byte[0] ^ 0x55]))
    c.expect('core zstd-corrupt', [corrupt])
    text = os.path.join(workdir, 'text.core')     # written by run_cases()
    c.expect('core lz4-not-a-core', [compress(['lz4', '-q', '-c'], text,
                                              os.path.join(workdir, 'text.lz4'))])
    empty = os.path.join(workdir, 'empty.gz')
    open(empty, 'w').close()
    c.expect('core gzip-empty-file', [empty])
    c.expect('core gzip-of-nothing', [compress(['gzip', '-c'], empty,
                                               os.path.join(workdir, 'nothing.gz'))])


def run_cases(checker, pythons, workdir, gcore):
    c = checker
    # Usage errors.
    c.expect('usage no-arguments', [], status=2, fmt=False)
    c.expect('usage unknown-option', ['--no-such-option'], status=2)
    c.expect('usage pid-not-a-number', ['--pid', 'abc'], status=2)
    c.expect('usage bad-format', ['--format', 'bogus', '--pid', str(os.getpid())],
             status=2, fmt=False)
    c.expect('usage too-many-operands', ['a', 'b', 'c'], status=2)
    c.expect('usage pid-and-core', ['--pid', str(os.getpid()), '/dev/null'], status=2)

    # Files that are not cores.
    empty = os.path.join(workdir, 'empty.core')
    open(empty, 'w').close()
    text = os.path.join(workdir, 'text.core')
    with open(text, 'w') as f:
        f.write('this is not an ELF file\n' * 100)
    c.expect('core missing', [os.path.join(workdir, 'no-such.core')])
    c.expect('core empty-file', [empty])
    c.expect('core directory', [workdir])
    c.expect('core text-file', [text])
    c.expect('core elf-executable', [shutil.which('sleep')])

    # Processes that are not Python.
    c.expect('pid nonexistent', ['--pid', str(nonexistent_pid())])
    sleeper = subprocess.Popen(['sleep', '1000'], start_new_session=True)
    try:
        c.expect('pid sleep', ['--pid', str(sleeper.pid)], after=not_stopped(sleeper.pid))
        if gcore is None:
            c.reporter.report(run.Result('%s core sleep' % NAME, 'skip',
                                         'gcore not found'))
        elif c.selected('core sleep'):
            core = run.gcore(sleeper.pid, workdir)
            c.expect('core sleep', [core])
            os.unlink(core)
    finally:
        run.kill_group(sleeper)
        sleeper.wait()

    unknown_greenlet(c, workdir)
    if c.selected('memory-ceiling') and pythons:
        ceiling_dir = os.path.join(workdir, 'ceiling')
        os.mkdir(ceiling_dir)
        with run.Target(pythons[-1], 'deep_recursion', ceiling_dir) as target:
            result = c.tool(['--max-frames', '100', '--pid', str(target.pid)])
            problems = c.crash(result) or ceiling_problems(result)
            c.report('memory-ceiling', problems, result)
    frame_loops(c, pythons, workdir, gcore)

    # Python cores: truncated, or with the wrong executable.
    if gcore is None or not pythons:
        why = 'gcore not found' if gcore is None else 'no python'
        c.reporter.report(run.Result('%s python-core cases' % NAME, 'skip', why))
        return
    python = pythons[-1]
    other = next((p for p in pythons if p.version != python.version), None)
    with run.Target(python, 'main_only', workdir) as target:
        core = run.gcore(target.pid, workdir)
        size = os.path.getsize(core)
        for cut in (100, 4096):
            c.expect('core truncated-%d' % cut, [truncated(core, cut, workdir)])
        for which, fill in (('all', random_bytes), ('writable', random_bytes),
                            ('heap', random_bytes), ('writable', zeros)):
            # Status 0 only with every stack exactly right: garbage
            # must never pass for a stack.
            c.expect_partial('core garbage-memory-%s-%s' % (which, fill.__name__),
                             [scrambled(core, workdir, fill, which)], target.truth)
        c.expect_partial('core truncated-half', [truncated(core, size // 2, workdir)],
                         target.truth)
        compressed(c, core, workdir)
        c.expect('exe wrong-sleep', [core, shutil.which('sleep')])
        c.expect('exe missing', [core, os.path.join(workdir, 'no-such-python')])
        if other is None:
            c.reporter.report(run.Result('%s exe other-python' % NAME, 'skip',
                                         'only one python version given'))
        else:
            c.expect('exe other-python', [core, os.path.realpath(other.path)])


def main(argv=None):
    parser = argparse.ArgumentParser(description='Bad input must fail cleanly.')
    parser.add_argument('--tool', default=run.default_tool())
    parser.add_argument('--python', action='append', default=[],
                        help='interpreters for the Python cores (the newest '
                             'is dumped, another is the wrong executable)')
    parser.add_argument('-k', action='append', default=[])
    parser.add_argument('-v', '--verbose', action='store_true')
    options = parser.parse_args(sys.argv[1:] if argv is None else argv)
    options.tool = os.path.abspath(options.tool)
    if not os.access(options.tool, os.X_OK):
        print('skip: tool not found: %s (build it, or give --tool or $PCS)'
              % options.tool, file=sys.stderr)
        return run.SKIP

    pythons = run.resolve_pythons(options.python or run.default_pythons())
    reporter = run.Reporter(options.verbose)
    workdir = tempfile.mkdtemp(prefix='pcs-bad-input-')
    try:
        run_cases(Checker(options, reporter), pythons, workdir, shutil.which('gcore'))
    except run.CaseError as e:
        reporter.report(run.Result('%s setup' % NAME, 'FAIL', str(e)))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print(reporter.summary())
    return 1 if reporter.counts['FAIL'] else 0


if __name__ == '__main__':
    sys.exit(main())
