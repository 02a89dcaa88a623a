// SPDX-License-Identifier: MIT
// Copyright (c) 2026 pycore-stacks contributors

// greenlet 2.x/3.x objects: found in the garbage collector's lists (every
// greenlet is a tracked object, gevent's included), read through the C++
// object behind each PyGreenlet (`pimpl`). Which one runs in its thread
// comes from the thread's greenlet::ThreadState, reached from its main
// greenlet; which OS thread that is, from where its stack slices lie.

#include <stdlib.h>
#include <string.h>

#include "interp/internal.h"
#include "symbols/symbols.h"
#include "util/strtab.h"
#include "util/vector.h"

enum {
	/** A parent chain longer than this is damaged. */
	MAX_PARENT_DEPTH = 100000,
	/** The longest type name we keep. */
	MAX_TYPE_NAME = 256,
	/** The most greenlets listed; past it, a warning. */
	MAX_GREENLETS = 1 << 22,
};

/** greenlet::StackState::stack_stop of a main greenlet. */
static const uint64_t STACK_STOP_MAIN = UINT64_MAX;

bool pcs_python_has_greenlets(const struct pcs_python *py)
{
	return py->layout->struct_size[PCS_S_greenlet] != 0;
}

struct pcs_error *pcs_python_greenlet_version(struct pcs_python *py, pcs_addr_t interp,
					      const char **ret)
{
	*ret = NULL;
	pcs_addr_t dict, version;
	struct pcs_error *err = pcs_module_dict(py, interp, "greenlet", &dict);
	if (err || !dict)
		return err;
	err = pcs_object_dict_get(py, dict, "__version__", &version);
	if (!err && version)
		err = pcs_object_str(py, version, ret);
	return err;
}

// Types seen, and whether each is greenlet.greenlet or a subtype.
struct type_cache {
	struct { pcs_addr_t type; bool greenlet; } *slots;
	size_t nslots, n;
};

static size_t slot_of(const struct type_cache *c, pcs_addr_t type)
{
	size_t i = (size_t)((type >> 4) * UINT64_C(0x9e3779b97f4a7c15)) & (c->nslots - 1);
	while (c->slots[i].type && c->slots[i].type != type)
		i = (i + 1) & (c->nslots - 1);
	return i;
}

static bool cache_put(struct type_cache *c, pcs_addr_t type, bool greenlet)
{
	if ((c->n + 1) * 2 > c->nslots) {
		struct type_cache bigger = { .nslots = c->nslots ? c->nslots * 2 : 64 };
		bigger.slots = calloc(bigger.nslots, sizeof(*bigger.slots));
		if (!bigger.slots)
			return false;
		for (size_t i = 0; i < c->nslots; i++)
			if (c->slots[i].type)
				bigger.slots[slot_of(&bigger, c->slots[i].type)] = c->slots[i];
		bigger.n = c->n;
		free(c->slots);
		*c = bigger;
	}
	size_t i = slot_of(c, type);
	c->slots[i].type = type;
	c->slots[i].greenlet = greenlet;
	c->n++;
	return true;
}

struct greenlets_ctx {
	struct pcs_python *py;
	pcs_addr_t base_type;	/**< &PyGreenlet_Type */
	struct type_cache types;
	pcs_addr_t *found;
	size_t nfound, cap_found;
};

static struct pcs_error *is_greenlet_type(struct greenlets_ctx *ctx, pcs_addr_t type,
					  bool *ret)
{
	if (ctx->types.nslots) {
		size_t i = slot_of(&ctx->types, type);
		if (ctx->types.slots[i].type) {
			*ret = ctx->types.slots[i].greenlet;
			return NULL;
		}
	}
	bool yes = false;
	pcs_addr_t t = type;
	for (int depth = 0; t && depth < 64 && !yes; depth++) {
		yes = t == ctx->base_type;
		struct pcs_error *err = pcs_read_field(ctx->py, t, PCS_F_type_tp_base, &t);
		if (err) {
			// Not a type we can read: not a greenlet's.
			pcs_error_destroy(err);
			break;
		}
	}
	if (!cache_put(&ctx->types, type, yes))
		return &pcs_enomem;
	*ret = yes;
	return NULL;
}

static struct pcs_error *gc_object(void *arg, pcs_addr_t obj, pcs_addr_t type)
{
	struct greenlets_ctx *ctx = arg;
	bool yes;
	struct pcs_error *err = is_greenlet_type(ctx, type, &yes);
	if (err || !yes)
		return err;
	if (ctx->nfound >= MAX_GREENLETS)
		return pcs_error_create(PCS_ERROR_LIMIT, "more than %d greenlets", MAX_GREENLETS);
	if (!PCS_VEC_RESERVE(ctx->found, ctx->nfound, ctx->cap_found, 1))
		return &pcs_enomem;
	ctx->found[ctx->nfound++] = obj;
	return NULL;
}

// The last component of the type's tp_name, as type(g).__name__.
static struct pcs_error *type_name(struct pcs_python *py, pcs_addr_t type,
				   const char **ret)
{
	uint64_t at;
	struct pcs_error *err = pcs_read_field(py, type, PCS_F_type_tp_name, &at);
	if (err)
		return err;
	const char *name;
	if ((err = pcs_read_cstring(py, at, MAX_TYPE_NAME, &name)))
		return err;
	const char *dot = strrchr(name, '.');
	*ret = dot ? pcs_strtab_interns(py->strings, dot + 1) : name;
	return *ret ? NULL : &pcs_enomem;
}

// The __qualname__ of a function, or of a bound method's function; NULL
// for any other callable.
static struct pcs_error *callable_name(struct pcs_python *py, pcs_addr_t callable,
				       const char **ret)
{
	*ret = NULL;
	pcs_addr_t type;
	struct pcs_error *err = pcs_object_type(py, callable, &type);
	if (!err && type == py->method_type && py->method_type &&
	    pcs_layout_has(py->layout, PCS_F_method_im_func)) {
		if ((err = pcs_read_field(py, callable, PCS_F_method_im_func, &callable)) ||
		    (err = pcs_object_type(py, callable, &type)))
			return err;
	}
	if (err || type != py->function_type || !py->function_type ||
	    !pcs_layout_has(py->layout, PCS_F_function_func_qualname))
		return err;
	uint64_t name;
	if ((err = pcs_read_field(py, callable, PCS_F_function_func_qualname, &name)))
		return err;
	return name ? pcs_object_str(py, name, ret) : NULL;
}

// The name a person knows the greenlet by: a gevent Greenlet's `name`,
// else the qualified name of what it runs (gevent's `_run`, or the run
// callable given to a greenlet not started yet).
static struct pcs_error *greenlet_name(struct pcs_python *py, pcs_addr_t g,
				       pcs_addr_t run_callable, const char **ret)
{
	*ret = NULL;
	pcs_addr_t value;
	struct pcs_error *err = pcs_object_attr(py, g, "name", &value);
	if (!err && value) {
		pcs_addr_t type;
		if ((err = pcs_object_type(py, value, &type)))
			return err;
		if (type == py->unicode_type && py->unicode_type)
			return pcs_object_str(py, value, ret);
	}
	if (!err)
		err = pcs_object_attr(py, g, "_run", &value);
	if (err)
		return err;
	if (!value)
		value = run_callable;
	return value ? callable_name(py, value, ret) : NULL;
}

static struct pcs_error *read_greenlet(struct pcs_python *py, pcs_addr_t g,
				       struct pcs_python_greenlet *ret)
{
	uint64_t pimpl, type, start, stop, run = 0;
	*ret = (struct pcs_python_greenlet){ .addr = g };
	struct pcs_error *err;
	if ((err = pcs_object_type(py, g, &type)) ||
	    (err = type_name(py, type, &ret->type)) ||
	    (err = pcs_read_field(py, g, PCS_F_greenlet_pimpl, &pimpl)))
		return err;
	if (!pimpl)
		return pcs_error_create(PCS_ERROR_BAD_DATA, "greenlet without its implementation");
	if ((err = pcs_read_field(py, pimpl, PCS_F_greenletimpl_stack_start, &start)) ||
	    (err = pcs_read_field(py, pimpl, PCS_F_greenletimpl_stack_stop, &stop)) ||
	    (err = pcs_read_field(py, pimpl, PCS_F_greenletimpl_top_frame, &ret->top_frame)))
		return err;

	pcs_addr_t thread_state = 0;
	ret->is_main = stop == STACK_STOP_MAIN;
	if (ret->is_main) {
		ret->main = g;
		if ((err = pcs_read_field(py, pimpl, PCS_F_maingreenlet_thread_state,
					  &thread_state)))
			return err;
		// Before its first switch-out stack_start is 1; after, the SP
		// it last left at, on its thread's stack.
		ret->stack_hint = start > 1 ? start : 0;
		ret->state = !thread_state ? PCS_GREENLET_DEAD : PCS_GREENLET_SUSPENDED;
		// Its thread's state names it back: a check of the layout.
		uint64_t back;
		if (thread_state &&
		    ((err = pcs_read_field(py, thread_state,
					   PCS_F_greenletthread_main_greenlet, &back)) ||
		     back != g))
			return err ? err : pcs_error_create(PCS_ERROR_BAD_DATA,
							    "its thread state names another main "
							    "greenlet (greenlet layout mismatch?)");
	} else {
		if ((err = pcs_read_field(py, pimpl, PCS_F_usergreenlet_parent, &ret->parent)) ||
		    (err = pcs_read_field(py, pimpl, PCS_F_usergreenlet_main_greenlet, &ret->main)))
			return err;
		ret->stack_hint = stop;
		if (!stop) {
			ret->state = PCS_GREENLET_NOT_STARTED;
			if ((err = pcs_read_field(py, pimpl, PCS_F_usergreenlet_run_callable, &run)))
				return err;
		} else if (!start) {
			ret->state = PCS_GREENLET_DEAD;
		} else {
			ret->state = PCS_GREENLET_SUSPENDED;
		}
		if (ret->main && ret->state == PCS_GREENLET_SUSPENDED) {
			uint64_t main_pimpl;
			if ((err = pcs_read_field(py, ret->main, PCS_F_greenlet_pimpl, &main_pimpl)) ||
			    (main_pimpl && (err = pcs_read_field(py, main_pimpl,
								 PCS_F_maingreenlet_thread_state,
								 &thread_state))))
				return err;
		}
	}
	if (ret->state == PCS_GREENLET_SUSPENDED) {
		// The one its thread runs now; without the thread's state,
		// a greenlet that saved no frame is the running one.
		uint64_t current = 0;
		if (thread_state &&
		    (err = pcs_read_field(py, thread_state,
					  PCS_F_greenletthread_current_greenlet, &current)))
			return err;
		if (thread_state ? current == g : !ret->top_frame)
			ret->state = PCS_GREENLET_RUNNING;
	}
	if (ret->state != PCS_GREENLET_SUSPENDED)
		ret->top_frame = 0;
	if (ret->is_main)
		ret->thread_state = thread_state;
	return greenlet_name(py, g, run, &ret->name);
}

struct pcs_error *pcs_python_greenlets(struct pcs_python *py, pcs_addr_t interp,
				       pcs_python_greenlet_fn *fn, void *arg,
				       bool *incomplete)
{
	struct greenlets_ctx ctx = { .py = py };
	*incomplete = false;
	if (!pcs_symbols_module_lookup(py->symbols, "_greenlet.", "PyGreenlet_Type",
				       &ctx.base_type))
		return pcs_error_create(PCS_ERROR_LOOKUP,
					"no PyGreenlet_Type in greenlet's extension module");
	struct pcs_error *err = pcs_python_gc_objects(py, interp, gc_object, &ctx, incomplete);
	free(ctx.types.slots);
	// The greenlets found before a fault are still reported.
	struct pcs_error *walk_err = err == &pcs_enomem ? NULL : err;
	if (err == &pcs_enomem)
		goto out;
	err = NULL;
	for (size_t i = 0; i < ctx.nfound && !err; i++) {
		struct pcs_python_greenlet g;
		struct pcs_error *gerr = read_greenlet(py, ctx.found[i], &g);
		if (gerr == &pcs_enomem) {
			err = gerr;
			break;
		}
		g.error = gerr ? gerr->message : NULL;
		err = fn(arg, &g);
		pcs_error_destroy(gerr);
	}
out:
	free(ctx.found);
	if (err) {
		pcs_error_destroy(walk_err);
		return err;
	}
	return walk_err;
}

struct pcs_error *pcs_python_greenlet_stack(struct pcs_python *py, pcs_addr_t g,
					    struct pcs_python_greenlet_stack *ret)
{
	uint64_t pimpl, start, stop, copy, saved, top;
	struct pcs_error *err;
	if ((err = pcs_read_field(py, g, PCS_F_greenlet_pimpl, &pimpl)))
		return err;
	if (!pimpl)
		return pcs_error_create(PCS_ERROR_BAD_DATA, "greenlet without its implementation");
	if (!pcs_layout_has(py->layout, PCS_F_greenletimpl_stack_copy) ||
	    !pcs_layout_has(py->layout, PCS_F_greenletimpl_stack_saved))
		return pcs_error_create(PCS_ERROR_LOOKUP, "no layout for greenlet's "
					"stack_copy and _stack_saved");
	if ((err = pcs_read_field(py, pimpl, PCS_F_greenletimpl_stack_start, &start)) ||
	    (err = pcs_read_field(py, pimpl, PCS_F_greenletimpl_stack_stop, &stop)) ||
	    (err = pcs_read_field(py, pimpl, PCS_F_greenletimpl_stack_copy, &copy)) ||
	    (err = pcs_read_field(py, pimpl, PCS_F_greenletimpl_stack_saved, &saved)) ||
	    (err = pcs_read_field(py, pimpl, PCS_F_greenletimpl_top_frame, &top)))
		return err;
	*ret = (struct pcs_python_greenlet_stack){
		.start = start,
		.stop = stop,
		.copy = copy,
		.saved = saved,
		.top_frame = top,
	};
	return NULL;
}

int pcs_python_stack_owner(struct pcs_python *py, pcs_addr_t addr)
{
	pcs_addr_t start, end;
	if (!addr || !pcs_target_region(py->target, addr, &start, &end))
		return 0;
	size_t n = pcs_target_num_threads(py->target);
	for (size_t i = 0; i < n; i++) {
		const struct pcs_target_thread *th = pcs_target_thread(py->target, i);
		if (th->sp && th->sp >= start && th->sp < end)
			return th->tid;
	}
	return 0;
}
