// SPDX-License-Identifier: MIT
// Copyright (c) 2026 pycore-stacks contributors

// Readers for the fields of CPython structs and for the few object types we
// decode. Each checks what it reads before trusting it.

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "interp/internal.h"
#include "util/strbuf.h"
#include "util/strtab.h"

struct pcs_error *pcs_read_u8(struct pcs_python *py, pcs_addr_t addr, uint8_t *ret)
{
	return pcs_target_read(py->target, addr, ret, 1);
}

struct pcs_error *pcs_read_u32(struct pcs_python *py, pcs_addr_t addr, uint32_t *ret)
{
	return pcs_target_read(py->target, addr, ret, 4);
}

struct pcs_error *pcs_read_u64(struct pcs_python *py, pcs_addr_t addr, uint64_t *ret)
{
	return pcs_target_read(py->target, addr, ret, 8);
}

static struct pcs_error *read_width(struct pcs_python *py, pcs_addr_t base,
				    enum pcs_field f, uint64_t *raw, unsigned *width)
{
	const struct pcs_layout *l = py->layout;
	if (!pcs_layout_has(l, f))
		return pcs_error_create(PCS_ERROR_LOOKUP,
					"field '%s' is not in this layout",
					pcs_field_name(f));
	unsigned w = l->width[f];
	if (w != 1 && w != 2 && w != 4 && w != 8)
		return pcs_error_create(PCS_ERROR_LOOKUP,
					"field '%s' has unusable width %u",
					pcs_field_name(f), w);
	uint64_t v = 0;	// little-endian target: low bytes first
	struct pcs_error *err = pcs_target_read(py->target, base + (uint64_t)l->offset[f],
						&v, w);
	if (err)
		return err;
	*raw = v;
	*width = w;
	return NULL;
}

struct pcs_error *pcs_read_field(struct pcs_python *py, pcs_addr_t base,
				 enum pcs_field f, uint64_t *ret)
{
	unsigned w;
	return read_width(py, base, f, ret, &w);
}

struct pcs_error *pcs_read_field_signed(struct pcs_python *py, pcs_addr_t base,
					enum pcs_field f, int64_t *ret)
{
	uint64_t v;
	unsigned w;
	struct pcs_error *err = read_width(py, base, f, &v, &w);
	if (err)
		return err;
	if (w < 8 && (v >> (8 * w - 1)) & 1)
		v |= ~0ULL << (8 * w);
	*ret = (int64_t)v;
	return NULL;
}

struct pcs_error *pcs_object_type(struct pcs_python *py, pcs_addr_t obj,
				  pcs_addr_t *ret)
{
	return pcs_read_field(py, obj, PCS_F_object_ob_type, ret);
}

// How a str's characters are stored.
enum str_encoding {
	STR_LATIN1,	// PEP 393 kind 1
	STR_UCS2,	// PEP 393 kind 2: code points
	STR_UCS4,	// PEP 393 kind 4, and Python 2 UCS-4 unicode
	STR_UTF16,	// Python 2 UCS-2 unicode: surrogate pairs
	STR_BYTES,	// Python 2 str: bytes, shown as they are
};

// Where a str's characters are, how many, and how stored.
struct str_data {
	pcs_addr_t data;
	uint64_t length;	// in units
	unsigned unit;		// bytes per unit
	enum str_encoding encoding;
};

static struct pcs_error *str_locate_pep393(struct pcs_python *py, pcs_addr_t addr,
					   int64_t max_length, struct str_data *ret)
{
	const struct pcs_layout *l = py->layout;
	uint64_t state;
	int64_t length;
	struct pcs_error *err = pcs_read_field(py, addr, PCS_F_asciiobject_state, &state);
	if (!err)
		err = pcs_read_field_signed(py, addr, PCS_F_asciiobject_length, &length);
	if (err)
		return err;
	// state bit-field, the same in every 3.3+ default build:
	// interned 0-1, kind 2-4, compact 5, ascii 6.
	unsigned kind = (state >> 2) & 7;
	bool compact = (state >> 5) & 1, ascii = (state >> 6) & 1;
	if ((kind != 1 && kind != 2 && kind != 4) || (ascii && kind != 1) ||
	    length < 0 || length > max_length)
		return pcs_error_create(PCS_ERROR_BAD_DATA,
					"not a str at 0x%" PRIx64, addr);
	pcs_addr_t data;
	if (compact && ascii)
		data = addr + l->struct_size[PCS_S_asciiobject];
	else if (compact)
		data = addr + l->struct_size[PCS_S_compactunicode];
	else if ((err = pcs_read_u64(py, addr + l->struct_size[PCS_S_compactunicode],
				     &data)))
		return err;
	*ret = (struct str_data){
		.data = data, .length = (uint64_t)length, .unit = kind,
		.encoding = kind == 1 ? STR_LATIN1 : kind == 2 ? STR_UCS2 : STR_UCS4,
	};
	return NULL;
}

static struct pcs_error *str_locate_py2(struct pcs_python *py, pcs_addr_t addr,
					int64_t max_length, struct str_data *ret)
{
	pcs_addr_t type;
	int64_t length;
	struct pcs_error *err = pcs_object_type(py, addr, &type);
	if (err)
		return err;
	if (type && type == py->py2string_type) {
		if ((err = pcs_read_field_signed(py, addr, PCS_F_varobject_ob_size, &length)))
			return err;
		*ret = (struct str_data){
			.data = addr + (uint64_t)py->layout->offset[PCS_F_py2string_ob_sval],
			.length = (uint64_t)length, .unit = 1, .encoding = STR_BYTES,
		};
	} else if (type && type == py->unicode_type && py->py2_unicode_size) {
		pcs_addr_t data;
		if ((err = pcs_read_field_signed(py, addr, PCS_F_py2unicode_length,
						 &length)) ||
		    (err = pcs_read_field(py, addr, PCS_F_py2unicode_str, &data)))
			return err;
		*ret = (struct str_data){
			.data = data, .length = (uint64_t)length,
			.unit = py->py2_unicode_size,
			.encoding = py->py2_unicode_size == 2 ? STR_UTF16 : STR_UCS4,
		};
	} else {
		return pcs_error_create(PCS_ERROR_BAD_DATA,
					"not a str at 0x%" PRIx64, addr);
	}
	if (length < 0 || length > max_length)
		return pcs_error_create(PCS_ERROR_BAD_DATA,
					"not a str at 0x%" PRIx64, addr);
	return NULL;
}

// Where the characters of the str at @p addr are; at most @p max_length.
static struct pcs_error *str_locate_max(struct pcs_python *py, pcs_addr_t addr,
					int64_t max_length, struct str_data *ret)
{
	if (!addr)
		return pcs_error_create(PCS_ERROR_BAD_DATA, "NULL str");
	switch (py->layout->props.strings) {
	case PCS_STR_PEP393:
		return str_locate_pep393(py, addr, max_length, ret);
	case PCS_STR_PY2:
		return str_locate_py2(py, addr, max_length, ret);
	}
	return pcs_error_create(PCS_ERROR_UNSUPPORTED, "str layout");
}

static struct pcs_error *str_locate(struct pcs_python *py, pcs_addr_t addr,
				    struct str_data *ret)
{
	return str_locate_max(py, addr, PCS_MAX_STR, ret);
}

static uint32_t unit_at(const uint8_t *raw, const struct str_data *sd, uint64_t i)
{
	if (sd->unit == 1)
		return raw[i];
	if (sd->unit == 2)
		return (uint32_t)raw[2 * i] | (uint32_t)raw[2 * i + 1] << 8;
	uint32_t cp;
	memcpy(&cp, raw + 4 * i, 4);
	return cp;
}

// Decode the characters into UTF-8 (bytes of a Python 2 str are kept as
// they are; the reports escape what is not valid UTF-8).
static struct pcs_error *str_decode(struct pcs_python *py, const struct str_data *sd,
				    struct pcs_strbuf *out)
{
	size_t nbytes = (size_t)sd->length * sd->unit;
	uint8_t stackbuf[512];
	uint8_t *raw = nbytes <= sizeof(stackbuf) ? stackbuf : malloc(nbytes);
	if (!raw)
		return &pcs_enomem;
	struct pcs_error *err = pcs_target_read(py->target, sd->data, raw, nbytes);
	for (uint64_t i = 0; !err && i < sd->length; i++) {
		uint32_t cp = unit_at(raw, sd, i);
		if (sd->encoding == STR_BYTES) {
			pcs_strbuf_addc(out, (char)cp);
			continue;
		}
		if (sd->encoding == STR_UTF16 && cp >= 0xd800 && cp < 0xdc00 &&
		    i + 1 < sd->length) {
			uint32_t lo = unit_at(raw, sd, i + 1);
			if (lo >= 0xdc00 && lo < 0xe000) {
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
				i++;
			}
		}
		// Lone surrogates and out-of-range values have no UTF-8
		// form: show U+FFFD, as a UTF-8 terminal would.
		if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			cp = 0xfffd;
		char utf8[4];
		pcs_strbuf_add(out, utf8, pcs_utf8_encode(cp, utf8));
	}
	if (raw != stackbuf)
		free(raw);
	return err ? err : pcs_strbuf_error(out);
}

// A cache of decoded strings, by the address they were read at (which,
// the target being a snapshot, always holds the same): direct-mapped.
enum { STR_CACHE = 4096 };

struct pcs_str_cache {
	struct str_slot {
		pcs_addr_t addr;	/* 0: empty */
		/** For a C string, the most read (pcs_read_cstring()); 0: a str. */
		size_t max;
		/** Interned; only strings without a NUL inside are kept. */
		const char *s;
	} slots[STR_CACHE];
};

static struct str_slot *str_slot(struct pcs_python *py, pcs_addr_t addr)
{
	if (!py->str_cache && !(py->str_cache = calloc(1, sizeof(*py->str_cache))))
		return NULL;
	return &py->str_cache->slots[(addr >> 3) % STR_CACHE];
}

static const char *cached_str(struct pcs_python *py, pcs_addr_t addr, size_t max)
{
	struct str_slot *slot = str_slot(py, addr);
	return slot && slot->addr == addr && slot->max == max ? slot->s : NULL;
}

// Remember that the string at @p addr is @p s, of @p len bytes.
static void cache_str(struct pcs_python *py, pcs_addr_t addr, size_t max, const char *s,
		      size_t len)
{
	struct str_slot *slot = str_slot(py, addr);
	if (slot && addr && strlen(s) == len)
		*slot = (struct str_slot){ .addr = addr, .max = max, .s = s };
}

// The bytes of a short str whose UTF-8 form they are (ASCII, or a Python 2
// str, kept as it is), read into @p buf (@p size bytes); false for any
// other, or when unreadable (the caller decodes it: that says why).
static bool str_raw(struct pcs_python *py, const struct str_data *sd, char *buf, size_t size)
{
	if ((sd->encoding != STR_LATIN1 && sd->encoding != STR_BYTES) || sd->length > size)
		return false;
	struct pcs_error *err = pcs_target_read(py->target, sd->data, buf, (size_t)sd->length);
	if (err) {
		pcs_error_destroy(err);
		return false;
	}
	for (size_t i = 0; sd->encoding == STR_LATIN1 && i < sd->length; i++)
		if ((unsigned char)buf[i] >= 0x80)
			return false;
	return true;
}

struct pcs_error *pcs_object_str(struct pcs_python *py, pcs_addr_t addr,
				 const char **ret)
{
	const char *cached = cached_str(py, addr, 0);
	if (cached) {
		*ret = cached;
		return NULL;
	}
	struct str_data sd;
	struct pcs_strbuf sb = PCS_STRBUF_INIT;
	struct pcs_error *err = str_locate(py, addr, &sd);
	// Names and file names are mostly short and ASCII: taken as they are.
	char raw[256];
	if (!err && str_raw(py, &sd, raw, sizeof(raw))) {
		*ret = pcs_strtab_intern(py->strings, raw, (size_t)sd.length);
		if (*ret)
			cache_str(py, addr, 0, *ret, (size_t)sd.length);
		return *ret ? NULL : &pcs_enomem;
	}
	if (!err)
		err = str_decode(py, &sd, &sb);
	if (!err) {
		const char *s = pcs_strtab_intern(py->strings, sb.buf ? sb.buf : "", sb.len);
		if (!s) {
			err = &pcs_enomem;
		} else {
			*ret = s;
			cache_str(py, addr, 0, s, sb.len);
		}
	}
	pcs_strbuf_deinit(&sb);
	return err;
}

struct pcs_error *pcs_object_str_equals(struct pcs_python *py, pcs_addr_t addr,
					const char *s, bool *ret)
{
	const char *cached = cached_str(py, addr, 0);
	if (cached) {
		*ret = strcmp(cached, s) == 0;
		return NULL;
	}
	struct str_data sd;
	struct pcs_error *err = str_locate(py, addr, &sd);
	if (err)
		return err;
	size_t len = strlen(s);
	*ret = false;
	if (sd.length != len || len > 256)
		return NULL;	// keys we look up are short ASCII
	char raw[256];
	if (str_raw(py, &sd, raw, sizeof(raw))) {
		*ret = memcmp(raw, s, len) == 0;
		return NULL;
	}
	struct pcs_strbuf sb = PCS_STRBUF_INIT;
	err = str_decode(py, &sd, &sb);
	if (!err)
		*ret = sb.len == len && memcmp(sb.buf, s, len) == 0;
	pcs_strbuf_deinit(&sb);
	return err;
}

struct pcs_error *pcs_object_bytes(struct pcs_python *py, pcs_addr_t addr,
				   size_t max, uint8_t **ret, size_t *len)
{
	int64_t size;
	struct pcs_error *err = pcs_read_field_signed(py, addr, PCS_F_varobject_ob_size,
						      &size);
	if (err)
		return err;
	if (size < 0 || (uint64_t)size > max)
		return pcs_error_create(PCS_ERROR_BAD_DATA,
					"bytes at 0x%" PRIx64 " has bad size %" PRId64,
					addr, size);
	uint8_t *buf = malloc(size ? (size_t)size : 1);
	if (!buf)
		return &pcs_enomem;
	enum pcs_field sval = py->layout->props.strings == PCS_STR_PY2
		? PCS_F_py2string_ob_sval : PCS_F_bytes_ob_sval;
	err = pcs_target_read(py->target, addr + (uint64_t)py->layout->offset[sval],
			      buf, (size_t)size);
	if (err) {
		free(buf);
		return err;
	}
	*ret = buf;
	*len = (size_t)size;
	return NULL;
}

struct pcs_error *pcs_object_int(struct pcs_python *py, pcs_addr_t addr,
				 uint64_t *ret)
{
	const struct pcs_layout *l = py->layout;
	uint64_t ndigits;
	bool negative;
	struct pcs_error *err;
	switch (l->props.longs) {
	case PCS_LONG_PY2: {
		pcs_addr_t type;
		if ((err = pcs_object_type(py, addr, &type)))
			return err;
		if (type && type == py->py2int_type) {
			int64_t v;
			if ((err = pcs_read_field_signed(py, addr, PCS_F_py2int_ob_ival, &v)))
				return err;
			*ret = (uint64_t)v;
			return NULL;
		}
		// A Python 2 long is laid out as 3.x's before 3.12.
		__attribute__((fallthrough));
	}
	case PCS_LONG_OB_SIZE: {
		int64_t size;
		err = pcs_read_field_signed(py, addr, PCS_F_varobject_ob_size, &size);
		if (err)
			return err;
		negative = size < 0;
		ndigits = negative ? -(uint64_t)size : (uint64_t)size;
		break;
	}
	case PCS_LONG_LV_TAG: {
		uint64_t tag;
		err = pcs_read_field(py, addr, PCS_F_long_lv_tag, &tag);
		if (err)
			return err;
		ndigits = tag >> 3;
		negative = (tag & 3) == 2;
		break;
	}
	default:
		return pcs_error_create(PCS_ERROR_UNSUPPORTED, "int layout");
	}
	// 30-bit digits: three hold any 64-bit value.
	if (ndigits > 3 || !pcs_layout_has(l, PCS_F_long_ob_digit) ||
	    l->width[PCS_F_long_ob_digit] != 4)
		return pcs_error_create(PCS_ERROR_BAD_DATA,
					"int at 0x%" PRIx64 " does not fit in 64 bits", addr);
	uint32_t digits[3] = { 0 };
	err = pcs_target_read(py->target, addr + (uint64_t)l->offset[PCS_F_long_ob_digit],
			      digits, (size_t)ndigits * 4);
	if (err)
		return err;
	unsigned __int128 v = 0;
	for (uint64_t i = ndigits; i-- > 0;)
		v = (v << 30) | (digits[i] & 0x3fffffff);
	if (v > UINT64_MAX)
		return pcs_error_create(PCS_ERROR_BAD_DATA,
					"int at 0x%" PRIx64 " does not fit in 64 bits", addr);
	*ret = negative ? (uint64_t)-(int64_t)(uint64_t)v : (uint64_t)v;
	return NULL;
}

// The entries of a dict keys object: where they start, how many, and the
// offsets of key and value in each.
struct dict_entries {
	pcs_addr_t start;
	uint64_t count;
	uint64_t size;
	int64_t key_off;
	int64_t value_off;
};

static struct pcs_error *dict_entries(struct pcs_python *py, pcs_addr_t keys,
				      struct dict_entries *ret)
{
	const struct pcs_layout *l = py->layout;
	int64_t nentries;
	struct pcs_error *err = pcs_read_field_signed(py, keys, PCS_F_dictkeys_dk_nentries,
						      &nentries);
	if (err)
		return err;
	uint64_t index_bytes;
	bool unicode = false;
	switch (l->props.dict) {
	case PCS_DICT_DK_SIZE: {
		int64_t size;
		if ((err = pcs_read_field_signed(py, keys, PCS_F_dictkeys_dk_size, &size)))
			return err;
		if (size <= 0 || size > PCS_MAX_DICT_ENTRIES * 2LL)
			goto bad;
		unsigned width = size <= 0xff ? 1 : size <= 0xffff ? 2 : 4;
		index_bytes = (uint64_t)size * width;
		break;
	}
	case PCS_DICT_DK_LOG2: {
		uint64_t log2_index_bytes, kind;
		if ((err = pcs_read_field(py, keys, PCS_F_dictkeys_dk_log2_index_bytes,
					  &log2_index_bytes)) ||
		    (err = pcs_read_field(py, keys, PCS_F_dictkeys_dk_kind, &kind)))
			return err;
		if (log2_index_bytes > 40 || kind > 2)
			goto bad;
		index_bytes = 1ULL << log2_index_bytes;
		unicode = kind != 0;	// DICT_KEYS_UNICODE or DICT_KEYS_SPLIT
		break;
	}
	case PCS_DICT_TABLE:
	default:
		return pcs_error_create(PCS_ERROR_UNSUPPORTED, "dict layout");
	}
	if (nentries < 0 || nentries > PCS_MAX_DICT_ENTRIES)
		goto bad;
	enum pcs_struct st = unicode ? PCS_S_dictunicodeentry : PCS_S_dictentry;
	enum pcs_field key = unicode ? PCS_F_dictunicodeentry_me_key : PCS_F_dictentry_me_key;
	enum pcs_field value = unicode ? PCS_F_dictunicodeentry_me_value
				       : PCS_F_dictentry_me_value;
	if (!l->struct_size[st] || !pcs_layout_has(l, key) || !pcs_layout_has(l, value) ||
	    !pcs_layout_has(l, PCS_F_dictkeys_dk_indices))
		return pcs_error_create(PCS_ERROR_LOOKUP, "dict entry layout not found");
	*ret = (struct dict_entries){
		.start = keys + (uint64_t)l->offset[PCS_F_dictkeys_dk_indices] + index_bytes,
		.count = (uint64_t)nentries,
		.size = l->struct_size[st],
		.key_off = l->offset[key],
		.value_off = l->offset[value],
	};
	return NULL;
bad:
	return pcs_error_create(PCS_ERROR_BAD_DATA, "corrupt dict keys at 0x%" PRIx64,
				keys);
}

// The address of values[i] of a split dict's values (3.6–3.10: ma_values is
// the PyObject *[] itself; 3.11+: a PyDictValues with values[] inside).
static pcs_addr_t split_value_slot(struct pcs_python *py, pcs_addr_t values,
				   uint64_t i)
{
	int64_t off = pcs_layout_has(py->layout, PCS_F_dictvalues_values)
		? py->layout->offset[PCS_F_dictvalues_values] : 0;
	return values + (uint64_t)off + 8 * i;
}

// Iterate the entries of @p keys; values come from @p values (split) or
// from the entries themselves (values == 0).
static struct pcs_error *iterate_entries(struct pcs_python *py, pcs_addr_t keys,
					 pcs_addr_t values, pcs_dict_item_fn *fn,
					 void *arg)
{
	struct dict_entries de;
	struct pcs_error *err = dict_entries(py, keys, &de);
	if (err)
		return err;
	bool stop = false;
	for (uint64_t i = 0; i < de.count && !stop; i++) {
		pcs_addr_t entry = de.start + i * de.size, key, value;
		if ((err = pcs_read_u64(py, entry + (uint64_t)de.key_off, &key)))
			return err;
		if (!key)
			continue;	// deleted
		if (values)
			err = pcs_read_u64(py, split_value_slot(py, values, i), &value);
		else
			err = pcs_read_u64(py, entry + (uint64_t)de.value_off, &value);
		if (err)
			return err;
		if (!value)
			continue;
		if ((err = fn(arg, key, value, &stop)))
			return err;
	}
	return NULL;
}

// Python 2 dicts: an open-addressed table of {hash, key, value}, mask + 1
// slots, empty and deleted slots included.
static struct pcs_error *iterate_table(struct pcs_python *py, pcs_addr_t dict,
				       pcs_dict_item_fn *fn, void *arg)
{
	const struct pcs_layout *l = py->layout;
	uint64_t mask, table;
	struct pcs_error *err;
	if ((err = pcs_read_field(py, dict, PCS_F_dict_ma_mask, &mask)) ||
	    (err = pcs_read_field(py, dict, PCS_F_dict_ma_table, &table)))
		return err;
	if (mask >= PCS_MAX_DICT_ENTRIES || ((mask + 1) & mask) || !table ||
	    !l->struct_size[PCS_S_dictentry])
		return pcs_error_create(PCS_ERROR_BAD_DATA, "corrupt dict at 0x%" PRIx64,
					dict);
	bool stop = false;
	for (uint64_t i = 0; i <= mask && !stop; i++) {
		pcs_addr_t entry = table + i * l->struct_size[PCS_S_dictentry], key, value;
		if ((err = pcs_read_field(py, entry, PCS_F_dictentry_me_key, &key)) ||
		    (err = pcs_read_field(py, entry, PCS_F_dictentry_me_value, &value)))
			return err;
		if (key && value && (err = fn(arg, key, value, &stop)))
			return err;
	}
	return NULL;
}

struct pcs_error *pcs_object_dict_items(struct pcs_python *py, pcs_addr_t dict,
					pcs_dict_item_fn *fn, void *arg)
{
	uint64_t keys, values;
	struct pcs_error *err;
	if (py->layout->props.dict == PCS_DICT_TABLE)
		return iterate_table(py, dict, fn, arg);
	if ((err = pcs_read_field(py, dict, PCS_F_dict_ma_keys, &keys)) ||
	    (err = pcs_read_field(py, dict, PCS_F_dict_ma_values, &values)))
		return err;
	if (!keys)
		return pcs_error_create(PCS_ERROR_BAD_DATA, "dict at 0x%" PRIx64
					" has no keys", dict);
	return iterate_entries(py, keys, values, fn, arg);
}

struct find_key_ctx {
	struct pcs_python *py;
	const char *key;
	pcs_addr_t value;
};

static struct pcs_error *find_key_item(void *arg, pcs_addr_t key,
				       pcs_addr_t value, bool *stop)
{
	struct find_key_ctx *ctx = arg;
	bool eq;
	struct pcs_error *err = pcs_object_str_equals(ctx->py, key, ctx->key, &eq);
	if (err) {
		// A key that is not a str cannot be the one we look for.
		if (err->code != PCS_ERROR_BAD_DATA)
			return err;
		pcs_error_destroy(err);
		return NULL;
	}
	if (eq) {
		ctx->value = value;
		*stop = true;
	}
	return NULL;
}

struct pcs_error *pcs_object_dict_get(struct pcs_python *py, pcs_addr_t dict,
				      const char *key, pcs_addr_t *ret)
{
	struct find_key_ctx ctx = { py, key, 0 };
	struct pcs_error *err = pcs_object_dict_items(py, dict, find_key_item, &ctx);
	if (err)
		return err;
	*ret = ctx.value;
	return NULL;
}

// Attribute lookup in split values: the keys are the type's cached keys.
static struct pcs_error *split_get(struct pcs_python *py, pcs_addr_t type,
				   pcs_addr_t values, const char *name,
				   pcs_addr_t *ret)
{
	uint64_t keys;
	struct pcs_error *err = pcs_read_field(py, type, PCS_F_heaptype_ht_cached_keys,
					       &keys);
	if (err)
		return err;
	if (!keys) {
		*ret = 0;
		return NULL;
	}
	struct find_key_ctx ctx = { py, name, 0 };
	err = iterate_entries(py, keys, values, find_key_item, &ctx);
	if (err)
		return err;
	*ret = ctx.value;
	return NULL;
}

static struct pcs_error *dict_or_absent(struct pcs_python *py, pcs_addr_t dict,
					const char *name, pcs_addr_t *ret)
{
	if (!dict) {
		*ret = 0;
		return NULL;
	}
	return pcs_object_dict_get(py, dict, name, ret);
}

enum {
	// Py_TPFLAGS_INLINE_VALUES (3.13), Py_TPFLAGS_MANAGED_DICT (3.11+).
	TPFLAGS_INLINE_VALUES = 1 << 2,
	TPFLAGS_MANAGED_DICT = 1 << 4,
	// The managed dict pointer sits three words before the object
	// (3.11+ pre-header), the 3.11 values pointer four words before.
	MANAGED_DICT_OFFSET = 24,
	MANAGED_VALUES_OFFSET_311 = 32,
};

// ≤ 3.10, and types without a managed dict: the dict is at tp_dictoffset.
static struct pcs_error *attr_by_dictoffset(struct pcs_python *py, pcs_addr_t obj,
					    pcs_addr_t type, const char *name,
					    pcs_addr_t *ret)
{
	int64_t off;
	uint64_t dict;
	struct pcs_error *err = pcs_read_field_signed(py, type, PCS_F_type_tp_dictoffset,
						      &off);
	if (err)
		return err;
	if (off <= 0 || off > 1 << 20) {
		*ret = 0;
		return NULL;
	}
	if ((err = pcs_read_u64(py, obj + (uint64_t)off, &dict)))
		return err;
	return dict_or_absent(py, dict, name, ret);
}

struct pcs_error *pcs_object_attr(struct pcs_python *py, pcs_addr_t obj,
				  const char *name, pcs_addr_t *ret)
{
	enum pcs_instdict_model model = py->layout->props.instdict;
	pcs_addr_t type;
	uint64_t flags = 0, word;
	struct pcs_error *err = pcs_object_type(py, obj, &type);
	if (!err && model != PCS_INSTDICT_DICTOFFSET)
		err = pcs_read_field(py, type, PCS_F_type_tp_flags, &flags);
	if (err)
		return err;
	if (model == PCS_INSTDICT_DICTOFFSET || !(flags & TPFLAGS_MANAGED_DICT))
		return attr_by_dictoffset(py, obj, type, name, ret);
	switch (model) {
	case PCS_INSTDICT_DICTOFFSET:
		break;
	case PCS_INSTDICT_MANAGED_311:
		if ((err = pcs_read_u64(py, obj - MANAGED_DICT_OFFSET, &word)))
			return err;
		if (word)
			return pcs_object_dict_get(py, word, name, ret);
		if ((err = pcs_read_u64(py, obj - MANAGED_VALUES_OFFSET_311, &word)))
			return err;
		if (!word) {
			*ret = 0;
			return NULL;
		}
		return split_get(py, type, word, name, ret);
	case PCS_INSTDICT_MANAGED_312:
		if ((err = pcs_read_u64(py, obj - MANAGED_DICT_OFFSET, &word)))
			return err;
		// Tagged: odd means values (stored minus one), even a dict.
		if (word & 1)
			return split_get(py, type, word + 1, name, ret);
		return dict_or_absent(py, word, name, ret);
	case PCS_INSTDICT_INLINE_313:
		if (flags & TPFLAGS_INLINE_VALUES) {
			uint64_t basicsize;
			uint8_t valid;
			if ((err = pcs_read_field(py, type, PCS_F_type_tp_basicsize,
						  &basicsize)))
				return err;
			pcs_addr_t values = obj + basicsize;
			// PyDictValues {capacity, size, embedded, valid, ...}.
			if ((err = pcs_read_u8(py, values + 3, &valid)))
				return err;
			if (valid)
				return split_get(py, type, values, name, ret);
		}
		if ((err = pcs_read_u64(py, obj - MANAGED_DICT_OFFSET, &word)))
			return err;
		return dict_or_absent(py, word, name, ret);
	}
	return pcs_error_create(PCS_ERROR_UNSUPPORTED, "instance dict layout");
}

struct pcs_error *pcs_read_cstring(struct pcs_python *py, pcs_addr_t addr, size_t max,
				   const char **ret)
{
	// A C string of the target's files: the same type names, object
	// after object.
	const char *cached = cached_str(py, addr, max);
	if (cached) {
		*ret = cached;
		return NULL;
	}
	pcs_addr_t start = addr;
	char buf[64];
	struct pcs_strbuf sb = PCS_STRBUF_INIT;
	struct pcs_error *err = NULL;
	// In chunks that end on 64-byte boundaries: a string near the end
	// of a mapping is still readable.
	while (sb.len < max) {
		size_t n = 64 - (size_t)(addr % 64);
		if ((err = pcs_target_read(py->target, addr, buf, n)))
			break;
		size_t len = strnlen(buf, n);
		pcs_strbuf_add(&sb, buf, len);
		if (len < n)
			break;
		addr += n;
	}
	if (!err && sb.len >= max)
		err = pcs_error_create(PCS_ERROR_BAD_DATA, "string longer than %zu bytes", max);
	if (!err) {
		*ret = pcs_strtab_intern(py->strings, sb.buf ? sb.buf : "", sb.len);
		if (!*ret)
			err = &pcs_enomem;
		else
			cache_str(py, start, max, *ret, sb.len);
	}
	pcs_strbuf_deinit(&sb);
	return err;
}

struct pcs_error *pcs_module_dict(struct pcs_python *py, pcs_addr_t interp,
				  const char *name, pcs_addr_t *ret)
{
	uint64_t modules, module;
	*ret = 0;
	struct pcs_error *err = pcs_read_field(py, interp, PCS_F_interp_modules, &modules);
	if (err || !modules)
		return err;
	if ((err = pcs_object_dict_get(py, modules, name, &module)) || !module)
		return err;
	return pcs_read_field(py, module, PCS_F_module_md_dict, ret);
}

// --- Short reprs, for --locals ----------------------------------------------
//
// The rules are corpus/README.md's ("locals truth"); corpus/_truth_locals.py
// implements the same in Python. A change to one is a change to both.

// Code points a str's repr escapes past ASCII: the C1 controls and the
// format, separator, surrogate and private-use characters (categories Cc,
// Cf, Zs but the space, Zl, Zp, Cs, Co) of Unicode 17.0, a superset of every
// older version's. Unassigned code points, which repr() escapes too, are
// shown as they are: which they are depends on the target's Unicode version.
static const uint32_t escaped_ranges[][2] = {
	{ 0x80, 0xa0 }, { 0xad, 0xad }, { 0x600, 0x605 }, { 0x61c, 0x61c },
	{ 0x6dd, 0x6dd }, { 0x70f, 0x70f }, { 0x890, 0x891 }, { 0x8e2, 0x8e2 },
	{ 0x1680, 0x1680 }, { 0x180e, 0x180e }, { 0x2000, 0x200f },
	{ 0x2028, 0x202f }, { 0x205f, 0x2064 }, { 0x2066, 0x206f },
	{ 0x3000, 0x3000 }, { 0xd800, 0xf8ff }, { 0xfeff, 0xfeff },
	{ 0xfff9, 0xfffb }, { 0x110bd, 0x110bd }, { 0x110cd, 0x110cd },
	{ 0x13430, 0x1343f }, { 0x1bca0, 0x1bca3 }, { 0x1d173, 0x1d17a },
	{ 0xe0001, 0xe0001 }, { 0xe0020, 0xe007f }, { 0xf0000, 0xffffd },
	{ 0x100000, 0x10fffd },
};

static bool repr_printable(uint32_t cp, enum pcs_repr_text kind)
{
	if (cp < 0x20 || cp == 0x7f)
		return false;
	if (cp < 0x7f)
		return true;
	if (kind == PCS_REPR_BYTES || cp > 0x10ffff)
		return false;
	size_t lo = 0, hi = sizeof(escaped_ranges) / sizeof(escaped_ranges[0]);
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (cp < escaped_ranges[mid][0])
			hi = mid;
		else if (cp > escaped_ranges[mid][1])
			lo = mid + 1;
		else
			return false;
	}
	return true;
}

void pcs_repr_text(const uint32_t *cps, size_t n, enum pcs_repr_text kind,
		   const char *prefix, bool truncated, struct pcs_strbuf *out)
{
	// As repr(): single quotes, unless the text has some and no double.
	bool single = false, dbl = false;
	for (size_t i = 0; i < n; i++) {
		single |= cps[i] == '\'';
		dbl |= cps[i] == '"';
	}
	char quote = single && !dbl ? '"' : '\'';
	pcs_strbuf_adds(out, prefix);
	pcs_strbuf_addc(out, quote);
	for (size_t i = 0; i < n; i++) {
		uint32_t c = cps[i];
		if (c == (uint32_t)quote || c == '\\') {
			pcs_strbuf_addc(out, '\\');
			pcs_strbuf_addc(out, (char)c);
		} else if (c == '\t') {
			pcs_strbuf_adds(out, "\\t");
		} else if (c == '\n') {
			pcs_strbuf_adds(out, "\\n");
		} else if (c == '\r') {
			pcs_strbuf_adds(out, "\\r");
		} else if (!repr_printable(c, kind)) {
			pcs_strbuf_addf(out, c < 0x100 ? "\\x%02" PRIx32 : c < 0x10000
					? "\\u%04" PRIx32 : "\\U%08" PRIx32, c);
		} else {
			char utf8[4];
			pcs_strbuf_add(out, utf8, pcs_utf8_encode(c, utf8));
		}
	}
	pcs_strbuf_addc(out, quote);
	if (truncated)
		pcs_strbuf_adds(out, "...");
}

// The shortest decimal that reads back as @p v (finite, not negative),
// nearest to it among those as short: Python's repr() (dtoa mode 0). With
// p significant digits the correctly rounded one is the nearest; where it
// does not read back (next to a power of two, whose lower neighbour is
// nearer), the one a unit above or below in its last digit may.
static void float_digits(double v, char digits[24], size_t *ndigits, int *decpt)
{
	uint64_t m = 0;
	int x = 0, p = 1;
	for (; p <= 17; p++) {
		char buf[48];
		snprintf(buf, sizeof(buf), "%.*e", p - 1, v);
		m = 0;
		const char *s = buf;
		for (; *s && *s != 'e'; s++) {
			if (*s >= '0' && *s <= '9')
				m = m * 10 + (uint64_t)(*s - '0');
		}
		x = *s == 'e' ? atoi(s + 1) : 0;
		uint64_t pow = 1;	// 10^(p-1)
		for (int i = 1; i < p; i++)
			pow *= 10;
		struct { uint64_t m; int x; } cand[3] = {
			{ m, x },
			{ m + 1 == pow * 10 ? pow : m + 1, m + 1 == pow * 10 ? x + 1 : x },
			{ m == pow ? pow * 10 - 1 : m - 1, m == pow ? x - 1 : x },
		};
		for (int c = 0; c < (m ? 3 : 1); c++) {
			snprintf(buf, sizeof(buf), "%" PRIu64 "e%d", cand[c].m, cand[c].x - p + 1);
			if (strtod(buf, NULL) == v) {
				m = cand[c].m;
				x = cand[c].x;
				goto found;
			}
		}
	}
	p = 17;	// not reached: 17 digits always read back
found:
	*ndigits = (size_t)snprintf(digits, 24, "%0*" PRIu64, p, m);
	while (*ndigits > 1 && digits[*ndigits - 1] == '0')
		(*ndigits)--;
	*decpt = x + 1;
}

void pcs_repr_float(double v, struct pcs_strbuf *out)
{
	if (isnan(v)) {
		pcs_strbuf_adds(out, "nan");
		return;
	}
	if (isinf(v)) {
		pcs_strbuf_adds(out, v < 0 ? "-inf" : "inf");
		return;
	}
	bool negative = signbit(v);
	char digits[24];
	size_t ndigits;
	int decpt;
	float_digits(fabs(v), digits, &ndigits, &decpt);
	if (negative)
		pcs_strbuf_addc(out, '-');
	// float_repr_style 'short': an exponent outside [1e-4, 1e16).
	if (decpt <= -4 || decpt > 16) {
		pcs_strbuf_addc(out, digits[0]);
		if (ndigits > 1) {
			pcs_strbuf_addc(out, '.');
			pcs_strbuf_add(out, digits + 1, ndigits - 1);
		}
		pcs_strbuf_addf(out, "e%c%02d", decpt - 1 < 0 ? '-' : '+',
				decpt - 1 < 0 ? 1 - decpt : decpt - 1);
	} else if (decpt <= 0) {
		pcs_strbuf_adds(out, "0.");
		for (int i = decpt; i < 0; i++)
			pcs_strbuf_addc(out, '0');
		pcs_strbuf_add(out, digits, ndigits);
	} else if ((size_t)decpt >= ndigits) {
		pcs_strbuf_add(out, digits, ndigits);
		for (size_t i = ndigits; i < (size_t)decpt; i++)
			pcs_strbuf_addc(out, '0');
		pcs_strbuf_adds(out, ".0");
	} else {
		pcs_strbuf_add(out, digits, (size_t)decpt);
		pcs_strbuf_addc(out, '.');
		pcs_strbuf_add(out, digits + decpt, ndigits - (size_t)decpt);
	}
}

void pcs_repr_bigint(uint32_t *digits, size_t n, unsigned shift,
		     struct pcs_strbuf *out)
{
	enum { BASE = 1000000000 };
	while (n && !digits[n - 1])
		n--;
	if (!n) {
		pcs_strbuf_addc(out, '0');
		return;
	}
	// Base 10^9 limbs, least significant first, by repeated division.
	size_t cap = n * 2 + 1, nlimbs = 0;	// shift ≤ 30: < 2 limbs a digit
	uint32_t *limbs = malloc(cap * sizeof(*limbs));
	if (!limbs) {
		out->oom = true;
		return;
	}
	while (n) {
		uint64_t rem = 0;
		for (size_t i = n; i-- > 0;) {
			uint64_t cur = rem << shift | digits[i];
			digits[i] = (uint32_t)(cur / BASE);
			rem = cur % BASE;
		}
		limbs[nlimbs++] = (uint32_t)rem;
		while (n && !digits[n - 1])
			n--;
	}
	pcs_strbuf_addf(out, "%" PRIu32, limbs[nlimbs - 1]);
	for (size_t i = nlimbs - 1; i-- > 0;)
		pcs_strbuf_addf(out, "%09" PRIu32, limbs[i]);
	free(limbs);
}

// The repr of an int (a PyLongObject; a PyIntObject where @p small).
static struct pcs_error *repr_int(struct pcs_python *py, pcs_addr_t addr, bool small,
				  struct pcs_strbuf *out)
{
	const struct pcs_layout *l = py->layout;
	struct pcs_error *err;
	if (small) {
		int64_t v;
		if ((err = pcs_read_field_signed(py, addr, PCS_F_py2int_ob_ival, &v)))
			return err;
		pcs_strbuf_addf(out, "%" PRId64, v);
		return NULL;
	}
	uint64_t ndigits;
	bool negative;
	if (l->props.longs == PCS_LONG_LV_TAG) {
		uint64_t tag;
		if ((err = pcs_read_field(py, addr, PCS_F_long_lv_tag, &tag)))
			return err;
		ndigits = tag >> 3;
		negative = (tag & 3) == 2;
	} else {
		int64_t size;
		if ((err = pcs_read_field_signed(py, addr, PCS_F_varobject_ob_size, &size)))
			return err;
		negative = size < 0;
		ndigits = negative ? -(uint64_t)size : (uint64_t)size;
	}
	unsigned width = pcs_layout_has(l, PCS_F_long_ob_digit) ? l->width[PCS_F_long_ob_digit] : 0;
	if (width != 4 && width != 2)
		return pcs_error_create(PCS_ERROR_LOOKUP, "no layout for int digits");
	unsigned shift = width == 4 ? 30 : 15;
	pcs_addr_t data = addr + (uint64_t)l->offset[PCS_F_long_ob_digit];
	// Past PCS_REPR_MAX_INT_BITS only the bit length is shown: the
	// decimal conversion takes time quadratic in the length.
	uint64_t max_digits = (PCS_REPR_MAX_INT_BITS + shift - 1) / shift;
	uint32_t top = 0;
	if (ndigits > max_digits) {
		if (ndigits > (1ULL << 40))
			return pcs_error_create(PCS_ERROR_BAD_DATA, "int at 0x%" PRIx64
						" has %" PRIu64 " digits", addr, ndigits);
		uint16_t top16;
		err = width == 4 ? pcs_read_u32(py, data + (ndigits - 1) * 4, &top)
				 : pcs_target_read(py->target, data + (ndigits - 1) * 2, &top16, 2);
		if (err)
			return err;
		if (width == 2)
			top = top16;
		if (!top || top >> shift)
			return pcs_error_create(PCS_ERROR_BAD_DATA,
						"int at 0x%" PRIx64 " is not normalized", addr);
		unsigned bits = 0;
		while (top >> bits)
			bits++;
		pcs_strbuf_addf(out, "%s<int %" PRIu64 " bits>", negative ? "-" : "",
				(ndigits - 1) * shift + bits);
		return NULL;
	}
	uint32_t *digits = calloc(ndigits ? ndigits : 1, sizeof(*digits));
	if (!digits)
		return &pcs_enomem;
	if (width == 4) {
		err = pcs_target_read(py->target, data, digits, ndigits * 4);
	} else {
		uint16_t *d16 = calloc(ndigits ? ndigits : 1, 2);
		err = d16 ? pcs_target_read(py->target, data, d16, ndigits * 2) : &pcs_enomem;
		for (uint64_t i = 0; !err && i < ndigits; i++)
			digits[i] = d16[i];
		free(d16);
	}
	for (uint64_t i = 0; !err && i < ndigits; i++) {
		if (digits[i] >> shift)
			err = pcs_error_create(PCS_ERROR_BAD_DATA,
					       "int at 0x%" PRIx64 " has a bad digit", addr);
	}
	if (!err && ndigits && !digits[ndigits - 1])
		err = pcs_error_create(PCS_ERROR_BAD_DATA,
				       "int at 0x%" PRIx64 " is not normalized", addr);
	if (err) {
		free(digits);
		return err;
	}
	if (ndigits) {
		uint64_t bits = (ndigits - 1) * shift;
		for (uint32_t top_digit = digits[ndigits - 1]; top_digit; top_digit >>= 1)
			bits++;
		if (bits > PCS_REPR_MAX_INT_BITS) {
			free(digits);
			pcs_strbuf_addf(out, "%s<int %" PRIu64 " bits>", negative ? "-" : "", bits);
			return NULL;
		}
	}
	struct pcs_strbuf dec = PCS_STRBUF_INIT;
	pcs_repr_bigint(digits, (size_t)ndigits, shift, &dec);
	free(digits);
	if ((err = pcs_strbuf_error(&dec))) {
		pcs_strbuf_deinit(&dec);
		return err;
	}
	bool zero = dec.len == 1 && dec.buf[0] == '0';
	const char *sign = negative && !zero ? "-" : "";
	if (dec.len <= PCS_REPR_MAX_DIGITS)
		pcs_strbuf_addf(out, "%s%s", sign, dec.buf);
	else
		pcs_strbuf_addf(out, "%s<int %zu digits>", sign, dec.len);
	pcs_strbuf_deinit(&dec);
	return NULL;
}

// The repr of the first PCS_REPR_MAX_TEXT characters of a str (Python 2:
// str or unicode).
static struct pcs_error *repr_str(struct pcs_python *py, pcs_addr_t addr,
				  const char *prefix, struct pcs_strbuf *out)
{
	enum { MAX = PCS_REPR_MAX_TEXT };
	struct str_data sd;
	struct pcs_error *err = str_locate_max(py, addr, INT64_MAX, &sd);
	if (err)
		return err;
	// UTF-16 takes up to two units a character.
	uint64_t want = sd.encoding == STR_UTF16 ? 2 * (MAX + 1) : MAX + 1;
	uint64_t nunits = sd.length < want ? sd.length : want;
	uint8_t raw[4 * 2 * (MAX + 1)];
	if ((err = pcs_target_read(py->target, sd.data, raw, (size_t)nunits * sd.unit)))
		return err;
	uint32_t cps[MAX + 1];
	size_t n = 0;
	for (uint64_t i = 0; i < nunits && n <= MAX; i++) {
		uint32_t cp = unit_at(raw, &sd, i);
		if (sd.encoding == STR_UTF16 && cp >= 0xd800 && cp < 0xdc00 &&
		    i + 1 < nunits) {
			uint32_t lo = unit_at(raw, &sd, i + 1);
			if (lo >= 0xdc00 && lo < 0xe000) {
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
				i++;
			}
		}
		cps[n++] = cp;
	}
	bool truncated = n > MAX;
	pcs_repr_text(cps, truncated ? MAX : n,
		      sd.encoding == STR_BYTES ? PCS_REPR_BYTES : PCS_REPR_STR,
		      prefix, truncated, out);
	return NULL;
}

// The repr of the first PCS_REPR_MAX_TEXT bytes of a bytes object.
static struct pcs_error *repr_bytes(struct pcs_python *py, pcs_addr_t addr,
				    struct pcs_strbuf *out)
{
	enum { MAX = PCS_REPR_MAX_TEXT };
	int64_t size;
	struct pcs_error *err = pcs_read_field_signed(py, addr, PCS_F_varobject_ob_size,
						      &size);
	if (err)
		return err;
	if (size < 0 || !pcs_layout_has(py->layout, PCS_F_bytes_ob_sval))
		return pcs_error_create(PCS_ERROR_BAD_DATA, "bad bytes at 0x%" PRIx64, addr);
	size_t n = size > MAX ? MAX : (size_t)size;
	uint8_t raw[MAX];
	if ((err = pcs_target_read(py->target,
				   addr + (uint64_t)py->layout->offset[PCS_F_bytes_ob_sval],
				   raw, n)))
		return err;
	uint32_t cps[MAX];
	for (size_t i = 0; i < n; i++)
		cps[i] = raw[i];
	pcs_repr_text(cps, n, PCS_REPR_BYTES, "b", size > MAX, out);
	return NULL;
}

// "list[3]": a container's type and length.
static struct pcs_error *repr_sized(struct pcs_python *py, pcs_addr_t addr,
				    const char *name, enum pcs_field len,
				    struct pcs_strbuf *out)
{
	int64_t n;
	struct pcs_error *err = pcs_read_field_signed(py, addr, len, &n);
	if (err)
		return err;
	if (n < 0)
		return pcs_error_create(PCS_ERROR_BAD_DATA, "%s at 0x%" PRIx64
					" has length %" PRId64, name, addr, n);
	pcs_strbuf_addf(out, "%s[%" PRId64 "]", name, n);
	return NULL;
}

static struct pcs_error *repr_float(struct pcs_python *py, pcs_addr_t addr,
				    struct pcs_strbuf *out)
{
	uint64_t raw;
	if (!pcs_layout_has(py->layout, PCS_F_floatobj_ob_fval) ||
	    py->layout->width[PCS_F_floatobj_ob_fval] != 8)
		return pcs_error_create(PCS_ERROR_LOOKUP, "no layout for float");
	struct pcs_error *err = pcs_read_field(py, addr, PCS_F_floatobj_ob_fval, &raw);
	if (err)
		return err;
	double v;
	memcpy(&v, &raw, sizeof(v));
	pcs_repr_float(v, out);
	return NULL;
}

static struct pcs_error *repr_other(struct pcs_python *py, pcs_addr_t addr,
				    pcs_addr_t type, struct pcs_strbuf *out)
{
	uint64_t name_addr;
	const char *name;
	struct pcs_error *err = pcs_read_field(py, type, PCS_F_type_tp_name, &name_addr);
	if (!err)
		err = pcs_read_cstring(py, name_addr, 1024, &name);
	if (err)
		return err;
	pcs_strbuf_addf(out, "<%s object at 0x%" PRIx64 ">", name, addr);
	return NULL;
}

static struct pcs_error *repr_typed(struct pcs_python *py, pcs_addr_t obj,
				    pcs_addr_t type, struct pcs_strbuf *out)
{
	bool py2 = py->layout->props.strings == PCS_STR_PY2;
	if (type == py->bool_type) {
		bool value;
		if (py->layout->props.longs == PCS_LONG_PY2) {
			int64_t v;
			struct pcs_error *err =
				pcs_read_field_signed(py, obj, PCS_F_py2int_ob_ival, &v);
			if (err)
				return err;
			value = v != 0;
		} else {
			uint64_t v;
			struct pcs_error *err = pcs_object_int(py, obj, &v);
			if (err)
				return err;
			value = v != 0;
		}
		pcs_strbuf_adds(out, value ? "True" : "False");
		return NULL;
	}
	if (type == py->long_type || type == py->py2int_type)
		return repr_int(py, obj, type == py->py2int_type, out);
	if (type == py->float_type)
		return repr_float(py, obj, out);
	if (type == py->unicode_type)
		return repr_str(py, obj, py2 ? "u" : "", out);
	if (type == py->py2string_type)
		return repr_str(py, obj, "", out);
	if (type == py->bytes_type)
		return repr_bytes(py, obj, out);
	if (type == py->list_type)
		return repr_sized(py, obj, "list", PCS_F_varobject_ob_size, out);
	if (type == py->tuple_type)
		return repr_sized(py, obj, "tuple", PCS_F_varobject_ob_size, out);
	if (type == py->dict_type)
		return repr_sized(py, obj, "dict", PCS_F_dict_ma_used, out);
	if (type == py->set_type)
		return repr_sized(py, obj, "set", PCS_F_set_used, out);
	if (type == py->frozenset_type)
		return repr_sized(py, obj, "frozenset", PCS_F_set_used, out);
	return repr_other(py, obj, type, out);
}

struct pcs_error *pcs_object_repr(struct pcs_python *py, pcs_addr_t obj,
				  struct pcs_strbuf *out)
{
	if (obj && obj == py->none_obj) {
		pcs_strbuf_adds(out, "None");
		return NULL;
	}
	pcs_addr_t type;
	struct pcs_error *err = pcs_object_type(py, obj, &type);
	if (!err && !type)
		err = pcs_error_create(PCS_ERROR_BAD_DATA, "object at 0x%" PRIx64
				       " has no type", obj);
	if (err)
		return err;
	size_t len = out->len;
	err = repr_typed(py, obj, type, out);
	if (err && out->buf) {
		out->len = len;
		out->buf[len] = '\0';
	}
	return err ? err : pcs_strbuf_error(out);
}
