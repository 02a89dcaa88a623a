// SPDX-License-Identifier: MIT
// Copyright (c) 2026 pycore-stacks contributors

// The frame chain of a thread state, newest first, as sys._current_frames()
// and frame.f_back would show it.

#include <inttypes.h>

#include "interp/internal.h"

struct pcs_error *pcs_cycle_guard_step(struct pcs_cycle_guard *g, pcs_addr_t addr)
{
	if (addr == g->saved)
		return pcs_error_create(PCS_ERROR_LIMIT, "%s cycle detected at 0x%" PRIx64,
					g->what, addr);
	if (++g->steps == g->power) {
		g->saved = addr;
		g->power *= 2;
		g->steps = 0;
	}
	if (++g->total > g->max)
		return pcs_error_create(PCS_ERROR_LIMIT, "more than %" PRIu64 " %ss; "
					"truncated", g->max, g->what);
	return NULL;
}

static struct pcs_error *emit(const struct pcs_code_info *ci, int line,
			      pcs_python_frame_fn *fn, void *arg)
{
	struct pcs_python_frame frame = {
		.function = ci->name,
		.qualname = ci->qualname,
		.file = ci->file,
		.line = line,
	};
	return fn(arg, &frame);
}

// One PyFrameObject (≤ 3.10): its code, and the line PyFrame_GetLineNumber()
// gives: a traced frame's f_lineno (≤ 3.9), any non-zero f_lineno (3.10),
// else the line table at f_lasti.
struct pcs_error *pcs_python_frame_object(struct pcs_python *py, pcs_addr_t f,
					  pcs_python_frame_fn *fn, void *arg)
{
	const struct pcs_python_props *props = &py->layout->props;
	uint64_t code;
	int64_t lasti, lineno = 0;
	struct pcs_error *err;
	if ((err = pcs_read_field(py, f, PCS_F_frameobj_f_code, &code)) ||
	    (err = pcs_read_field_signed(py, f, PCS_F_frameobj_f_lasti, &lasti)))
		return err;
	switch (props->lineno) {
	case PCS_LINENO_IF_TRACED: {
		uint64_t trace;
		err = pcs_read_field(py, f, PCS_F_frameobj_f_trace, &trace);
		if (!err && trace)
			err = pcs_read_field_signed(py, f, PCS_F_frameobj_f_lineno, &lineno);
		break;
	}
	case PCS_LINENO_IF_SET:
		err = pcs_read_field_signed(py, f, PCS_F_frameobj_f_lineno, &lineno);
		break;
	case PCS_LINENO_TABLE:
		break;
	}
	if (err)
		return err;
	int64_t addrq = props->instr == PCS_INSTR_LASTI_UNITS ? lasti * 2 : lasti;
	const struct pcs_code_info *ci;
	if ((err = pcs_code_info(py, code, &ci)))
		return pcs_error_prefix(err, "frame at 0x%" PRIx64, f);
	return emit(ci, lineno ? (int)lineno : pcs_code_line(py, ci, addrq), fn, arg);
}

// PyFrameObject chains (≤ 3.10).
static struct pcs_error *walk_frame_objects(struct pcs_python *py, pcs_addr_t f,
					    pcs_python_frame_fn *fn, void *arg)
{
	struct pcs_cycle_guard guard;
	pcs_cycle_guard_init(&guard, PCS_MAX_FRAMES, "frame");
	struct pcs_error *err = NULL;
	while (f && !err) {
		uint64_t back;
		if ((err = pcs_cycle_guard_step(&guard, f)) ||
		    (err = pcs_read_field(py, f, PCS_F_frameobj_f_back, &back)) ||
		    (err = pcs_python_frame_object(py, f, fn, arg)))
			break;
		f = back;
	}
	return err;
}

// The code and byte offset of one _PyInterpreterFrame.
static struct pcs_error *iframe_position(struct pcs_python *py, pcs_addr_t f,
					 const struct pcs_code_info **ci,
					 int64_t *addrq)
{
	const struct pcs_layout *l = py->layout;
	uint64_t code, instr;
	struct pcs_error *err;
	if ((err = pcs_read_field(py, f, PCS_F_iframe_executable, &code)) ||
	    (err = pcs_read_field(py, f, PCS_F_iframe_instr_ptr, &instr)))
		return err;
	code &= ~l->props.executable_tag_bits;
	if (!code) {
		*ci = NULL;
		return NULL;
	}
	if ((err = pcs_code_info(py, code, ci)))
		return pcs_error_prefix(err, "frame at 0x%" PRIx64, f);
	*addrq = (int64_t)(instr - (code + (uint64_t)l->offset[PCS_F_code_co_code_adaptive]));
	return NULL;
}

struct pcs_error *pcs_python_iframe(struct pcs_python *py, pcs_addr_t f,
				    pcs_python_frame_fn *fn, void *arg)
{
	const struct pcs_code_info *ci;
	int64_t addrq;
	struct pcs_error *err = iframe_position(py, f, &ci, &addrq);
	if (err || !ci)
		return err;
	return emit(ci, pcs_code_line(py, ci, addrq), fn, arg);
}

// _PyInterpreterFrame chains (3.11+).
static struct pcs_error *walk_iframes(struct pcs_python *py, pcs_addr_t f,
				      pcs_python_frame_fn *fn, void *arg)
{
	const struct pcs_layout *l = py->layout;
	const struct pcs_python_props *props = &l->props;
	struct pcs_cycle_guard guard;
	pcs_cycle_guard_init(&guard, PCS_MAX_FRAMES, "frame");
	struct pcs_error *err = NULL;
	while (f && !err) {
		uint64_t prev, owner;
		if ((err = pcs_cycle_guard_step(&guard, f)) ||
		    (err = pcs_read_field(py, f, PCS_F_iframe_previous, &prev)) ||
		    (err = pcs_read_field(py, f, PCS_F_iframe_owner, &owner)))
			break;
		// Frames owned by C (shims, the interpreter's own entry frames)
		// are not Python frames.
		if (props->owner_c_first >= 0 && (int)owner >= props->owner_c_first) {
			f = prev;
			continue;
		}
		const struct pcs_code_info *ci;
		int64_t addrq;
		if ((err = iframe_position(py, f, &ci, &addrq)))
			break;
		// A frame without code is a sentinel (3.15's base frame), not a
		// Python frame.
		if (!ci) {
			f = prev;
			continue;
		}
		// _PyFrame_IsIncomplete(): pushed but not yet past RESUME;
		// CPython hides these frames from Python code.
		if (props->skip_incomplete && (int)owner != props->owner_generator &&
		    addrq < 2 * (int64_t)ci->firsttraceable) {
			f = prev;
			continue;
		}
		err = emit(ci, pcs_code_line(py, ci, addrq), fn, arg);
		f = prev;
	}
	return err;
}

struct pcs_error *pcs_python_walk_frames(struct pcs_python *py,
					 pcs_addr_t tstate,
					 pcs_python_frame_fn *fn, void *arg)
{
	uint64_t f;
	struct pcs_error *err;
	switch (py->layout->props.frames) {
	case PCS_FRAMES_FRAME_OBJECT:
		err = pcs_read_field(py, tstate, PCS_F_tstate_frame, &f);
		return err ? err : walk_frame_objects(py, f, fn, arg);
	case PCS_FRAMES_CFRAME: {
		uint64_t cframe;
		err = pcs_read_field(py, tstate, PCS_F_tstate_cframe, &cframe);
		if (err || !cframe)
			return err;
		err = pcs_read_field(py, cframe, PCS_F_cframe_current_frame, &f);
		return err ? err : walk_iframes(py, f, fn, arg);
	}
	case PCS_FRAMES_IFRAME:
		err = pcs_read_field(py, tstate, PCS_F_tstate_current_frame, &f);
		return err ? err : walk_iframes(py, f, fn, arg);
	}
	return pcs_error_create(PCS_ERROR_UNSUPPORTED, "frame layout");
}

struct pcs_error *pcs_python_walk_frame_object_chain(struct pcs_python *py,
						     pcs_addr_t frame,
						     pcs_python_frame_fn *fn,
						     void *arg)
{
	if (py->layout->props.frames == PCS_FRAMES_FRAME_OBJECT)
		return walk_frame_objects(py, frame, fn, arg);
	// 3.11+: the frame object wraps the _PyInterpreterFrame the chain
	// goes on from.
	uint64_t f;
	if (!pcs_layout_has(py->layout, PCS_F_frameobj_f_frame))
		return pcs_error_create(PCS_ERROR_LOOKUP, "no layout for PyFrameObject.f_frame");
	struct pcs_error *err = pcs_read_field(py, frame, PCS_F_frameobj_f_frame, &f);
	return err ? err : walk_iframes(py, f, fn, arg);
}
