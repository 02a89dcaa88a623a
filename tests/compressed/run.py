#!/usr/bin/env python3
"""Compressed cores: read as they are, with the same result as the raw core.

Corpus scenarios (a threads, an asyncio and a greenlet scenario on the
system python3, a threads scenario on a pyenv Python) are started and
dumped with gcore (tests/corpus/run.py's Target and gcore).  Each core is
compressed the way systemd-coredump writes them, as a stream whose frames
do not record the size (`zstd -q -c < core`, `lz4 -q -c < core` (frame
format), `xz -T1 -c < core`), and with `gzip -c < core`; for one core also
in two halves compressed apart and concatenated (two frames, streams,
members).  For each, the tool's output must be the raw core's exactly (exit
status, stderr, and the JSON document: threads, tasks, greenlets, warnings)
but for target.core, which must be the compressed file's path, and
target.core_compression, which must name the format (null for the raw
core); the text output must be the raw core's too, path aside.  The raw
core's JSON must match the scenario's truth (tests/corpus/run.py compare()).

Bad input: a truncated .zst, a .zst with a byte in its middle changed, an
.lz4 of a file that is not a core, an empty .gz file, a .gz of nothing, a
.gz with garbage after its member: exit status 1, nothing on stdout, one
line on stderr that names the file (and the format where the stream is at
fault), never a signal or a timeout.  Bounds: with the memory available
made 2 MiB (an LD_PRELOAD shim over /proc/meminfo, built here with cc), a
core is refused with a message naming memory, while an ELF header followed
by 256 MiB of zeros is not (zero pages cost no memory: they are holes of
the memory file).

Prints one line per case, then "N passed, N failed" (", N skipped").

usage: tests/compressed/run.py [--tool PATH] [-k SUBSTRING] [-v]
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True      # no __pycache__ in the source tree
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), 'corpus'))
import run  # noqa: E402

NAME = 'compressed'

# How systemd-coredump's formats (and gzip) are made: streaming, from a pipe,
# so no frame records the content size.
COMPRESSORS = {
    'zstd': ('zst', ['zstd', '-q', '-c']),
    'lz4': ('lz4', ['lz4', '-q', '-c']),
    'xz': ('xz', ['xz', '-T1', '-c']),
    'gzip': ('gz', ['gzip', '-c']),
}

# python, scenario, whether to try concatenated frames too (on one small
# core: threads_blocking's are near a gigabyte, which xz takes a while on).
SYSTEM_PYTHON = '/usr/bin/python3'
SCENARIOS = [
    (SYSTEM_PYTHON, 'threads_blocking', False),
    (SYSTEM_PYTHON, 'asyncio_gather_tree', True),
    (SYSTEM_PYTHON, 'greenlet_raw', False),
    ('pyenv:3.12', 'threads_blocking', False),
]

# The cases that need a core (the smallest one made).
CORE_USERS = ['bad truncated-zstd', 'bad corrupt-zstd', 'bad gzip-trailing-garbage',
              'bound memory-ceiling']

# Makes /proc/meminfo say that little memory is available.
MEMINFO_SHIM = r'''
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

static const char fake[] =
	"MemTotal:       65536 kB\nMemAvailable:    2048 kB\nSwapFree:          0 kB\n";

static FILE *pick(const char *name, const char *path, const char *mode)
{
	if (strcmp(path, "/proc/meminfo") == 0)
		return fmemopen((void *)fake, sizeof(fake) - 1, "r");
	FILE *(*real)(const char *, const char *) =
		(FILE *(*)(const char *, const char *))dlsym(RTLD_NEXT, name);
	return real(path, mode);
}

FILE *fopen(const char *path, const char *mode) { return pick("fopen", path, mode); }
FILE *fopen64(const char *path, const char *mode) { return pick("fopen64", path, mode); }
'''


def compress(fmt, src, dst):
    """dst: src compressed as a stream (stdin to stdout)."""
    with open(src, 'rb') as i, open(dst, 'wb') as o:
        subprocess.run(COMPRESSORS[fmt][1], stdin=i, stdout=o, check=True)
    return dst


def compress_all(src):
    """{format: src compressed in it}, the compressors run side by side."""
    procs = {}
    for fmt, (ext, argv) in COMPRESSORS.items():
        with open(src, 'rb') as i, open('%s.%s' % (src, ext), 'wb') as o:
            procs[fmt] = (o.name, subprocess.Popen(argv, stdin=i, stdout=o))
    for fmt, (path, proc) in procs.items():
        if proc.wait() != 0:
            raise run.CaseError('%s of %s: exit status %d' % (fmt, src, proc.returncode))
    return dict((fmt, path) for fmt, (path, _) in procs.items())


def compress_split(fmt, src, dst, workdir):
    """dst: the first and second half of src compressed apart, concatenated."""
    size = os.path.getsize(src)
    half = size // 2
    parts = []
    with open(src, 'rb') as f:
        for i, n in enumerate((half, size - half)):
            part = os.path.join(workdir, 'part%d' % i)
            with open(part, 'wb') as p:
                p.write(f.read(n))
            parts.append(compress(fmt, part, part + '.c'))
            os.unlink(part)
    with open(dst, 'wb') as o:
        for p in parts:
            with open(p, 'rb') as i:
                shutil.copyfileobj(i, o)
            os.unlink(p)
    return dst


class Checker(object):
    def __init__(self, options, reporter):
        self.options = options
        self.reporter = reporter

    def selected(self, case):
        return not self.options.k or any(k in '%s %s' % (NAME, case) for k in self.options.k)

    def tool(self, args, env=None):
        return run.run_command([self.options.tool] + args, run.TOOL_TIMEOUT, env=env)

    def report(self, case, problems, detail=None):
        name = '%s %s' % (NAME, case)
        if problems:
            self.reporter.report(run.Result(name, 'FAIL', '\n'.join(
                problems + ([detail] if detail else []))))
        else:
            self.reporter.report(run.Result(name, 'ok', detail))

    def skip(self, case, why):
        self.reporter.report(run.Result('%s %s' % (NAME, case), 'skip', why))


def crash(result):
    if result.timed_out:
        return ['timed out after %ds' % run.TOOL_TIMEOUT]
    if result.returncode < 0:
        return ['killed by signal %d' % -result.returncode]
    if result.returncode >= 128:
        return ['exit status %d (a crash?)' % result.returncode]
    return []


def parse_json(result):
    try:
        return json.loads(result.stdout.decode('utf-8')), None
    except ValueError as e:
        return None, 'stdout not JSON (%s): %r' % (e, result.stdout[:200])


def strip_target(doc):
    """doc without target.core and target.core_compression."""
    doc = json.loads(json.dumps(doc))
    target = doc.get('target') or {}
    target.pop('core', None)
    target.pop('core_compression', None)
    return doc


def first_difference(a, b, where='doc'):
    """Where two JSON values first differ, for messages."""
    if type(a) is not type(b):
        return '%s: %r != %r' % (where, a, b)
    if isinstance(a, dict):
        for k in sorted(set(a) | set(b)):
            if k not in a or k not in b:
                return '%s.%s: only in %s' % (where, k, 'raw' if k in a else 'compressed')
            d = first_difference(a[k], b[k], '%s.%s' % (where, k))
            if d:
                return d
        return None
    if isinstance(a, list):
        if len(a) != len(b):
            return '%s: %d items in the raw core, %d compressed' % (where, len(a), len(b))
        for i, (x, y) in enumerate(zip(a, b)):
            d = first_difference(x, y, '%s[%d]' % (where, i))
            if d:
                return d
        return None
    return None if a == b else '%s: %r != %r' % (where, a, b)


def same_as_raw(checker, case, raw, path, fmt):
    """The tool on the compressed core at path gives the raw core's output."""
    if not checker.selected(case):
        return
    problems = []
    result = checker.tool(['--format', 'json', path])
    problems = crash(result)
    if not problems:
        if result.returncode != raw['json'].returncode:
            problems.append('exit status %d, the raw core gives %d'
                            % (result.returncode, raw['json'].returncode))
        stderr = result.stderr_text().replace(path, raw['path'])
        if stderr != raw['json'].stderr_text():
            problems.append('stderr %r, the raw core gives %r'
                            % (stderr, raw['json'].stderr_text()))
        doc, error = parse_json(result)
        if error:
            problems.append(error)
        else:
            target = doc.get('target') or {}
            if target.get('core') != os.path.realpath(path):
                problems.append('target.core %r, want %r'
                                % (target.get('core'), os.path.realpath(path)))
            if target.get('core_compression') != fmt:
                problems.append('target.core_compression %r, want %r'
                                % (target.get('core_compression'), fmt))
            diff = first_difference(strip_target(raw['doc']), strip_target(doc))
            if diff:
                problems.append('JSON differs from the raw core\'s: %s' % diff)
    text = checker.tool(['--format', 'text', path])
    problems += crash(text)
    if not crash(text):
        # Exactly: the text report is the same in every run (groups are
        # ordered by what they show, not by where strings happen to be).
        got = text.stdout.replace(path.encode(), raw['path'].encode())
        if text.returncode != raw['text'].returncode or got != raw['text'].stdout:
            problems.append('text output (exit status %d) differs from the raw '
                            'core\'s (%d)' % (text.returncode, raw['text'].returncode))
    checker.report(case, problems, '%s: %d bytes, %.1fs' % (
        os.path.basename(path), os.path.getsize(path), result.seconds))


def raw_core(checker, label, target, core):
    """The raw core's outputs; its JSON must match the scenario's truth."""
    raw = {'path': core,
           'json': checker.tool(['--format', 'json', core]),
           'text': checker.tool(['--format', 'text', core])}
    problems = crash(raw['json']) + crash(raw['text'])
    raw['doc'] = None
    if not problems:
        raw['doc'], error = parse_json(raw['json'])
        if error:
            problems.append(error)
        else:
            problems += run.compare(target.truth, raw['doc'], 'core')
            compression = (raw['doc'].get('target') or {}).get('core_compression', 'absent')
            if compression is not None:
                problems.append('target.core_compression %r for a raw core, want null'
                                % compression)
    checker.report('%s raw' % label, problems,
                   'exit status %d' % raw['json'].returncode)
    return raw if raw['doc'] is not None else None


def scenario_cases(checker, python, scenario, workdir, split):
    label = '%s %s' % (python.label, scenario)
    cases = ['%s %s' % (label, fmt) for fmt in COMPRESSORS]
    if split:
        cases += ['%s %s-concatenated' % (label, fmt) for fmt in COMPRESSORS]
    if not any(checker.selected(c) for c in ['%s raw' % label] + cases + CORE_USERS):
        return None
    unit_dir = os.path.join(workdir, '%s-%s' % (python.label, scenario))
    os.mkdir(unit_dir)
    try:
        with run.Target(python, scenario, unit_dir) as target:
            core = run.gcore(target.pid, unit_dir)
    except run.Skip as e:
        for case in ['%s raw' % label] + cases:
            checker.skip(case, str(e))
        return None
    except run.CaseError as e:
        checker.report('%s raw' % label, [str(e)])
        return None
    raw = raw_core(checker, label, target, core)
    if raw is None:
        return None
    try:
        compressed = compress_all(core)
    except run.CaseError as e:
        checker.report('%s compress' % label, [str(e)])
        return None
    for fmt, (ext, _) in sorted(COMPRESSORS.items()):
        path = compressed[fmt]
        same_as_raw(checker, '%s %s' % (label, fmt), raw, path, fmt)
        os.unlink(path)
        if split:
            path = compress_split(fmt, core, '%s.split.%s' % (core, ext), unit_dir)
            same_as_raw(checker, '%s %s-concatenated' % (label, fmt), raw, path, fmt)
            os.unlink(path)
    return core


def expect_failure(checker, case, path, mentions=(), env=None, not_mentions=()):
    """The tool fails cleanly on path: status 1, one line naming the file."""
    if not checker.selected(case):
        return
    result = checker.tool(['--format', 'json', path], env=env)
    problems = crash(result)
    lines = result.stderr_text().splitlines()
    if not problems:
        if result.returncode != 1:
            problems.append('exit status %d, want 1' % result.returncode)
        if result.stdout.strip():
            problems.append('stdout not empty: %r' % result.stdout[:200])
        if len(lines) != 1:
            problems.append('stderr has %d lines, want one' % len(lines))
        elif not lines[0].startswith(path + ': '):
            problems.append('the message does not start with the file\'s name')
        else:
            for word in mentions:
                if word not in lines[0]:
                    problems.append('the message does not say %r' % word)
            for word in not_mentions:
                if word in lines[0]:
                    problems.append('the message says %r' % word)
    checker.report(case, problems, '$ %s: %s\n%s' % (
        run.quote(result.argv), result.describe(), run.indent(result.stderr_text().strip())))


def bad_input(checker, core, workdir):
    """Broken compressed files: clean failures, each naming the file."""
    bad = os.path.join(workdir, 'bad')
    os.mkdir(bad)
    if core:
        zst = compress('zstd', core, os.path.join(bad, 'core.zst'))
        size = os.path.getsize(zst)
        truncated = os.path.join(bad, 'truncated.zst')
        with open(zst, 'rb') as i, open(truncated, 'wb') as o:
            o.write(i.read(size // 2))
        expect_failure(checker, 'bad truncated-zstd', truncated, ('truncated zstd',))
        corrupt = os.path.join(bad, 'corrupt.zst')
        shutil.copyfile(zst, corrupt)
        with open(corrupt, 'r+b') as f:
            f.seek(size // 2)
            byte = f.read(1)
            f.seek(size // 2)
            f.write(bytes([byte[0] ^ 0x55]))
        expect_failure(checker, 'bad corrupt-zstd', corrupt, ('zstd',))
    else:
        checker.skip('bad truncated-zstd', 'no core')
        checker.skip('bad corrupt-zstd', 'no core')
    # A compressed file of something else: refused from its first bytes.
    with open(os.path.join(run.SCENARIO_DIR, 'threads_blocking.py'), 'rb') as f:
        text = f.read()
    plain = os.path.join(bad, 'text')
    with open(plain, 'wb') as f:
        f.write(text * 1000)
    expect_failure(checker, 'bad lz4-not-a-core', compress('lz4', plain, os.path.join(
        bad, 'not-a-core.lz4')), ('lz4', 'not an ELF core'))
    empty = os.path.join(bad, 'empty.gz')
    open(empty, 'wb').close()
    expect_failure(checker, 'bad empty-gz-file', empty, ('empty',))
    nothing = os.path.join(bad, 'nothing')
    open(nothing, 'wb').close()
    expect_failure(checker, 'bad gzip-of-nothing', compress('gzip', nothing, os.path.join(
        bad, 'nothing.gz')), ('gzip', 'empty'))
    if core:
        trailing = os.path.join(bad, 'trailing.gz')
        compress('gzip', core, trailing)
        with open(trailing, 'ab') as f:
            f.write(b'garbage after the member\n')
        expect_failure(checker, 'bad gzip-trailing-garbage', trailing, ('corrupt gzip',))
    else:
        checker.skip('bad gzip-trailing-garbage', 'no core')


def bounds(checker, core, workdir):
    """The memory ceiling, and zero pages not counting against it."""
    cases = ('bound memory-ceiling', 'bound zero-pages-free')
    if not any(checker.selected(c) for c in cases):
        return
    cc = shutil.which('cc') or shutil.which('gcc')
    if not cc:
        for c in cases:
            checker.skip(c, 'no C compiler for the /proc/meminfo shim')
        return
    d = os.path.join(workdir, 'bounds')
    os.mkdir(d)
    src = os.path.join(d, 'shim.c')
    with open(src, 'w') as f:
        f.write(MEMINFO_SHIM)
    shim = os.path.join(d, 'shim.so')
    built = subprocess.run([cc, '-shared', '-fPIC', '-O', '-o', shim, src, '-ldl'],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if built.returncode != 0:
        for c in cases:
            checker.report(c, ['cannot build the shim:\n' + built.stdout.decode()])
        return
    env = dict(os.environ, LD_PRELOAD=shim)
    # A tool built with ASan (tests/sanitize.sh) wants its runtime first.
    env['ASAN_OPTIONS'] = ':'.join(o for o in (os.environ.get('ASAN_OPTIONS'),
                                               'verify_asan_link_order=0') if o)
    if core:
        zst = compress('zstd', core, os.path.join(d, 'core.zst'))
        expect_failure(checker, cases[0], zst, ('zstd', 'memory', 'decompress it'), env=env)
    else:
        checker.skip(cases[0], 'no core')
    # An ELF header, then 256 MiB of zeros: decoded in full, holding no
    # memory, then refused for what it is, not for its size.
    zeros = os.path.join(d, 'zeros')
    with open(zeros, 'wb') as f:
        f.write(b'\x7fELF')
        f.truncate(256 << 20)
    expect_failure(checker, cases[1], compress('zstd', zeros, zeros + '.zst'),
                   env=env, not_mentions=('memory', 'zstd'))


def main(argv=None):
    parser = argparse.ArgumentParser(description='Compressed cores.')
    parser.add_argument('--tool', default=run.default_tool())
    parser.add_argument('-k', action='append', default=[])
    parser.add_argument('-v', '--verbose', action='store_true')
    options = parser.parse_args(sys.argv[1:] if argv is None else argv)
    options.tool = os.path.abspath(options.tool)
    if not os.access(options.tool, os.X_OK):
        print('skip: tool not found: %s' % options.tool, file=sys.stderr)
        return run.SKIP
    reporter = run.Reporter(options.verbose)
    checker = Checker(options, reporter)
    missing = [argv[0] for _, argv in COMPRESSORS.values() if not shutil.which(argv[0])]
    if missing or not shutil.which('gcore'):
        reporter.report(run.Result('%s setup' % NAME, 'FAIL', 'not installed: %s' % ' '.join(
            missing + ([] if shutil.which('gcore') else ['gcore (gdb)']))))
        print(reporter.summary())
        return 1

    workdir = tempfile.mkdtemp(prefix='pcs-compressed-')
    try:
        # The smallest core is kept for the bad-input and bounds cases.
        small_core = None
        root = run.pyenv_root()
        for path, scenario, split in SCENARIOS:
            if path.startswith('pyenv:'):
                minor = path.split(':', 1)[1]
                found = sorted(os.path.join(root, 'versions', v, 'bin', 'python' + minor)
                               for v in (os.listdir(os.path.join(root, 'versions'))
                                         if root else ())
                               if v.startswith(minor + '.'))
                path = found[-1] if found else None
            if not path or not os.access(path, os.X_OK):
                checker.skip('%s %s' % (path, scenario), 'interpreter not found')
                continue
            pythons = run.resolve_pythons([path])
            if not pythons:
                checker.skip('%s %s' % (path, scenario), 'interpreter does not run')
                continue
            core = scenario_cases(checker, pythons[0], scenario, workdir, split)
            if core and small_core and os.path.getsize(core) < os.path.getsize(small_core):
                core, small_core = small_core, core
            elif core and not small_core:
                core, small_core = None, core
            if core:
                os.unlink(core)
        bad_input(checker, small_core, workdir)
        bounds(checker, small_core, workdir)
    except run.CaseError as e:
        reporter.report(run.Result('%s setup' % NAME, 'FAIL', str(e)))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print(reporter.summary())
    return 1 if reporter.counts['FAIL'] else 0


if __name__ == '__main__':
    sys.exit(main())
