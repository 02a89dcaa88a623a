# SPDX-License-Identifier: MIT
"""bench/results.json -> RESULTS.md (bench/run.py calls markdown(); run
`python3 bench/report.py [results.json]` to redo the markdown alone)."""
import json
import os
import sys

MIB = 1024.0


def s(sec):
    if sec is None:
        return '—'
    if sec < 1:
        return '%.0f ms' % (sec * 1e3) if sec >= 0.0995 else '%.1f ms' % (sec * 1e3)
    return '%.2f s' % sec if sec < 10 else '%.1f s' % sec


def ms(x):
    return '—' if x is None else '%.1f ms' % x


def mb(kb):
    return '—' if kb is None else ('%.0f MiB' % (kb / MIB) if kb >= 100 * MIB else '%.1f MiB' % (kb / MIB))


def size(b):
    if b is None:
        return '—'
    if b >= 1 << 30:
        return '%.2f GiB' % (b / float(1 << 30))
    return '%.0f MiB' % (b / float(1 << 20))


def ratio(a, b):
    return '—' if not a or not b else '%.1f×' % (a / b)


def status(problems):
    return '✅ ok' if not problems else '⚠ **INCOMPLETE**: ' + '; '.join(problems)


def flag(problems):
    return '' if not problems else ' ⚠'


def table(head, rows):
    out = ['| ' + ' | '.join(head) + ' |', '|' + '|'.join('---' for _ in head) + '|']
    for r in rows:
        out.append('| ' + ' | '.join(str(c) for c in r) + ' |')
    return '\n'.join(out) + '\n'


def anchor_cell(g):
    if not g:
        return '—', '—'
    if g.get('timed_out'):
        return '> %d s (timed out)' % g['timeout'], '—'
    if g.get('problems'):
        return 'broken: ' + '; '.join(g['problems']), '—'
    return s(g.get('wall')), mb(g.get('maxrss_kb'))


def split_rss(tool):
    p = (tool.get('json') or {}).get('sampled_peak_kb') or {}
    if not p:
        return '—'
    return '%s / %s' % (mb(p.get('RssAnon')), mb(p.get('RssFile')))


def find(rows, word):
    for r in rows or []:
        if word in r['label']:
            return r
    return None


def markdown(res):
    m = res['machine']
    L = []
    w = L.append
    w('# pycore-stacks benchmark results\n')
    w('Written by `bench/run.sh`%s on %s. Raw numbers: [`results.json`](results.json). '
      'Method and how to run: [`README.md`](README.md).\n'
      % (' --quick (small sizes: not the real targets)' if res['mode'] == 'quick' else '', m['date']))

    w('## Machine\n')
    pys = ', '.join('%s `%s`' % (v['version'], v['exe']) for v in m['pythons'].values())
    w(table(['', ''], [
        ['CPU', '%s, %d cores' % (m['cpu'], m['cpus'])],
        ['RAM', '%.1f GiB' % m['mem_gib']],
        ['Kernel', m['kernel']],
        ['Distribution', m['distro']],
        ['pycore-stacks', '%s, commit `%s`%s, binary sha256 `%s…`' % (
            m.get('tool_version') or '?', (m.get('commit') or '?')[:12],
            (' + uncommitted changes in ' + ', '.join('`%s`' % x.split()[-1] for x in m['src_modified']))
            if m.get('src_modified') else ' (src/ clean)', m['tool_sha256'])],
        ['Anchors', '%s; CPython libpython.py from python3.11-dbg; `python3.14 -m asyncio pstree`'
         % ' '.join(m.get('gdb') or ['gdb ?'])],
        ['Interpreters', pys + '; greenlet %s' % m.get('greenlet')],
        ['1-min load', load_text(res)],
        ['Runs', 'median of %d timed runs per cell after one checked warm-up run (page cache warm); '
         'gdb anchors %d runs (fewer when one takes minutes), each capped at %d s'
         % (res['config']['runs'], res['config']['gdb_runs'], res['config']['anchor_timeout'])],
    ]))

    fails = res.get('failures') or []
    if fails:
        w('## ⚠ Output checks that FAILED\n')
        w('Every dump is checked (exit status, number of threads / tasks / greenlets, the exact '
          'await chain of every task and stack of every greenlet). These did not pass; their times '
          'are still shown, marked ⚠, but the tool did not do all of the work:\n')
        seen = set()
        for f in fails:
            f = f['what'] if isinstance(f, dict) else f
            if f not in seen:
                w('- ' + f)
                seen.add(f)
        w('')
    else:
        w('All output checks passed (exit status, counts, every await chain and greenlet stack).\n')

    w(targets(res))

    rows = res.get('cores')
    if rows:
        w('## From cores: CPython 3.11.2 (Debian `/usr/bin/python3.11`, gcore)\n')
        w('pycore-stacks: `pycore-stacks --format json CORE /usr/bin/python3.11` (text: the same without '
          '`--format json`). Anchor: `gdb -batch -nx -ex "thread apply all py-bt" /usr/bin/python3.11 CORE` '
          '(libpython.py auto-loaded from python3.11-dbg; it shows threads only: no tasks, no greenlets). '
          'Peak RSS: GNU time\'s `%M` (ru_maxrss). RssAnon / RssFile: the peaks sampled every ~1 ms in '
          '`/proc/PID/status` during one extra run (RssFile: the mapped files, the core\'s headers and notes among them).\n')
        out = []
        for r in rows:
            t = r['tool']
            j = t.get('json') or {}
            g_wall, g_rss = anchor_cell(r['gdb'])
            out.append([r['label'], size(r['core_size']), s(j.get('wall')) + flag(t['problems']),
                        s((t.get('text') or {}).get('wall')), mb(j.get('maxrss_kb')), split_rss(t),
                        g_wall, g_rss, ratio(r['gdb'].get('wall'), j.get('wall')),
                        status(t['problems'])])
        w(table(['input', 'core', 'pycore-stacks json', 'text', 'peak RSS', 'RssAnon / RssFile',
                 'gdb + libpython.py', 'gdb RSS', 'gdb ÷ tool', 'tool output'], out))

    p = res.get('py314')
    if p:
        w('## CPython 3.14 (Debian sid, kernel cores), against `python3.14 -m asyncio pstree`\n')
        out = []
        if p.get('core'):
            c = p['core']
            t = c['tool']
            j = t.get('json') or {}
            g_wall, _ = anchor_cell(c.get('gdb'))
            n = '{:,}'.format(c['ready'].get('tasks', 0))
            out.append(['pycore-stacks CORE, %s tasks (%s core), json' % (n, size(c['core_size'])),
                        s(j.get('wall')) + flag(t['problems']),
                        '%s (RssAnon / RssFile %s)' % (mb(j.get('maxrss_kb')), split_rss(t)), '—',
                        status(t['problems'])])
            out.append(['pycore-stacks CORE, %s tasks, text' % n, s((t.get('text') or {}).get('wall')),
                        mb((t.get('text') or {}).get('maxrss_kb')), '—', ''])
            if c.get('gdb'):
                out.append(['gdb + sid\'s python3.14-gdb.py on the core', g_wall, '—', '—', ''])
        lives = p.get('live') or []
        if isinstance(lives, dict):
            lives = [lives]
        for lv in lives:
            for label in ordered(lv['tools']):
                t = lv['tools'][label]
                out.append(['%s, live, %s tasks' % ('pycore-stacks --pid' if label == 'pycore-stacks' else label,
                                                   '{:,}'.format(lv['ready'].get('tasks', 0))),
                            s(t['wall']) + flag(t['problems']), mb(max((x['maxrss_kb'] or 0) for x in t['runs'])),
                            '%s (baseline %s)' % (ms(t['gap_ms']), ms(t['baseline_ms'])),
                            status(t['problems'])])
        w(table(['input', 'wall (median)', 'peak RSS', 'longest gap seen by the target', 'output'], out))
        for lv in lives:
            a = lv['tools'].get('python3.14 -m asyncio pstree')
            b = lv['tools'].get('pycore-stacks')
            if a and b and not a['problems']:
                w('Live, %s tasks: pstree ÷ pycore-stacks = **%s**.' % ('{:,}'.format(lv['ready'].get('tasks', 0)),
                                                                      ratio(a['wall'], b['wall'])))
        w('\npstree does not stop the target (it reads a running process, so it can see a torn state); '
          'pycore-stacks stops it while it reads, hence the gap.\n')

    lv = res.get('live')
    if lv:
        w('## Live: how long the target is stopped (CPython 3.11.2)\n')
        w('Measured from inside the target: a daemon thread loops on `time.monotonic()` + `sleep(0.5 ms)` and '
          'writes each timestamp to a ring buffer in a shared file (`bench/workloads/common.py`). '
          'While the process is stopped no thread runs, so the stop is the longest gap between two '
          'consecutive timestamps that overlaps the dump. Baseline: the same measurement over windows of '
          'the same length with no dump. stop ≈ gap − baseline; resolution about one loop period '
          '(%s here). The monitor thread is one of the threads counted. process_vm_readv calls: counted '
          'with `perf stat` on one more dump; the tool reads the stopped target one 4-KiB page per call '
          'into its own page cache (`src/target/target_live.c`), so the calls measure the pages read while '
          'the target is stopped, re-reads included.\n'
          % ms(median_period(lv)))
        out = []
        for r in lv:
            for label in ordered(r['tools']):
                t = r['tools'][label]
                sc = t.get('syscalls') or {}
                out.append([r['label'], label, s(t['wall']) + flag(t['problems']),
                            '{:,}'.format(sc['process_vm_readv']) if 'process_vm_readv' in sc else '—',
                            '%s / %s' % (ms(t['gap_ms']), ms(t['gap_ms_max'])), ms(t['baseline_ms']),
                            '**%s**' % ms(t['stop_ms']) if label == 'pycore-stacks' else ms(t['stop_ms']),
                            status(t['problems']) if label == 'pycore-stacks' else
                            ('ok' if not t['problems'] else 'broken: ' + '; '.join(t['problems']))])
        w(table(['target', 'dumped by', 'wall (median)', 'process_vm_readv calls', 'longest gap: median / max',
                 'baseline gap',
                 'stop ≈ gap − baseline', 'output'], out))

    sc = res.get('scaling')
    if sc:
        w('## Scaling (CPython 3.11.2, from cores)\n')
        w('Time should follow what must be read (tasks, greenlets, gc-tracked objects), not the size of the '
          'core: the last series grows only a bytes ballast (not gc-tracked), with 10 tasks and nothing else.\n')
        for series in sc:
            axis = series['axis']
            unit = {'tasks': 'task', 'greenlets': 'greenlet', 'objects': 'object', 'objects_gc': 'object',
                    'ballast_mb': None}[axis]
            out = []
            first = series['rows'][0]
            w0 = (first['tool'].get('json') or {}).get('wall')
            for r in series['rows']:
                t = r['tool']
                j = t.get('json') or {}
                per = ''
                if unit and j.get('wall') and w0 is not None and r['n'] > first['n']:
                    x = (j['wall'] - w0) / (r['n'] - first['n']) * 1e6
                    per = '%.2f µs' % x if abs(x) >= 0.01 else '≈ 0'
                gcx = r['ready'].get('gc_tracked')
                name = r['label'] + (' (%s gc-tracked)' % '{:,}'.format(gcx) if gcx and axis.startswith('objects') else '')
                out.append([name, size(r['core_size']), s(j.get('wall')) + flag(t['problems']),
                            mb(j.get('maxrss_kb')), split_rss(t), per or '—'])
            w('### %s\n' % {'tasks': 'Pending asyncio tasks', 'greenlets': 'Suspended greenlets',
                            'objects': 'Live objects (each with a 192-byte payload), 10 tasks: greenlet '
                                       'not loaded, so nothing walks the objects',
                            'objects_gc': 'The same objects, plus greenlet loaded with 10 greenlets: the '
                                          'dump must walk every gc-tracked object to find them',
                            'ballast_mb': 'Core size alone (bytes ballast), 10 tasks'}[axis])
            w(table(['input', 'core', 'wall (median)', 'peak RSS', 'RssAnon / RssFile',
                     'time per added item (vs first row)'], out))

    rows = res.get('cores')
    if rows:
        w('## Where the memory goes\n')
        w('The tool\'s own memory is RssAnon (decompressed debug info, the model, the output being written, '
          'and a cache of the core\'s pages it read, 4 MiB at most: see `src/target/target_core.c`). It reads '
          'the core with pread(); the core is also mapped, for its headers and notes, which with the libraries '
          'make RssFile (page cache, shared and reclaimable, but counted in RSS). Minor faults: all of them, '
          'anonymous ones included.\n')
        out = []
        for r in rows + [x for sc in (res.get('scaling') or []) if sc['axis'] == 'objects_gc' for x in sc['rows'][-1:]]:
            j = r['tool'].get('json') or {}
            pk = j.get('sampled_peak_kb') or {}
            flt = j.get('minflt')
            out.append([r['label'], size(r['core_size']), mb(j.get('maxrss_kb')), mb(pk.get('RssAnon')),
                        mb(pk.get('RssFile')), '—' if flt is None else '{:,} ({})'.format(int(flt), mb(flt * 4))])
        w(table(['input', 'core', 'peak RSS', 'RssAnon', 'RssFile', 'minor faults (× 4 KiB)'], out))

    pf = res.get('perf')
    if pf:
        w('## Where the time goes (perf)\n')
        w('`perf record -F 4999` of one json run per core input; self time by DSO, then by symbol '
          '(first 8).\n')
        out = []
        for e in pf:
            if e.get('error'):
                out.append([e['label'], 'perf failed: ' + e['error'], ''])
                continue
            out.append([e['label'], ', '.join('%s %.0f %%' % (x['name'], x['percent']) for x in e['by_dso'][:5]),
                        ', '.join('`%s` %.1f %%' % (x['name'], x['percent']) for x in e['by_symbol'])])
        w(table(['input', 'by DSO', 'by symbol'], out))

    w('## Not measured, and why\n')
    for n in NOT_MEASURED + (res.get('notes') or []):
        w('- ' + n)
    w('')
    return '\n'.join(L)


NOT_MEASURED = [
    'py-spy and pystack: not installable here (no PyPI or crates.io registry on this machine), so '
    'they are not anchors.',
    'gdb + libpython.py prints threads only: on the task, greenlet and heap inputs it does less work than '
    'pycore-stacks (which also reads every task / greenlet); the ratio is still gdb\'s time to show what it can.',
    '`python -m asyncio pstree` exists only from 3.14 and only live, so it is compared live on a 3.14 target.',
    '`python3.14 -m asyncio pstree` reads at most 2^16 tasks per list: on 100,000 tasks it prints '
    '"Error retrieving tasks: Task list appears corrupted" and exits 1, so the 3.14 ratio is taken at '
    '50,000 tasks.',
    'gdb on 3.14: bookworm\'s gdb 13 with sid\'s python3.14-gdb.py finds the frames but prints '
    '"(unable to read python frame information)" for each (see the 3.14 table): no usable 3.14 gdb anchor.',
    'Cold-cache times: every timed run follows a warm-up run, so the core is in the page cache; reading a '
    'multi-GB core from disk the first time adds the disk\'s time for the pages actually touched.',
]


def ordered(tools):
    """pycore-stacks first, then the anchors."""
    return sorted(tools, key=lambda k: (k != 'pycore-stacks', k))


def load_text(res):
    """Per section: the 1-minute load before / peak / after (2 cores; a full
    run waits for < 0.7 before each section)."""
    loads = res.get('load') or {}
    if not loads:
        return 'before %.2f, after %.2f' % (res.get('load_before', -1), res.get('load_after', -1))
    parts = []
    commits = set(v.get('commit') for v in loads.values())
    for name in ('cores', 'scaling', 'live', 'py314', 'perf'):
        v = loads.get(name)
        if not v:
            continue
        extra = ''
        if len(commits) > 1:
            extra = ', commit %s' % (v.get('commit') or '?')[:12]
        parts.append('%s: %.2f / %.2f / %.2f%s' % (name, v['before'], v['peak'], v['after'], extra))
    return ('before / peak / after each section (2 cores; a full run first waits for < 0.7): '
            + '; '.join(parts))


def median_period(live):
    xs = sorted(r['period_ms'] for r in live if r.get('period_ms'))
    return xs[len(xs) // 2] if xs else None


def targets(res):
    L = ['## Against the targets\n']
    rows = res.get('cores') or []
    quick = res['mode'] == 'quick'
    out = []
    for word, what in (('asyncio tasks', 'tasks'), ('greenlets', 'greenlets')):
        r = find(rows, word)
        if r:
            j = r['tool'].get('json') or {}
            ok = j.get('wall') is not None and j['wall'] < 1 and j['maxrss_kb'] < 200 * 1024
            out.append(['%s from a core: < 1 s, < 200 MB' % r['label'], '%s, %s' % (s(j.get('wall')), mb(j.get('maxrss_kb'))),
                        ('met' if ok else '**missed**') + (' (output incomplete ⚠)' if r['tool']['problems'] else '')])
    for r in res.get('live') or []:
        if r['label'].startswith('3 threads'):
            t = r['tools'].get('pycore-stacks')
            if t and t.get('stop_ms') is not None:
                out.append(['3-thread live dump stops the target < 10 ms',
                            'gap %s − baseline %s = %s' % (ms(t['gap_ms']), ms(t['baseline_ms']), ms(t['stop_ms'])),
                            'met' if t['stop_ms'] < 10 else '**missed**'])
    for series in res.get('scaling') or []:
        if series['axis'] == 'ballast_mb' and len(series['rows']) >= 2:
            a, b = series['rows'][0], series['rows'][-1]
            ja, jb = a['tool'].get('json') or {}, b['tool'].get('json') or {}
            pa = (ja.get('sampled_peak_kb') or {}).get('RssAnon')
            pb = (jb.get('sampled_peak_kb') or {}).get('RssAnon')
            grow = (jb.get('maxrss_kb') or 0) - (ja.get('maxrss_kb') or 0)
            out.append(['memory does not grow with core size (%s → %s core)' % (size(a['core_size']), size(b['core_size'])),
                        'peak RSS %s → %s; RssAnon %s → %s; wall %s → %s' % (
                            mb(ja.get('maxrss_kb')), mb(jb.get('maxrss_kb')), mb(pa), mb(pb),
                            s(ja.get('wall')), s(jb.get('wall'))),
                        'met' if grow < 20 * 1024 else '**missed** (+%s)' % mb(grow)])
    ratios = []
    for r in rows:
        g, j = r['gdb'], r['tool'].get('json') or {}
        if g.get('wall') and j.get('wall'):
            ratios.append((g['wall'] / j['wall'], r['label']))
        elif g.get('timed_out'):
            ratios.append((float('inf'), r['label']))
    if ratios:
        lo = min(ratios)
        r = find(rows, lo[1])
        c = r['tool'].get('check') or {}
        work = '; there gdb printed %s thread stack(s), pycore-stacks %s thread(s), {:,} tasks, {:,} greenlets'.format(
            c.get('tasks', 0), c.get('greenlets', 0)) % (
            (r['gdb']['runs'][0].get('tracebacks') if r['gdb'].get('runs') else None) or c.get('threads', '?'),
            c.get('threads', '?'))
        out.append(['well ahead of gdb + libpython.py on every input',
                    'smallest gdb ÷ tool: %s (%s%s)' % ('%.1f×' % lo[0], lo[1], work),
                    'met (≥ 2× everywhere)' if lo[0] >= 2 else '**missed** (< 2× on %s)' % lo[1]])
    L.append(table(['target', 'measured', ''], out))
    if quick:
        L.append('(quick mode: sizes are smaller than the targets name)\n')
    return '\n'.join(L)


if __name__ == '__main__':
    path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), 'results.json')
    with open(path) as f:
        res = json.load(f)
    out = os.path.join(os.path.dirname(os.path.abspath(path)), 'RESULTS.md')
    with open(out, 'w') as f:
        f.write(markdown(res))
    print(out)
