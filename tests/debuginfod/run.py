#!/usr/bin/env python3
"""Debug info from debuginfod: a stripped Python whose DWARF only a local
debuginfod server has.

Setup, in a scratch directory: pyenv's CPython 3.12 (a shared libpython
with DWARF, no _Py_DebugOffsets, so "dwarf" is what the tool picks when it
has DWARF and "builtin" when it has not) copied, the DWARF of libpython
split off (objcopy --only-keep-debug, same build-id) into a directory of its
own, and the executable and libpython stripped of it (strip -g).  The copy
runs on its own libpython (LD_LIBRARY_PATH) and finds its stdlib from its
own location.  The scenario threads_blocking runs under it and is dumped
live and from a gcore core, each time matched exactly against the
scenario's own record (the comparison of tests/corpus/run.py):

  plain          DEBUGINFOD_URLS empty: layout "builtin" (the copy has no
                 DWARF, and nothing else finds it)
  served         debuginfod -F serving the split-off file: layout "dwarf",
                 nothing on stderr (no progress lines), and the file is in
                 DEBUGINFOD_CACHE_PATH (one cache for live, one for core)
  cached         the server stopped: still "dwarf", from the cache
  dead-server    nothing listening at the URL, empty cache: "builtin", exit
                 0, nothing on stderr, in under 5 s
  hung-server    a server that accepts and never answers, with the user's
                 DEBUGINFOD_MAXTIME=2: "builtin", exit 0, nothing on stderr,
                 in under 8 s
  default-cap    DEBUGINFOD_MAXTIME unset: libdebuginfod's verbose output
                 says the tool capped each download at 60 s

The standard lookup by build-id under /usr/lib/debug (Debian's
python3.11-dbg for /usr/bin/python3) is covered by the corpus run with
--layout-source dwarf in tests/run.sh.

Needs: debuginfod (Debian package debuginfod), binutils, gdb (gcore), a
pyenv CPython 3.12 built with DWARF; a missing one fails the run with the
reason.

usage: tests/debuginfod/run.py [--tool PATH] [--prefix PYENV_3.12_PREFIX] [-v]

Ends with "N passed, N failed"; exit status 0 all passed, else 1.
"""

import argparse
import glob
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), 'corpus'))
import run  # noqa: E402

SCENARIO = 'threads_blocking'
MAJOR_MINOR = '3.12'
SERVER_START_TIMEOUT = 30
DEAD_SERVER_SECONDS = 5
HUNG_SERVER_SECONDS = 8
# What pycore-stacks sets DEBUGINFOD_MAXTIME to when the user has not.
DEFAULT_MAXTIME = 60


class Fail(Exception):
    """The run cannot go on; the message says why."""


# --- the stripped copy ------------------------------------------------------

def command(argv):
    result = run.run_command(argv, 120)
    if result.timed_out or result.returncode != 0:
        raise Fail('$ %s: %s\n%s' % (run.quote(argv), result.describe(),
                                     run.indent(result.stderr_text().strip())))
    return result.stdout.decode('utf-8', 'replace')


def section_names(path):
    names = set()
    for line in command(['readelf', '-S', '-W', path]).splitlines():
        m = re.match(r'\s*\[\s*\d+\]\s+(\S+)', line)
        if m:
            names.add(m.group(1))
    return names


def build_id(path):
    m = re.search(r'Build ID: ([0-9a-f]+)', command(['readelf', '-n', path]))
    if not m:
        raise Fail('%s has no build-id' % path)
    return m.group(1)


def default_prefix():
    root = run.pyenv_root()
    if not root:
        return None
    found = [p for p in glob.glob(os.path.join(root, 'versions', MAJOR_MINOR + '.*'))
             if re.search(r'/%s\.\d+$' % re.escape(MAJOR_MINOR), p)]
    found.sort(key=lambda p: int(p.rsplit('.', 1)[1]))
    return found[-1] if found else None


class Copy(object):
    """PREFIX's python and libpython, stripped, their DWARF in served/."""

    def __init__(self, prefix, scratch):
        exe = os.path.join(prefix, 'bin', 'python' + MAJOR_MINOR)
        lib = os.path.join(prefix, 'lib', 'libpython%s.so.1.0' % MAJOR_MINOR)
        for path in (exe, lib):
            if not os.path.isfile(path):
                raise Fail('%s: missing (a pyenv CPython %s built --enable-shared)'
                           % (path, MAJOR_MINOR))
        if '.debug_info' not in section_names(lib):
            raise Fail('%s has no DWARF: nothing to serve' % lib)
        self.prefix = os.path.join(scratch, 'python')
        self.served = os.path.join(scratch, 'served')
        self.libdir = os.path.join(self.prefix, 'lib')
        os.makedirs(os.path.join(self.prefix, 'bin'))
        os.makedirs(self.libdir)
        os.makedirs(self.served)
        self.exe = os.path.join(self.prefix, 'bin', os.path.basename(exe))
        self.lib = os.path.join(self.libdir, os.path.basename(lib))
        shutil.copy2(exe, self.exe)
        shutil.copy2(lib, self.lib)
        # The stdlib, where the copy looks for it (beside its own lib/).
        stdlib = 'python' + MAJOR_MINOR
        os.symlink(os.path.join(prefix, 'lib', stdlib), os.path.join(self.libdir, stdlib))
        self.debug = os.path.join(self.served, os.path.basename(lib) + '.debug')
        command(['objcopy', '--only-keep-debug', self.lib, self.debug])
        command(['strip', '-g', self.exe, self.lib])
        self.build_id = build_id(self.lib)
        for path in (self.exe, self.lib):
            if '.debug_info' in section_names(path):
                raise Fail('%s still has .debug_info after strip -g' % path)
        if '.debug_info' not in section_names(self.debug):
            raise Fail('%s has no .debug_info' % self.debug)
        if build_id(self.debug) != self.build_id:
            raise Fail('%s: build-id differs from %s' % (self.debug, self.lib))
        if self.build_id != build_id(lib):
            raise Fail('strip changed the build-id of %s' % lib)


# --- servers ----------------------------------------------------------------

def free_port():
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    return port


def http_status(url):
    """The status of GET url (the body is not read), or None: no answer."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as e:
        return e.code
    except (urllib.error.URLError, OSError):
        return None


class Debuginfod(object):
    """debuginfod -F over one directory, on a free port, until stop()."""

    def __init__(self, directory, scratch):
        self.directory = directory
        self.scratch = scratch
        self.proc = None
        self.log_path = os.path.join(scratch, 'debuginfod.log')

    def start(self, build_id):
        last = None
        for attempt in range(3):
            self.port = free_port()
            self.url = 'http://127.0.0.1:%d' % self.port
            db = os.path.join(self.scratch, 'debuginfod-%d.sqlite' % attempt)
            # -t 0 -g 0: one scan at start, no rescans or grooming.
            argv = ['debuginfod', '-F', '-p', str(self.port), '-d', db,
                    '-t', '0', '-g', '0', self.directory]
            with open(self.log_path, 'ab') as log:
                self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                             stdout=log, stderr=log,
                                             start_new_session=True)
            deadline = time.time() + SERVER_START_TIMEOUT
            query = '%s/buildid/%s/debuginfo' % (self.url, build_id)
            while time.time() < deadline and self.proc.poll() is None:
                last = http_status(query)
                if last == 200:
                    return
                time.sleep(0.2)
            self.stop()
        raise Fail('debuginfod did not serve %s (last status %s); its log:\n%s'
                   % (build_id, last, run.indent(self.log())))

    def log(self):
        try:
            with open(self.log_path, 'rb') as f:
                return f.read().decode('utf-8', 'replace').strip()[-3000:]
        except OSError:
            return ''

    def stop(self):
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                run.kill_group(self.proc)
                self.proc.wait()
            self.proc = None


class HungServer(object):
    """Accepts connections and never answers, until closed."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(('127.0.0.1', 0))
        self.sock.listen(8)
        self.url = 'http://127.0.0.1:%d' % self.sock.getsockname()[1]
        self.conns = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(conn)

    def close(self):
        for c in self.conns:
            c.close()
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()


# --- cases ------------------------------------------------------------------

def tool_env(urls, cache, **extra):
    env = dict((k, v) for k, v in os.environ.items()
               if not k.startswith('DEBUGINFOD_') and k != 'LD_LIBRARY_PATH'
               and k.lower() not in ('http_proxy', 'https_proxy', 'all_proxy'))
    env['DEBUGINFOD_URLS'] = urls
    env['DEBUGINFOD_CACHE_PATH'] = cache
    env.update(extra)
    return env


class Checker(object):
    def __init__(self, options, target, core, reporter):
        self.options = options
        self.target = target
        self.core = core
        self.reporter = reporter

    def dump(self, kind, env, timeout=run.TOOL_TIMEOUT):
        """Run the tool on the live target or the core; the result and the
        JSON document (None if it is not JSON)."""
        args = ['--pid', str(self.target.pid)] if kind == 'live' else [self.core]
        argv = [self.options.tool, '--format', 'json'] + args
        before = self.target.tasks() if kind == 'live' else None
        result = run.run_command(argv, timeout, env=env)
        if kind == 'live':
            self.target.check_unharmed(before)
        try:
            doc = json.loads(result.stdout.decode('utf-8'))
        except ValueError:
            doc = None
        return result, doc

    def case(self, name, kind, env, layout, max_seconds=None, stderr_empty=False,
             stderr_has=None, also=None):
        label = '%s %s' % (name, kind)
        try:
            timeout = run.TOOL_TIMEOUT if max_seconds is None else 4 * max_seconds
            result, doc = self.dump(kind, env, timeout)
            head = '$ %s: %s (%.1fs)' % (run.quote(result.argv), result.describe(),
                                        result.seconds)
            stderr = result.stderr_text().strip()
            errors = []
            if result.timed_out or result.returncode != 0:
                errors.append('want exit status 0')
            elif doc is None:
                errors.append('output is not JSON: %r' % result.stdout[:200])
            else:
                errors.extend(run.compare(self.target.truth, doc,
                                          'core' if kind == 'core' else 'process'))
                got = (doc.get('target') or {}).get('layout')
                if got != layout:
                    errors.append('target.layout is %r, want %r' % (got, layout))
            if max_seconds is not None and result.seconds > max_seconds:
                errors.append('took %.1fs, want under %ds' % (result.seconds, max_seconds))
            if stderr_empty and stderr:
                errors.append('stderr not empty')
            if stderr_has and stderr_has not in stderr:
                errors.append('stderr has no %r' % stderr_has)
            if also:
                errors.extend(also())
            if errors:
                detail = head + '\n' + run.indent('\n'.join(errors))
                if stderr:
                    detail += '\n  stderr:\n' + run.indent(stderr[-2000:])
                self.reporter.report(run.Result(label, 'FAIL', detail))
            else:
                self.reporter.report(run.Result(label, 'ok', head))
        except run.CaseError as e:
            self.reporter.report(run.Result(label, 'FAIL', str(e)))


def cached(cache, debug_file):
    """Errors if the debuginfod cache holds no copy of debug_file (the
    cache's layout is libdebuginfod's business: any file of its size)."""
    size = os.path.getsize(debug_file)
    for directory, _, files in os.walk(cache):
        if any(os.path.getsize(os.path.join(directory, f)) == size for f in files):
            return []
    return ['%s: no file of %d bytes (the DWARF did not come from debuginfod)'
            % (cache, size)]


def run_cases(options, copy, scratch, reporter):
    # The scenario runs on the stripped copy's libpython: the loader finds
    # it through LD_LIBRARY_PATH, which the tool's environment leaves out.
    os.environ['LD_LIBRARY_PATH'] = copy.libdir
    python = run.probe_python(copy.exe)
    workdir = os.path.join(scratch, 'scenario')
    os.makedirs(workdir)
    with run.Target(python, SCENARIO, workdir) as target:
        run.check_truth(target)
        with open('/proc/%d/maps' % target.pid) as f:
            libs = set(line.split()[-1] for line in f if 'libpython' in line)
        if libs != {copy.lib}:
            raise Fail('the scenario maps %s, not %s' % (sorted(libs), copy.lib))
        core = run.gcore(target.pid, workdir)
        check = Checker(options, target, core, reporter)
        kinds = ('live', 'core')
        caches = dict((k, os.path.join(scratch, 'cache-' + k)) for k in kinds)
        for kind in kinds:
            check.case('plain', kind, tool_env('', caches[kind]), 'builtin')

        server = Debuginfod(copy.served, scratch)
        server.start(copy.build_id)
        try:
            for kind in kinds:
                check.case('served', kind, tool_env(server.url, caches[kind]), 'dwarf',
                           stderr_empty=True,
                           also=lambda kind=kind: cached(caches[kind], copy.debug))
        finally:
            url = server.url
            server.stop()
        for kind in kinds:
            check.case('cached', kind, tool_env(url, caches[kind]), 'dwarf',
                       stderr_empty=True)
        # Nothing listens there any more.
        for kind in kinds:
            empty = os.path.join(scratch, 'cache-dead-' + kind)
            check.case('dead-server', kind, tool_env(url, empty), 'builtin',
                       max_seconds=DEAD_SERVER_SECONDS, stderr_empty=True)
        hung = HungServer()
        try:
            check.case('hung-server', 'live',
                       tool_env(hung.url, os.path.join(scratch, 'cache-hung'),
                                DEBUGINFOD_MAXTIME='2'),
                       'builtin', max_seconds=HUNG_SERVER_SECONDS, stderr_empty=True)
        finally:
            hung.close()
        check.case('default-cap', 'live',
                   tool_env(url, os.path.join(scratch, 'cache-cap'), DEBUGINFOD_VERBOSE='1'),
                   'builtin', max_seconds=DEAD_SERVER_SECONDS,
                   stderr_has='using max time %ds' % DEFAULT_MAXTIME)


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--tool', default=run.default_tool())
    p.add_argument('--prefix', help='a pyenv CPython %s prefix (default: the newest)'
                   % MAJOR_MINOR)
    p.add_argument('-v', '--verbose', action='store_true')
    return p.parse_args(argv)


def main(argv=None):
    options = parse_args(sys.argv[1:] if argv is None else argv)
    options.tool = os.path.abspath(options.tool)
    # Only the tool's runs talk to a server (gcore's gdb would too).
    for name in [k for k in os.environ if k.startswith('DEBUGINFOD_')]:
        del os.environ[name]
    reporter = run.Reporter(options.verbose)
    start = time.time()
    scratch = tempfile.mkdtemp(prefix='pcs-debuginfod-')
    try:
        missing = [p for p in ('debuginfod', 'objcopy', 'strip', 'readelf', 'gcore')
                   if not shutil.which(p)]
        if missing:
            raise Fail('not installed: %s (tools/setup.sh installs them)'
                       % ', '.join(missing))
        if not os.access(options.tool, os.X_OK):
            raise Fail('%s: not built (make)' % options.tool)
        prefix = options.prefix or default_prefix()
        if not prefix:
            raise Fail('no pyenv CPython %s (pyenv root)' % MAJOR_MINOR)
        copy = Copy(prefix, scratch)
        print('# %s %s, libpython build-id %s' % (options.tool, prefix, copy.build_id))
        run_cases(options, copy, scratch, reporter)
    except (Fail, run.CaseError, run.Skip) as e:
        reporter.report(run.Result('setup', 'FAIL', str(e)))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print('# %.1fs' % (time.time() - start))
    print(reporter.summary())
    return 1 if reporter.counts['FAIL'] else 0


if __name__ == '__main__':
    sys.exit(main())
