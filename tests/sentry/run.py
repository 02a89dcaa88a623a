#!/usr/bin/env python3
"""pycore-stacks --format sentry: events Sentry takes, with the stacks the
tool's own JSON has.

  schema     tests/sentry/event.schema.json (draft-07, written from Sentry's
             event payload documentation) is checked by a small validator
             here (no PyPI): a good event passes, broken ones fail.
  corpus     corpus scenarios (tests/corpus/run.py starts them and writes
             their cores with gcore) on the system python3 (Debian's, with
             its greenlet) and a pyenv 3.12: threads, greenlets, a thousand
             asyncio tasks, --locals, --native, and one live process.  Each event is
             validated against the schema and checked against
             `--format json` of the same core: every thread, in order, with
             the same frames (function, file, line) in the same order;
             every greenlet and task in an entry with its frames, those in
             the same place folded into one ("600 x Task ..."); tags,
             contexts and level.
  crash      a kernel-written core of a Python process whose worker thread
             dies of SIGSEGV (ctypes.string_at(0)): a "fatal" event whose
             exception is SIGSEGV / SEGV_MAPERR at 0x0 on that thread, with
             that thread's frames.
  envelope   a local HTTP server implements Sentry's envelope endpoint
             (POST /api/PROJECT/envelope/: the key from X-Sentry-Auth, the
             sentry_key query parameter or the envelope's dsn; the envelope
             parsed as Sentry's envelope format says; the event validated).
             The curl snippet of README.md ("Sending a dump to Sentry") is
             run as it is written, with SENTRY_DSN pointing at it; a wrong
             key is refused.
  sentry-cli `sentry-cli send-event --raw FILE` (the README's line) and
             `sentry-cli send-event FILE` against the same server, where
             sentry-cli is installed or installable from npm (@sentry/cli,
             into ${PCS_CACHE:-~/.cache/pycore-stacks}/sentry-cli).

One line per check, then "N passed, N failed[, N skipped]".

usage: tests/sentry/run.py [--tool PATH] [-k SUBSTRING] [-v] [--keep]
"""

import argparse
import glob
import gzip
import http.server
import importlib.util
import json
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
SCHEMA_PATH = os.path.join(HERE, 'event.schema.json')
README = os.path.join(REPO, 'README.md')
SKIP = 77
TOOL_TIMEOUT = 120
MAX_EVENT = 1000 * 1000

# The corpus harness: scenario processes, gcore, kernel-core settings.
sys.dont_write_bytecode = True
_spec = importlib.util.spec_from_file_location(
    'corpus_run', os.path.join(REPO, 'tests', 'corpus', 'run.py'))
corpus = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(corpus)

CaseError = corpus.CaseError
Skip = corpus.Skip


# --- a draft-07 subset validator ---------------------------------------------

TYPES = {
    'object': lambda v: isinstance(v, dict),
    'array': lambda v: isinstance(v, list),
    'string': lambda v: isinstance(v, str),
    'integer': lambda v: isinstance(v, int) and not isinstance(v, bool),
    'number': lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    'boolean': lambda v: isinstance(v, bool),
    'null': lambda v: v is None,
}

KNOWN = {'$schema', '$id', 'title', 'description', '$ref', 'definitions', 'type', 'enum',
         'const', 'pattern', 'minLength', 'maxLength', 'minimum', 'required', 'properties',
         'additionalProperties', 'propertyNames', 'items', 'minItems', 'maxItems', 'anyOf'}


def check_schema(schema):
    """Every keyword of the schema is one this validator implements."""
    if isinstance(schema, dict):
        unknown = set(schema) - KNOWN
        if unknown:
            raise ValueError('schema keyword(s) not implemented: %s' % ', '.join(sorted(unknown)))
        for key, value in schema.items():
            if key in ('properties', 'definitions'):
                for sub in value.values():
                    check_schema(sub)
            elif key in ('items', 'additionalProperties', 'propertyNames'):
                check_schema(value)
            elif key == 'anyOf':
                for sub in value:
                    check_schema(sub)


def validate(value, schema, root=None, path='$'):
    """The list of ways @value breaks @schema (empty: valid)."""
    root = root if root is not None else schema
    if schema is True:
        return []
    if schema is False:
        return ['%s: not allowed' % path]
    errors = []
    if '$ref' in schema:
        ref = schema['$ref']
        if not ref.startswith('#/definitions/'):
            raise ValueError('unsupported $ref %r' % ref)
        errors += validate(value, root['definitions'][ref[len('#/definitions/'):]], root, path)
    if 'type' in schema:
        types = schema['type'] if isinstance(schema['type'], list) else [schema['type']]
        if not any(TYPES[t](value) for t in types):
            return errors + ['%s: %s is not of type %s' % (path, short(value), '/'.join(types))]
    if 'enum' in schema and value not in schema['enum']:
        errors.append('%s: %s is not one of %s' % (path, short(value), schema['enum']))
    if 'const' in schema and (value != schema['const'] or type(value) is not type(schema['const'])):
        errors.append('%s: %s is not %r' % (path, short(value), schema['const']))
    if isinstance(value, str):
        if 'pattern' in schema and not re.search(schema['pattern'], value):
            errors.append('%s: %s does not match %s' % (path, short(value), schema['pattern']))
        if len(value) < schema.get('minLength', 0):
            errors.append('%s: %s is too short' % (path, short(value)))
        if 'maxLength' in schema and len(value) > schema['maxLength']:
            errors.append('%s: %s is longer than %d' % (path, short(value), schema['maxLength']))
    if TYPES['number'](value) and 'minimum' in schema and value < schema['minimum']:
        errors.append('%s: %s is less than %s' % (path, value, schema['minimum']))
    if isinstance(value, dict):
        for key in schema.get('required', ()):
            if key not in value:
                errors.append('%s: %r is missing' % (path, key))
        properties = schema.get('properties', {})
        for key, item in value.items():
            where = '%s.%s' % (path, key)
            if 'propertyNames' in schema:
                errors += ['%s (the name): %s' % (where, e.split(': ', 1)[1])
                           for e in validate(key, schema['propertyNames'], root, where)]
            if key in properties:
                errors += validate(item, properties[key], root, where)
            elif 'additionalProperties' in schema:
                extra = schema['additionalProperties']
                if extra is False:
                    errors.append('%s: not a documented attribute' % where)
                else:
                    errors += validate(item, extra, root, where)
    if isinstance(value, list):
        if len(value) < schema.get('minItems', 0):
            errors.append('%s: fewer than %d items' % (path, schema['minItems']))
        if 'maxItems' in schema and len(value) > schema['maxItems']:
            errors.append('%s: more than %d items' % (path, schema['maxItems']))
        if 'items' in schema:
            for i, item in enumerate(value):
                errors += validate(item, schema['items'], root, '%s[%d]' % (path, i))
    if 'anyOf' in schema:
        branches = [validate(value, sub, root, path) for sub in schema['anyOf']]
        if all(branches):
            best = min(branches, key=len)
            errors.append('%s: matches none of %d choices; closest: %s'
                          % (path, len(branches), '; '.join(best[:3])))
    return errors


def short(value):
    text = json.dumps(value)
    return text if len(text) <= 60 else text[:57] + '...'


def load_schema():
    with open(SCHEMA_PATH) as f:
        schema = json.load(f)
    check_schema(schema)
    return schema


# --- running the tool -----------------------------------------------------------

def run_tool(tool, args, fmt):
    """The tool's output as text; exit 0 or 3 (partial) is accepted."""
    result = corpus.run_command([tool, '--format', fmt] + args, TOOL_TIMEOUT)
    if result.timed_out or result.returncode not in (0, 3):
        raise CaseError('%s: %s\n%s' % (corpus.quote(result.argv), result.describe(),
                                        corpus.indent(result.stderr_text().strip())))
    return result.stdout.decode('utf-8')


def sentry_event(tool, args):
    """The event, parsed, and its text; checked to be one line of JSON."""
    text = run_tool(tool, args, 'sentry')
    if not text.endswith('\n') or '\n' in text[:-1]:
        raise CaseError('the event is not exactly one line (%d newlines)' % text.count('\n'))
    if len(text.encode()) > MAX_EVENT:
        raise CaseError('the event has %d bytes, over Sentry\'s 1 MB' % len(text.encode()))
    if not re.match(r'^\{"event_id":"[0-9a-f]{32}",', text):
        raise CaseError('the event does not start with its event_id: %s' % text[:60])
    return json.loads(text), text


# --- the event against the tool's JSON --------------------------------------------

LIBRARY = re.compile(r'/lib/python\d+\.\d+[a-z]*/|/(site|dist)-packages/')


def frame_errors(label, want, got):
    """@want: JSON frames; @got: Sentry frames (already un-cut)."""
    errors = []
    if len(want) != len(got):
        errors.append('%s: %d frames in the JSON, %d in the event' % (label, len(want), len(got)))
    for i, (w, g) in enumerate(zip(want, got)):
        where = '%s frame %d' % (label, i)
        if w.get('kind') == 'native':
            if g.get('platform') != 'native' or g.get('instruction_addr') != w['pc'] or \
                    g.get('function') != w.get('symbol') or g.get('package') != w.get('module'):
                errors.append('%s: %s, JSON has %s' % (where, short(g), short(w)))
            continue
        function = w.get('qualname') or w.get('function')
        line = w.get('line') if isinstance(w.get('line'), int) and w['line'] >= 1 else None
        if (g.get('function'), g.get('abs_path'), g.get('lineno')) != (function, w.get('file'), line):
            errors.append('%s: %s %s:%s, JSON has %s %s:%s' % (
                where, g.get('function'), g.get('abs_path'), g.get('lineno'),
                function, w.get('file'), line))
        if w.get('source') is not None and g.get('context_line') != w['source']:
            errors.append('%s: context_line %r, JSON source %r' % (where, g.get('context_line'),
                                                                    w['source']))
        if w.get('file'):
            in_app = not (LIBRARY.search(w['file']) or w['file'].startswith('<frozen '))
            if g.get('in_app') is not in_app:
                errors.append('%s: in_app %r for %s' % (where, g.get('in_app'), w['file']))
        if 'locals' in w and g.get('vars') != w['locals']:
            errors.append('%s: vars %s, JSON locals %s' % (where, short(g.get('vars')),
                                                          short(w['locals'])))
        if 'module' in g and not module_plausible(g['module'], w.get('file', '')):
            errors.append('%s: module %r for %s' % (where, g['module'], w.get('file')))
    return errors


def module_plausible(module, path):
    """A module named for a file is that file's dotted path, or its package's."""
    tail = module.replace('.', '/')
    return (path.endswith('/' + tail + '.py') or path.endswith('/' + tail + '/__init__.py')
            or path == '<frozen %s>' % module)


def stack_of(entry):
    return (entry.get('stacktrace') or {}).get('frames', [])


def count_of(name):
    """How many units an entry stands for: "600 × Task ..." is 600."""
    m = re.match(r'^(\d+) \u00d7 ', name)
    return int(m.group(1)) if m else 1


def compare(event, doc, kind, crash=None):
    """Every difference between the event and the tool's JSON of the same target."""
    errors = []
    target = doc['target']
    want_level = 'fatal' if crash else ('error' if kind == 'core' else 'info')
    if event['level'] != want_level:
        errors.append('level %r, want %r' % (event['level'], want_level))
    if event['platform'] != 'python':
        errors.append('platform %r' % event['platform'])
    tags = event['tags']
    for key, want in (('python.version', target['python']['version']),
                      ('python.layout', target['layout']),
                      ('pycore_stacks.target', kind),
                      ('executable', target.get('executable'))):
        if tags.get(key) != want:
            errors.append('tag %s %r, want %r' % (key, tags.get(key), want))
    if event['contexts']['runtime'].get('version') != target['python']['version']:
        errors.append('contexts.runtime.version %r' % event['contexts']['runtime'].get('version'))
    if event['extra']['pid'] != target['pid'] or event['contexts']['process']['pid'] != target['pid']:
        errors.append('pid %r, want %r' % (event['extra']['pid'], target['pid']))
    counts = event['extra']['counts']
    for key in ('threads', 'greenlets', 'tasks'):
        if counts[key] != len(doc[key]):
            errors.append('extra.counts.%s %d, JSON has %d' % (key, counts[key], len(doc[key])))
    if event['extra']['warnings'] != doc['warnings'][:50]:
        errors.append('warnings differ: %s' % short(event['extra']['warnings']))
    if event['extra']['left_out']:
        errors.append('left out: %s' % event['extra']['left_out'])
    if crash is None and ('exception' in event or 'logentry' not in event):
        errors.append('no crash, but no message (or an exception)')
    if crash is None and event['logentry']['formatted'] != 'Python stacks of pid %d (python %s)' % (
            target['pid'], target['python']['version']):
        errors.append('message %r' % event['logentry']['formatted'])

    entries = event['threads']['values']
    threads = [e for e in entries if isinstance(e['id'], int)]
    units = [e for e in entries if not isinstance(e['id'], int)]
    ids = [e['id'] for e in entries]
    if len(set(map(str, ids))) != len(ids):
        errors.append('thread ids are not unique: %s' % ids)
    # Threads: the same, in the same order, with the same frames.
    if [t['id'] for t in threads] != [t['tid'] for t in doc['threads']]:
        errors.append('threads %s, JSON has %s' % ([t['id'] for t in threads],
                                                    [t['tid'] for t in doc['threads']]))
    exception = (event.get('exception') or {'values': [{}]})['values'][0]
    for want, got in zip(doc['threads'], threads):
        label = 'thread %s' % want['tid']
        if got.get('name') != want.get('name'):
            errors.append('%s: name %r, JSON %r' % (label, got.get('name'), want.get('name')))
        crashed = bool(crash) and want['tid'] == crash['tid']
        if got['crashed'] != crashed:
            errors.append('%s: crashed %r' % (label, got['crashed']))
        if got['current'] != (crashed or want['holds_gil'] is True):
            errors.append('%s: current %r, holds_gil %r' % (label, got['current'],
                                                           want['holds_gil']))
        frames = stack_of(got)
        if crashed:
            # Sentry: the crashed thread's frames are on the exception.
            if 'stacktrace' in got:
                errors.append('%s: the crashed thread has its own stacktrace' % label)
            frames = stack_of(exception)
        errors += frame_errors(label, want['frames'], frames)
    # Greenlets and tasks: each in an entry whose frames are its own.
    shown = set(t['tid'] for t in doc['threads'])
    want_units = {}
    for g in doc['greenlets']:
        if g['state'] == 'running' and g['tid'] in shown:
            continue            # its frames are its thread's
        want_units['greenlet ' + g['address']] = g
    for t in doc['tasks']:
        want_units['task ' + t['address']] = t
    total = {'greenlet': 0, 'task': 0}
    for entry in units:
        kind_, _, address = entry['id'].partition(' ')
        if entry['id'] not in want_units:
            errors.append('entry %s: no such %s in the JSON' % (entry['id'], kind_))
            continue
        want = want_units[entry['id']]
        total[kind_] += count_of(entry['name'])
        if entry['crashed'] or entry['current']:
            errors.append('entry %s: crashed or current' % entry['id'])
        if count_of(entry['name']) > 1 and 'stacktrace' in entry and \
                'parked in the same place' not in entry['name']:
            errors.append('entry %s: a group whose name does not say so: %r'
                          % (entry['id'], entry['name']))
        errors += frame_errors('entry %s' % entry['id'], want['frames'], stack_of(entry))
    for kind_ in ('greenlet', 'task'):
        n = sum(1 for k in want_units if k.startswith(kind_ + ' '))
        if total[kind_] != n:
            errors.append('%d %ss in the entries, %d in the JSON' % (total[kind_], kind_, n))
    return errors


def schema_errors(schema, event):
    errors = validate(event, schema)
    return ['schema: ' + e for e in errors[:20]] + (
        ['schema: (%d more)' % (len(errors) - 20)] if len(errors) > 20 else [])


# --- checks -------------------------------------------------------------------

class Results(object):
    def __init__(self, verbose, filters):
        self.counts = {'ok': 0, 'FAIL': 0, 'skip': 0}
        self.verbose = verbose
        self.filters = filters

    def wanted(self, name):
        return not self.filters or any(k in name for k in self.filters)

    def run(self, name, fn, *args):
        """Run one check: fn returns a detail line, raises CaseError or Skip."""
        if not self.wanted(name):
            return None
        try:
            detail = fn(*args)
            status = 'ok'
        except Skip as e:
            status, detail = 'skip', str(e)
        except CaseError as e:
            status, detail = 'FAIL', str(e)
        except Exception as e:      # a bug here is a failure, not a crash
            status, detail = 'FAIL', '%s: %s' % (type(e).__name__, e)
        self.counts[status] += 1
        line = '%s - %s' % (status, name)
        if status == 'skip' and detail:
            line += ' # ' + detail.splitlines()[0]
        print(line)
        if detail and (status == 'FAIL' or (self.verbose and status == 'ok')):
            print(corpus.indent(detail))
        sys.stdout.flush()
        return status

    def summary(self):
        text = '%d passed, %d failed' % (self.counts['ok'], self.counts['FAIL'])
        if self.counts['skip']:
            text += ', %d skipped' % self.counts['skip']
        return text


def fail_if(errors, detail=None):
    if errors:
        raise CaseError('\n'.join(errors))
    return detail


def check_validator(schema):
    """The validator and schema can fail: broken events must not pass."""
    good = {
        'event_id': '0123456789ab4def8123456789abcdef', 'timestamp': 1.5,
        'platform': 'python', 'level': 'error', 'logger': 'pycore-stacks',
        'logentry': {'message': 'Python stacks of pid %s (python %s)',
                     'params': ['1', '3.12.1'],
                     'formatted': 'Python stacks of pid 1 (python 3.12.1)'},
        'threads': {'values': [{'id': 1, 'crashed': False, 'current': True, 'stacktrace': {
            'frames': [{'function': 'main', 'abs_path': '/a.py', 'filename': '/a.py',
                        'lineno': 3, 'in_app': True},
                       {'platform': 'native', 'instruction_addr': '0x10', 'in_app': False}]}},
                               {'id': 'task 0x10', 'crashed': False, 'current': False}]},
        'tags': {'python.version': '3.12.1', 'python.layout': 'dwarf',
                 'pycore_stacks.target': 'core'},
        'contexts': {'runtime': {'type': 'runtime', 'name': 'CPython'},
                     'os': {'type': 'os', 'name': 'Linux'}},
        'sdk': {'name': 'pycore-stacks', 'version': '1'},
        'extra': {'pid': 1, 'python': {}, 'counts': {'threads': 1, 'greenlets': 0, 'tasks': 1},
                  'warnings': [], 'left_out': []},
    }
    errors = validate(good, schema)
    if errors:
        raise CaseError('a good event fails:\n' + '\n'.join(errors))
    frame = ('threads', 'values', 0, 'stacktrace', 'frames', 0)
    broken = [
        ('no event_id', (), lambda e: e.pop('event_id')),
        ('an upper-case event_id', ('event_id',), 'ABCDEF0123454789A123456789ABCDEF'),
        ('a dashed event_id', ('event_id',), '01234567-89ab-4def-8123-456789abcdef'),
        ('level "critical"', ('level',), 'critical'),
        ('an undocumented attribute', ('culprits',), 'x'),
        ('an empty frame list', ('threads', 'values', 0, 'stacktrace', 'frames'), []),
        ('lineno 0', frame + ('lineno',), 0),
        ('a frame with neither function nor address', frame, {'lineno': 3}),
        ('an address without 0x', ('threads', 'values', 0, 'stacktrace', 'frames', 1,
                                   'instruction_addr'), '10'),
        ('a thread without id', ('threads', 'values', 0), {'crashed': False, 'current': False}),
        ('a tag of 200 characters', ('tags', 'python.layout'), 'x' * 200),
        ('a tag with a newline', ('tags', 'python.layout'), 'a\nb'),
        ('a tag name with a space', ('tags', 'a b'), 'x'),
        ('a numeric tag', ('tags', 'python.layout'), 3),
        ('crashed as a string', ('threads', 'values', 0, 'crashed'), 'false'),
    ]
    for what, path, change in broken:
        event = json.loads(json.dumps(good))
        if callable(change):
            change(event)
        else:
            node = event
            for key in path[:-1]:
                node = node[key]
            node[path[-1]] = change
        if not validate(event, schema):
            raise CaseError('%s passes the schema' % what)
    return '%d broken events refused' % len(broken)


# --- corpus cases -------------------------------------------------------------

class Cores(object):
    """Events made in the corpus cases, kept for the envelope checks."""

    def __init__(self):
        self.events = []     # (path of the core, event text)


def corpus_case(options, schema, python, scenario, mode, cores, tool_args=()):
    workdir = tempfile.mkdtemp(prefix='pcs-sentry-', dir=options.workdir)
    with corpus.Target(python, scenario, workdir) as target:
        if mode == 'core':
            if not shutil.which('gcore'):
                raise Skip('gcore not found (apt-get install gdb)')
            core = corpus.gcore(target.pid, workdir)
            args = list(tool_args) + [core]
        else:
            args = list(tool_args) + ['--pid', str(target.pid)]
        event, text = sentry_event(options.tool, args)
        doc = json.loads(run_tool(options.tool, args, 'json'))
        errors = schema_errors(schema, event) + compare(
            event, doc, 'core' if mode == 'core' else 'process')
        if mode == 'core':
            mtime = os.path.getmtime(core)
            if abs(event['timestamp'] - mtime) > 1:
                errors.append('timestamp %r, the core was written at %r'
                              % (event['timestamp'], mtime))
            if not errors:
                cores.events.append((core, text))
        else:
            if abs(event['timestamp'] - time.time()) > 60:
                errors.append('timestamp %r is not now' % event['timestamp'])
        if '--locals' in tool_args and '"vars":' not in text:
            errors.append('--locals, but no frame has vars')
        if '--native' in tool_args and '"platform":"native"' not in text:
            errors.append('--native, but no native frame')
        units = [e for e in event['threads']['values'] if not isinstance(e['id'], int)]
        return fail_if(errors, '%d threads, %d greenlets and %d tasks in %d entries, %d bytes'
                       % (len(doc['threads']), len(doc['greenlets']), len(doc['tasks']),
                          len(units), len(text)))


def check_folded(options, schema, python, cores):
    """A thousand tasks in three places: a handful of entries."""
    workdir = tempfile.mkdtemp(prefix='pcs-sentry-', dir=options.workdir)
    with corpus.Target(python, 'asyncio_many', workdir) as target:
        core = corpus.gcore(target.pid, workdir)
        event, text = sentry_event(options.tool, [core])
        doc = json.loads(run_tool(options.tool, [core], 'json'))
    errors = schema_errors(schema, event) + compare(event, doc, 'core')
    tasks = [e for e in event['threads']['values'] if str(e['id']).startswith('task ')]
    names = sorted(e['name'] for e in tasks)
    for n in (600, 300, 100):
        if not any(name.startswith('%d \u00d7 Task (pending' % n) for name in names):
            errors.append('no entry of %d tasks: %s' % (n, names))
    if len(tasks) > 10:
        errors.append('%d task entries for 3 places' % len(tasks))
    return fail_if(errors, '%d tasks in %d entries: %s' % (len(doc['tasks']), len(tasks), names))


# --- the crash ----------------------------------------------------------------

CRASH_SCRIPT = r'''
import ctypes, os, sys, threading, time

def crash():
    with open(sys.argv[1] + '.tmp', 'w') as f:
        f.write('%d\n' % threading.get_native_id())
    os.rename(sys.argv[1] + '.tmp', sys.argv[1])
    time.sleep(0.5)
    ctypes.string_at(0)

worker = threading.Thread(target=crash, name='crasher')
worker.start()
worker.join()
'''


def kernel_crash_core(python, workdir):
    """Run CRASH_SCRIPT until its worker dies of SIGSEGV: (core, worker's tid)."""
    with open('/proc/sys/kernel/core_pattern') as f:
        pattern = f.read().strip()
    if pattern.startswith('|') or '/' in pattern:
        raise Skip('kernel cores go to %r, not the working directory' % pattern)
    if resource.getrlimit(resource.RLIMIT_CORE)[1] == 0:
        raise Skip('the hard core size limit is 0 (ulimit -H -c)')
    tid_path = os.path.join(workdir, 'tid')
    proc = subprocess.Popen([python.path, '-E', '-s', '-c', CRASH_SCRIPT, tid_path],
                            cwd=workdir, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, env=corpus.python_env(),
                            preexec_fn=corpus.allow_core_dumps, start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        corpus.kill_group(proc)
        proc.communicate()
        raise CaseError('the crash script did not crash in 60s')
    if proc.returncode != -signal.SIGSEGV:
        raise CaseError('the crash script ended with status %d, not SIGSEGV:\n%s'
                        % (proc.returncode, corpus.indent(out.decode('utf-8', 'replace'))))
    with open(tid_path) as f:
        tid = int(f.read())
    prefix = pattern.split('%')[0] or 'core'
    found = [os.path.join(workdir, n) for n in os.listdir(workdir) if n.startswith(prefix)]
    if not found:
        raise CaseError('no kernel core in %s (core_pattern %r)' % (workdir, pattern))
    return max(found, key=os.path.getmtime), tid


def check_crash(options, schema, python, cores):
    workdir = tempfile.mkdtemp(prefix='pcs-sentry-crash-', dir=options.workdir)
    core, tid = kernel_crash_core(python, workdir)
    event, text = sentry_event(options.tool, [core])
    doc = json.loads(run_tool(options.tool, [core], 'json'))
    errors = schema_errors(schema, event)
    crash = {'tid': tid}
    errors += compare(event, doc, 'core', crash)
    values = (event.get('exception') or {}).get('values') or [{}]
    exc = values[0]
    mechanism = exc.get('mechanism', {})
    signal_meta = mechanism.get('meta', {}).get('signal', {})
    want = [
        ('exception type', exc.get('type'), 'SIGSEGV'),
        ('exception value', exc.get('value'), 'SEGV_MAPERR at 0x0'),
        ('exception thread_id', exc.get('thread_id'), tid),
        ('mechanism type', mechanism.get('type'), 'signalhandler'),
        ('mechanism handled', mechanism.get('handled'), False),
        ('signal number', signal_meta.get('number'), signal.SIGSEGV),
        ('signal name', signal_meta.get('name'), 'SIGSEGV'),
        ('signal code_name', signal_meta.get('code_name'), 'SEGV_MAPERR'),
        ('signal tag', event['tags'].get('signal'), 'SIGSEGV'),
        ('level', event['level'], 'fatal'),
    ]
    for what, got, expected in want:
        if got != expected:
            errors.append('%s %r, want %r' % (what, got, expected))
    crashed = [e for e in event['threads']['values'] if e['crashed']]
    if [e['id'] for e in crashed] != [tid]:
        errors.append('crashed threads %s, want [%d] (the worker)' % ([e['id'] for e in crashed], tid))
    frames = stack_of(exc)
    if not frames or frames[-1].get('function') != 'string_at':
        errors.append('the exception\'s innermost frame is %s, not string_at'
                      % (short(frames[-1]) if frames else 'missing'))
    if not any(f.get('function') == 'crash' for f in frames):
        errors.append('no frame of crash() on the exception')
    if not errors:
        cores.events.append((core, text))
    return fail_if(errors, 'worker %d: %s %s' % (tid, exc.get('type'), exc.get('value')))


# --- a Sentry envelope endpoint -------------------------------------------------

class Receiver(object):
    """POST /api/PROJECT/envelope/ as Sentry's ingestion documents it."""

    def __init__(self, schema, key, project):
        self.schema = schema
        self.key = key
        self.project = project
        self.received = []      # (how it authenticated, envelope header, item header, payload)
        self.refused = []       # (status, reason)
        self.lock = threading.Lock()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                status, reason = receiver.handle(self)
                body = json.dumps({'id': reason} if status == 200 else {'detail': reason})
                self.send_response(status)
                self.send_header('Content-Type', 'application/json')
                self.send_header('Content-Length', str(len(body)))
                self.end_headers()
                self.wfile.write(body.encode())

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def dsn(self):
        return 'http://%s@127.0.0.1:%d/%s' % (self.key, self.server.server_address[1],
                                              self.project)

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    def reset(self):
        with self.lock:
            self.received = []
            self.refused = []

    def body(self, request):
        if request.headers.get('Transfer-Encoding', '').lower() == 'chunked':
            data = b''
            while True:
                size = int(request.rfile.readline().split(b';')[0], 16)
                if not size:
                    request.rfile.readline()
                    break
                data += request.rfile.read(size)
                request.rfile.readline()
        else:
            data = request.rfile.read(int(request.headers.get('Content-Length', 0)))
        encoding = request.headers.get('Content-Encoding', '').lower()
        if encoding == 'gzip':
            data = gzip.decompress(data)
        elif encoding == 'deflate':
            data = zlib.decompress(data)
        elif encoding not in ('', 'identity'):
            raise ValueError('unsupported Content-Encoding %r' % encoding)
        return data

    def handle(self, request):
        try:
            status, reason = self._handle(request)
        except Exception as e:
            status, reason = 400, '%s: %s' % (type(e).__name__, e)
        if status != 200:
            with self.lock:
                self.refused.append((status, reason))
        return status, reason

    def _handle(self, request):
        url = urllib.parse.urlsplit(request.path)
        if url.path != '/api/%s/envelope/' % self.project:
            return 404, 'no endpoint %s' % url.path
        content_type = request.headers.get('Content-Type', 'application/x-sentry-envelope')
        if content_type.split(';')[0].strip() not in (
                'application/x-sentry-envelope', 'text/plain', 'application/octet-stream'):
            return 415, 'content type %r' % content_type
        data = self.body(request)
        # Authentication: the header, the query, or the envelope's dsn.
        keys = {}
        auth = request.headers.get('X-Sentry-Auth', '')
        if auth:
            if not auth.startswith('Sentry '):
                return 401, 'X-Sentry-Auth does not start with "Sentry "'
            fields = dict(p.strip().split('=', 1) for p in auth[7:].split(',') if '=' in p)
            keys['X-Sentry-Auth'] = fields.get('sentry_key')
        query = urllib.parse.parse_qs(url.query)
        if 'sentry_key' in query:
            keys['query'] = query['sentry_key'][0]
        header_line, _, rest = data.partition(b'\n')
        header = json.loads(header_line)
        if not isinstance(header, dict):
            return 400, 'the envelope header is not an object'
        if 'dsn' in header:
            keys['dsn'] = urllib.parse.urlsplit(header['dsn']).username
        if not keys:
            return 403, 'no key (X-Sentry-Auth, sentry_key or dsn)'
        if any(k != self.key for k in keys.values()):
            return 403, 'wrong key: %s' % keys
        # Items: a header line, then "length" bytes or up to the next newline.
        items = []
        while rest:
            item_line, _, rest = rest.partition(b'\n')
            item = json.loads(item_line)
            if 'length' in item:
                payload, rest = rest[:item['length']], rest[item['length']:]
                if len(payload) != item['length']:
                    return 400, 'an item shorter than its length'
                if rest[:1] not in (b'', b'\n'):
                    return 400, 'no newline after a length-prefixed payload'
                rest = rest[1:]
            else:
                payload, _, rest = rest.partition(b'\n')
            items.append((item, payload))
        events = [(i, p) for i, p in items if i.get('type') == 'event']
        if len(events) != 1:
            return 400, '%d event items' % len(events)
        item, payload = events[0]
        if len(payload) > MAX_EVENT:
            return 413, 'an event of %d bytes' % len(payload)
        event = json.loads(payload)
        event_id = header.get('event_id', '').replace('-', '').lower()
        if event_id != event.get('event_id'):
            return 400, 'envelope event_id %r, event %r' % (header.get('event_id'),
                                                            event.get('event_id'))
        with self.lock:
            self.received.append((sorted(keys), header, item, payload))
        return 200, event_id


def readme_section():
    """The code blocks of README.md's "### Sending a dump to Sentry"."""
    with open(README) as f:
        text = f.read()
    m = re.search(r'^### Sending a dump to Sentry\n(.*?)(?=^#{1,3} )', text + '\n# ', re.M | re.S)
    if not m:
        raise CaseError('README.md has no "### Sending a dump to Sentry" section')
    return re.findall(r'^```(?:sh|bash|console)?\n(.*?)^```', m.group(1), re.M | re.S)


def snippet_env(options, receiver, core, workdir):
    """A directory where the README's commands run as written: core.1234 is
    the core, pycore-stacks the tool, SENTRY_DSN the local server."""
    bindir = os.path.join(workdir, 'bin')
    os.makedirs(bindir, exist_ok=True)
    link = os.path.join(bindir, 'pycore-stacks')
    if not os.path.lexists(link):
        os.symlink(options.tool, link)
    target = os.path.join(workdir, 'core.1234')
    if os.path.lexists(target):
        os.unlink(target)
    os.symlink(core, target)
    env = dict(os.environ)
    env['PATH'] = bindir + os.pathsep + env.get('PATH', '')
    env['SENTRY_DSN'] = receiver.dsn
    return env


def received_errors(receiver, how, text=None):
    """The server took one event, authenticated by @how, valid; the event
    @text if given, else the same stacks as the last one the cases made."""
    errors = []
    if receiver.refused:
        errors.append('the server refused: %s' % receiver.refused)
    if len(receiver.received) != 1:
        errors.append('the server got %d envelopes' % len(receiver.received))
    for keys, header, item, payload in receiver.received:
        if how not in keys:
            errors.append('authenticated by %s, not %s' % (keys, how))
        if text is not None and payload.strip() != text.strip().encode():
            errors.append('the payload is not the event the tool wrote (%d bytes, %d sent)'
                          % (len(text.encode()), len(payload)))
        errors += schema_errors(receiver.schema, json.loads(payload))
    return errors


def same_stacks(a, b):
    """Events of one core, from two runs: the same but for the event id and
    the path the core was named by."""
    return all(a.get(k) == b.get(k) for k in ('level', 'exception', 'threads', 'tags'))


def check_curl(options, receiver, cores):
    if not shutil.which('curl'):
        raise Skip('curl not found')
    if not cores.events:
        raise CaseError('no event from the cases before to send')
    core, text = cores.events[-1]
    blocks = [b for b in readme_section() if 'curl ' in b]
    if len(blocks) != 1:
        raise CaseError('README.md: %d code blocks with curl in "Sending a dump to Sentry"'
                        % len(blocks))
    workdir = tempfile.mkdtemp(prefix='pcs-sentry-curl-', dir=options.workdir)
    env = snippet_env(options, receiver, core, workdir)
    receiver.reset()
    result = subprocess.run(['bash', '-o', 'pipefail', '-c', blocks[0]], cwd=workdir, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120)
    errors = []
    if result.returncode != 0:
        errors.append('the README snippet: exit status %d\n%s' % (
            result.returncode, corpus.indent(result.stdout.decode('utf-8', 'replace'))))
    errors += received_errors(receiver, 'query')
    for _, _, _, payload in receiver.received:
        if not same_stacks(json.loads(payload), json.loads(text)):
            errors.append('the server got other stacks than the tool writes for that core')
    # A wrong key must be refused: the check can fail.
    receiver.reset()
    env['SENTRY_DSN'] = receiver.dsn.replace(receiver.key, 'f' * 32)
    result = subprocess.run(['bash', '-o', 'pipefail', '-c', blocks[0]], cwd=workdir, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120)
    if result.returncode == 0 or [s for s, _ in receiver.refused] != [403]:
        errors.append('a wrong key was not refused (exit %d, refused %s)'
                      % (result.returncode, receiver.refused))
    return fail_if(errors, 'README curl snippet: the event of %s sent to %s'
                   % (os.path.basename(core), receiver.dsn))


def check_envelope_with_length(options, receiver, cores):
    """The envelope the docs recommend (a "length" header), by hand."""
    if not cores.events:
        raise CaseError('no event from the cases before to send')
    core, text = cores.events[0]
    event_id = json.loads(text)['event_id']
    body = ('{"event_id":"%s","dsn":"%s"}\n{"type":"event","length":%d}\n'
            % (event_id, receiver.dsn, len(text.encode()))).encode() + text.encode()
    receiver.reset()
    import urllib.request
    request = urllib.request.Request(
        'http://127.0.0.1:%d/api/%s/envelope/' % (receiver.server.server_address[1],
                                                   receiver.project),
        data=gzip.compress(body), method='POST',
        headers={'Content-Type': 'application/x-sentry-envelope', 'Content-Encoding': 'gzip',
                 'X-Sentry-Auth': 'Sentry sentry_version=7, sentry_key=%s, '
                                  'sentry_client=pycore-stacks-test/1' % receiver.key})
    with urllib.request.urlopen(request, timeout=30) as response:
        reply = json.loads(response.read())
    errors = received_errors(receiver, 'X-Sentry-Auth', text)
    if reply.get('id') != event_id:
        errors.append('the server answered %r' % reply)
    return fail_if(errors, '%d bytes, gzip' % len(body))


def find_sentry_cli(options):
    """sentry-cli on PATH, in the cache, or installed there from npm."""
    found = shutil.which('sentry-cli')
    if found:
        return found
    cache = os.path.join(os.environ.get('PCS_CACHE') or
                         os.path.expanduser('~/.cache/pycore-stacks'), 'sentry-cli')
    path = os.path.join(cache, 'node_modules', '.bin', 'sentry-cli')
    if not os.access(path, os.X_OK):
        if not shutil.which('npm'):
            raise Skip('sentry-cli not installed, and no npm to install @sentry/cli with')
        os.makedirs(cache, exist_ok=True)
        result = corpus.run_command(['npm', 'install', '--prefix', cache, '--no-audit',
                                     '--no-fund', '@sentry/cli'], 600)
        if result.returncode != 0 or not os.access(path, os.X_OK):
            raise Skip('npm install @sentry/cli failed (%s): %s' % (
                result.describe(), (result.stdout + result.stderr).decode(
                    'utf-8', 'replace').strip().splitlines()[-1:]))
    result = corpus.run_command([path, '--version'], 60)
    if result.returncode != 0:
        raise Skip('%s --version: %s (its binary is fetched by a postinstall script, '
                   'which may not have run)' % (path, result.describe()))
    return path


def check_sentry_cli(options, receiver, cores, raw):
    sentry_cli = find_sentry_cli(options)
    if not cores.events:
        raise CaseError('no event from the cases before to send')
    core, text = cores.events[-1]
    workdir = tempfile.mkdtemp(prefix='pcs-sentry-cli-', dir=options.workdir)
    env = snippet_env(options, receiver, core, workdir)
    env['PATH'] = os.path.dirname(sentry_cli) + os.pathsep + env['PATH']
    env['SENTRY_DISABLE_UPDATE_CHECK'] = '1'
    env['SENTRY_LOG_LEVEL'] = 'info'
    with open(os.path.join(workdir, 'event.json'), 'w') as f:
        f.write(text)
    if raw:
        lines = [line for b in readme_section() for line in b.splitlines()
                 if line.startswith('sentry-cli send-event')]
        if lines != ['sentry-cli send-event --raw event.json']:
            raise CaseError('README.md: the sentry-cli lines are %s' % lines)
        argv = ['bash', '-c', lines[0]]
    else:
        argv = [sentry_cli, 'send-event', 'event.json']
    receiver.reset()
    result = subprocess.run(argv, cwd=workdir, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, timeout=120)
    output = result.stdout.decode('utf-8', 'replace')
    errors = []
    if result.returncode != 0:
        errors.append('%s: exit status %d\n%s' % (' '.join(argv[-3:]), result.returncode,
                                                 corpus.indent(output)))
    event = json.loads(text)
    if raw:
        errors += received_errors(receiver, 'X-Sentry-Auth', text)
    else:
        # sentry-cli reads the event into its own types and writes it
        # again: the same event id, threads and frames.
        if receiver.refused or len(receiver.received) != 1:
            errors.append('the server got %d envelopes, refused %s'
                          % (len(receiver.received), receiver.refused))
        for _, _, _, payload in receiver.received:
            sent = json.loads(payload)
            if sent.get('event_id') != event['event_id']:
                errors.append('event_id %r, want %r' % (sent.get('event_id'), event['event_id']))
            ids = [t['id'] for t in sent.get('threads', {}).get('values', [])]
            if ids != [t['id'] for t in event['threads']['values']]:
                errors.append('threads %s, want %s' % (ids, [t['id'] for t in event['threads']['values']]))
            frames = [(f.get('function'), f.get('abs_path'), f.get('lineno'))
                      for t in sent.get('threads', {}).get('values', [])
                      for f in stack_of(t)]
            want = [(f.get('function'), f.get('abs_path'), f.get('lineno'))
                    for t in event['threads']['values'] for f in stack_of(t)]
            if frames != want:
                errors.append('the frames changed on the way')
            if sent.get('exception') and sent['exception']['values'][0].get('type') != \
                    event['exception']['values'][0]['type']:
                errors.append('the exception changed on the way')
    if output.strip() and not errors and options.verbose:
        print(corpus.indent(output.strip()))
    return fail_if(errors, 'sentry-cli %s: %s' % ('--raw' if raw else '(parsed)',
                                                   output.strip().splitlines()[-1:]))


# --- main ---------------------------------------------------------------------

def find_pythons():
    system = corpus.probe_python('/usr/bin/python3') if os.access('/usr/bin/python3', os.X_OK) else None
    root = corpus.pyenv_root()
    pyenv = None
    for path in sorted(glob.glob(os.path.join(root or '/nonexistent', 'versions', '3.12.*',
                                              'bin', 'python3.12'))):
        try:
            pyenv = corpus.probe_python(path)
        except Skip:
            continue
    return system, pyenv


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--tool', default=corpus.default_tool())
    parser.add_argument('-k', action='append', default=[],
                        help='only checks whose name contains this (repeatable)')
    parser.add_argument('-v', '--verbose', action='store_true')
    parser.add_argument('--keep', action='store_true', help='keep the cores and events')
    options = parser.parse_args()
    options.tool = os.path.abspath(options.tool)
    if not os.access(options.tool, os.X_OK):
        print('skip: tool not found: %s' % options.tool, file=sys.stderr)
        return SKIP
    options.workdir = tempfile.mkdtemp(prefix='pcs-sentry-run-')
    results = Results(options.verbose, options.k)
    cores = Cores()
    try:
        schema = load_schema()
    except (OSError, ValueError) as e:
        print('FAIL - schema: %s' % e)
        print('0 passed, 1 failed')
        return 1
    results.run('schema refuses broken events', check_validator, schema)

    system, pyenv = find_pythons()

    def on(python, label):
        if python is None:
            raise Skip('no %s' % label)
        return python

    cases = [
        ('system', 'threads_blocking', 'core', ()),
        ('system', 'greenlet_raw', 'core', ()),
        ('pyenv', 'threads_blocking', 'core', ()),
        ('pyenv', 'asyncio_gather_tree', 'core', ()),
        ('pyenv', 'locals_types', 'core', ('--locals',)),
        ('pyenv', 'threads_blocking', 'core', ('--native',)),
        ('pyenv', 'threads_blocking', 'live', ()),
    ]
    for which, scenario, mode, args in cases:
        python = system if which == 'system' else pyenv
        label = python.label if python else which
        name = 'corpus %s %s %s%s' % (label, scenario, mode, ''.join(' ' + a for a in args))
        results.run(name, lambda p=python, w=which, s=scenario, m=mode, a=args: corpus_case(
            options, schema, on(p, 'python3' if w == 'system' else 'pyenv python3.12'),
            s, m, cores, a))
    results.run('corpus %s asyncio_many folded' % (system.label if system else 'system'),
                lambda: check_folded(options, schema, on(system, 'python3'), cores))
    crash_python = pyenv or system
    results.run('crash SIGSEGV in a worker thread (%s, kernel core)'
                % (crash_python.label if crash_python else '?'),
                lambda: check_crash(options, schema, on(crash_python, 'python'), cores))

    receiver = Receiver(schema, key='0123456789abcdef0123456789abcdef', project='42')
    try:
        results.run('envelope: README curl snippet', check_curl, options, receiver, cores)
        results.run('envelope: gzip, length, X-Sentry-Auth', check_envelope_with_length,
                    options, receiver, cores)
        results.run('sentry-cli send-event --raw (README)', check_sentry_cli, options,
                    receiver, cores, True)
        results.run('sentry-cli send-event', check_sentry_cli, options, receiver, cores, False)
    finally:
        receiver.close()
        if options.keep:
            print('kept: %s' % options.workdir)
        else:
            shutil.rmtree(options.workdir, ignore_errors=True)
    print(results.summary())
    return 1 if results.counts['FAIL'] else 0


if __name__ == '__main__':
    sys.exit(main())
