#!/usr/bin/env python3
"""The man page and --help describe the same options.

Every long option the program accepts (its getopt table in
src/cli/main.c) is in `pycore-stacks --help`; every option in --help has an
entry in doc/pycore-stacks.1, and every option the man page documents is in
--help; the same for the exit statuses. Prints "N passed, N failed".

usage: tests/man/check.py [--tool PATH]
"""
import argparse
import os
import re
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def help_options(tool):
    out = subprocess.run([tool, '--help'], stdout=subprocess.PIPE, check=True).stdout.decode()
    return set(re.findall(r'(?<![\w-])(--[a-z][a-z-]*|-[a-zA-Z])\b', out)), out


def man_options(path):
    with open(path) as f:
        text = f.read()
    # Option entries: the line after each .TP.
    entries = re.findall(r'^\.TP\n(.*)$', text, re.M)
    found = set()
    for entry in entries:
        entry = entry.replace('\\-', '-')
        found.update(re.findall(r'(?<![\w-])(--[a-z][a-z-]*|-[a-zA-Z])\b', entry))
    return found, text


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--tool', default=os.path.join(REPO, 'src', 'pycore-stacks'))
    args = parser.parse_args()
    helped, help_text = help_options(args.tool)
    documented, man_text = man_options(os.path.join(REPO, 'doc', 'pycore-stacks.1'))
    # What the program accepts (its getopt table) must be in both.
    with open(os.path.join(REPO, 'src', 'cli', 'main.c')) as f:
        accepted = set('--' + name for name in
                       re.findall(r'^\s*\{ "([a-z-]+)", (?:no|required)_argument', f.read(), re.M))
    results = []
    for option in sorted(accepted - helped):
        results.append(('FAIL', option, 'accepted, but not in --help'))
    for option in sorted(helped | documented):
        if option in helped and option in documented:
            results.append(('ok', option, None))
        elif option in helped:
            results.append(('FAIL', option, 'in --help, not in the man page'))
        else:
            results.append(('FAIL', option, 'in the man page, not in --help'))
    for status in ('0', '1', '2', '3'):
        in_help = re.search(r'\b%s\b' % status, help_text.split('Exit status')[-1])
        in_man = re.search(r'^\.B %s$' % status, man_text, re.M)
        ok = bool(in_help and in_man)
        results.append(('ok' if ok else 'FAIL', 'exit status %s' % status,
                        None if ok else 'not in both'))
    failed = 0
    for status, what, why in results:
        print('%s - man %s%s' % (status, what, ': ' + why if why else ''))
        failed += status == 'FAIL'
    print('%d passed, %d failed' % (len(results) - failed, failed))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
