# -*- coding: utf-8 -*-
"""The truth of --locals: each frame's arguments and locals with a short repr.

frame_locals(frame) gives {name: repr} of one frame by the rules of
corpus/README.md ("locals truth"), which pycore-stacks follows from memory
(src/interp/locals.c, the reprs in src/interp/object.c): a change to one is
a change to both.  A scenario turns it on with

    import _truth_locals
    truth.record_locals(_truth_locals.frame_locals)

and every frame of the truth then has "locals".

Runs unchanged on Python 2.7 and 3.6+.
"""
import math
import sys

PY2 = sys.version_info[0] == 2

if PY2:
    _chr = unichr  # noqa: F821 (Python 2 only)
    _int_types = (int, long)  # noqa: F821
else:
    _chr = chr
    _int_types = (int,)

CO_OPTIMIZED = 0x1

# Code points (str) or bytes shown of a str or bytes value.
MAX_TEXT = 80
# Decimal digits shown of an int; a longer one shows how many it has.
MAX_DIGITS = 40
# Past this many bits an int shows its bit length instead.
MAX_INT_BITS = 4096

# Code points a str's repr escapes past ASCII: the C1 controls and the
# format, separator, surrogate and private-use characters (categories Cc,
# Cf, Zs but the space, Zl, Zp, Cs, Co) of Unicode 17.0.  The same table as
# src/interp/object.c's.
ESCAPED_RANGES = (
    (0x80, 0xa0), (0xad, 0xad), (0x600, 0x605), (0x61c, 0x61c),
    (0x6dd, 0x6dd), (0x70f, 0x70f), (0x890, 0x891), (0x8e2, 0x8e2),
    (0x1680, 0x1680), (0x180e, 0x180e), (0x2000, 0x200f),
    (0x2028, 0x202f), (0x205f, 0x2064), (0x2066, 0x206f),
    (0x3000, 0x3000), (0xd800, 0xf8ff), (0xfeff, 0xfeff),
    (0xfff9, 0xfffb), (0x110bd, 0x110bd), (0x110cd, 0x110cd),
    (0x13430, 0x1343f), (0x1bca0, 0x1bca3), (0x1d173, 0x1d17a),
    (0xe0001, 0xe0001), (0xe0020, 0xe007f), (0xf0000, 0xffffd),
    (0x100000, 0x10fffd),
)


def _text(value):
    if PY2 and isinstance(value, str):
        return value.decode('utf-8', 'replace')
    return value


def frame_locals(frame):
    """{name: repr} of the frame's arguments and locals, as f_locals has
    them: the code's plain locals, cells and (in a function, not a class
    body or module) free variables, each bound one once."""
    code = frame.f_code
    names = list(code.co_varnames) + list(code.co_cellvars)
    if code.co_flags & CO_OPTIMIZED:
        names += list(code.co_freevars)
    values = frame.f_locals
    out = {}
    for name in names:
        key = _text(name)
        if key in out:
            continue
        try:
            value = values[name]
        except KeyError:
            continue                    # unbound
        out[key] = short_repr(value)
    return out


def _printable(cp, is_bytes):
    if cp < 0x20 or cp == 0x7f:
        return False
    if cp < 0x7f:
        return True
    if is_bytes or cp > 0x10ffff:
        return False
    for lo, hi in ESCAPED_RANGES:
        if lo <= cp <= hi:
            return False
    return True


def _char(cp):
    if cp <= sys.maxunicode:
        return _chr(cp)
    # A narrow Python 2 build: the surrogate pair.
    cp -= 0x10000
    return _chr(0xd800 + (cp >> 10)) + _chr(0xdc00 + (cp & 0x3ff))


def text_repr(cps, prefix, is_bytes):
    """The repr of the text whose code points (or bytes) are cps."""
    truncated = len(cps) > MAX_TEXT
    cps = cps[:MAX_TEXT]
    quote = u'"' if (0x27 in cps and 0x22 not in cps) else u"'"
    out = [prefix, quote]
    for c in cps:
        if c == ord(quote) or c == 0x5c:
            out.append(u'\\' + _chr(c))
        elif c == 0x09:
            out.append(u'\\t')
        elif c == 0x0a:
            out.append(u'\\n')
        elif c == 0x0d:
            out.append(u'\\r')
        elif not _printable(c, is_bytes):
            if c < 0x100:
                out.append(u'\\x%02x' % c)
            elif c < 0x10000:
                out.append(u'\\u%04x' % c)
            else:
                out.append(u'\\U%08x' % c)
        else:
            out.append(_char(c))
    out.append(quote)
    if truncated:
        out.append(u'...')
    return u''.join(out)


def _code_points(s):
    """The first MAX_TEXT + 1 code points of a str (unicode)."""
    cps = []
    chars = s[:2 * (MAX_TEXT + 1)]
    i = 0
    while i < len(chars) and len(cps) <= MAX_TEXT:
        c = ord(chars[i])
        if 0xd800 <= c < 0xdc00 and i + 1 < len(chars) and sys.maxunicode == 0xffff:
            lo = ord(chars[i + 1])
            if 0xdc00 <= lo < 0xe000:
                c = 0x10000 + ((c - 0xd800) << 10) + (lo - 0xdc00)
                i += 1
        cps.append(c)
        i += 1
    return cps


def _decimal(n):
    """str(n) of a non-negative int, without 3.11+'s limit on digits."""
    get = getattr(sys, 'get_int_max_str_digits', None)
    if get is None:
        return str(n)
    limit = get()
    sys.set_int_max_str_digits(0)
    try:
        return str(n)
    finally:
        sys.set_int_max_str_digits(limit)


def int_repr(v):
    sign = u'-' if v < 0 else u''
    a = -v if v < 0 else v
    bits = a.bit_length()
    if bits > MAX_INT_BITS:
        return u'%s<int %d bits>' % (sign, bits)
    digits = _decimal(a)
    if len(digits) <= MAX_DIGITS:
        return sign + _text(digits)
    return u'%s<int %d digits>' % (sign, len(digits))


def _float_digits(v):
    """(digits, decpt) of the shortest decimal that reads back as v (finite,
    not negative), nearest to it among those as short: Python's repr().
    With p significant digits the correctly rounded one is the nearest;
    where it does not read back (next to a power of two), the one a unit
    above or below in its last digit may."""
    for p in range(1, 18):
        mantissa, exponent = ('%.*e' % (p - 1, v)).split('e')
        m = int(mantissa.replace('.', ''))
        x = int(exponent)
        low = 10 ** (p - 1)
        candidates = [(m, x)]
        if m:
            candidates.append((low, x + 1) if m + 1 == 10 * low else (m + 1, x))
            candidates.append((10 * low - 1, x - 1) if m == low else (m - 1, x))
        for cm, cx in candidates:
            if float('%de%d' % (cm, cx - p + 1)) == v:
                return ('%0*d' % (p, cm)).rstrip('0') or '0', cx + 1
    raise ValueError('no digits for %r' % v)


def float_repr(v):
    """repr(float): the fewest digits that read back as v, Python's style."""
    if v != v:
        return u'nan'
    if v in (float('inf'), float('-inf')):
        return u'inf' if v > 0 else u'-inf'
    negative = math.copysign(1.0, v) < 0
    digits, decpt = _float_digits(-v if negative else v)
    if decpt <= -4 or decpt > 16:
        body = digits[0] + ('.' + digits[1:] if len(digits) > 1 else '')
        body += 'e%s%02d' % ('-' if decpt - 1 < 0 else '+', abs(decpt - 1))
    elif decpt <= 0:
        body = '0.' + '0' * -decpt + digits
    elif decpt >= len(digits):
        body = digits + '0' * (decpt - len(digits)) + '.0'
    else:
        body = digits[:decpt] + '.' + digits[decpt:]
    return _text(('-' if negative else '') + body)


def _tp_name(t):
    """The C tp_name of type t."""
    try:
        import ctypes
        # PyTypeObject: PyObject_VAR_HEAD, then tp_name.
        name = ctypes.c_char_p.from_address(id(t) + object.__basicsize__ + 8).value
        return name.decode('utf-8', 'replace')
    except ImportError:
        pass
    heap = t.__flags__ & (1 << 9)
    module = getattr(t, '__module__', None)
    if heap or module in (None, 'builtins', '__builtin__'):
        return _text(t.__name__)
    return u'%s.%s' % (_text(module), _text(t.__name__))


_SIZED = ((list, u'list'), (tuple, u'tuple'), (dict, u'dict'), (set, u'set'),
          (frozenset, u'frozenset'))


def short_repr(v):
    """The repr --locals shows of v: by its exact type."""
    t = type(v)
    if v is None:
        return u'None'
    if t is bool:
        return u'True' if v else u'False'
    if t in _int_types:
        return int_repr(v)
    if t is float:
        return float_repr(v)
    if PY2:
        if t is unicode:  # noqa: F821
            return text_repr(_code_points(v), u'u', False)
        if t is str:
            return text_repr([ord(c) for c in v[:MAX_TEXT + 1]], u'', True)
    else:
        if t is str:
            return text_repr(_code_points(v), u'', False)
        if t is bytes:
            return text_repr(list(v[:MAX_TEXT + 1]), u'b', True)
    for sized, name in _SIZED:
        if t is sized:
            return u'%s[%d]' % (name, len(v))
    return u'<%s object at 0x%x>' % (_tp_name(t), id(v))
