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

// Report the frame at @p f (its locals too, when asked for).
static struct pcs_error *emit(struct pcs_python *py, pcs_addr_t f,
			      const struct pcs_code_info *ci, int line,
			      pcs_python_frame_fn *fn, void *arg)
{
	struct pcs_python_frame frame = {
		.function = ci->name,
		.qualname = ci->qualname,
		.file = ci->file,
		.line = line,
	};
	struct pcs_error *err = pcs_python_frame_locals(py, f, ci, &frame);
	return err ? err : fn(arg, &frame);
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
	return emit(py, f, ci, lineno ? (int)lineno : pcs_code_line(py, ci, addrq), fn, arg);
}

// The end of the frames one C activation of the evaluation loop runs.
static struct pcs_error *activation_ends(pcs_python_activation_fn *afn, void *arg,
					 pcs_addr_t c_stack_addr)
{
	struct pcs_python_activation act = { .c_stack_addr = c_stack_addr };
	return afn ? afn(arg, &act) : NULL;
}

// PyFrameObject chains (≤ 3.10): each frame has its own C activation.
static struct pcs_error *walk_frame_objects(struct pcs_python *py, pcs_addr_t f,
					    pcs_python_frame_fn *fn,
					    pcs_python_activation_fn *afn, void *arg)
{
	struct pcs_cycle_guard guard;
	pcs_cycle_guard_init(&guard, PCS_MAX_FRAMES, "frame");
	struct pcs_error *err = NULL;
	while (f && !err) {
		uint64_t back;
		if ((err = pcs_cycle_guard_step(&guard, f)) ||
		    (err = pcs_read_field(py, f, PCS_F_frameobj_f_back, &back)) ||
		    (err = pcs_python_frame_object(py, f, fn, arg)) ||
		    (err = activation_ends(afn, arg, 0)))
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
	return emit(py, f, ci, pcs_code_line(py, ci, addrq), fn, arg);
}

// Whether the _PyInterpreterFrame at @p f is the first its C activation ran
// (3.11's is_entry; 3.12+ mark activations with entry frames instead).
static struct pcs_error *iframe_is_entry(struct pcs_python *py, pcs_addr_t f,
					 bool *ret)
{
	uint64_t entry = 0;
	struct pcs_error *err = NULL;
	if (pcs_layout_has(py->layout, PCS_F_iframe_is_entry))
		err = pcs_read_field(py, f, PCS_F_iframe_is_entry, &entry);
	*ret = entry != 0;
	return err;
}

// In a chain greenlet exposed (pcs_layout.greenlet_exposes_frames), the
// complete frame @p f links straight to the next complete one, @p prev;
// its own `previous` is in its frame object. Where that is not @p prev,
// the frames skipped are the entry frames on the C stack: @p f is the
// first frame its activation ran, and the first skipped frame is that
// activation's entry frame.
static struct pcs_error *exposed_activation_end(struct pcs_python *py, pcs_addr_t f,
						pcs_addr_t prev,
						pcs_python_activation_fn *afn, void *arg)
{
	uint64_t frame_obj, own;
	struct pcs_error *err = pcs_read_field(py, f, PCS_F_iframe_frame_obj, &frame_obj);
	if (!err && !frame_obj)
		return pcs_error_create(PCS_ERROR_BAD_DATA, "suspended frame at 0x%" PRIx64
					" has no frame object", f);
	if (!err)
		err = pcs_read_field(py, frame_obj, PCS_F_frameobj_f_frame_data, &own);
	if (err || own == prev)
		return err;
	return activation_ends(afn, arg, own);
}

// _PyInterpreterFrame chains (3.11+). With @p afn, also the ends of the C
// activations: 3.12+ push an entry frame owned by C (CSTACK, 3.14's
// INTERPRETER: owner_c_first) on the C stack before the frames each runs;
// 3.11 marks the first frame each runs with is_entry. @p exposed: a
// suspended greenlet's chain, which skips the entry frames
// (exposed_activation_end()).
static struct pcs_error *walk_iframes(struct pcs_python *py, pcs_addr_t f, bool exposed,
				      pcs_python_frame_fn *fn,
				      pcs_python_activation_fn *afn, void *arg)
{
	const struct pcs_layout *l = py->layout;
	const struct pcs_python_props *props = &l->props;
	if (afn && props->owner_c_first < 0 && !pcs_layout_has(l, PCS_F_iframe_is_entry))
		return pcs_error_create(PCS_ERROR_LOOKUP,
					"no layout for _PyInterpreterFrame.is_entry");
	if (afn && exposed && (!pcs_layout_has(l, PCS_F_iframe_frame_obj) ||
			       !pcs_layout_has(l, PCS_F_frameobj_f_frame_data)))
		return pcs_error_create(PCS_ERROR_LOOKUP, "no layout for "
					"_PyInterpreterFrame.frame_obj or "
					"PyFrameObject._f_frame_data");
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
			if ((int)owner == props->owner_c_first)
				err = activation_ends(afn, arg, f);
			f = prev;
			continue;
		}
		bool entry = false;
		if (afn && (err = iframe_is_entry(py, f, &entry)))
			break;
		const struct pcs_code_info *ci;
		int64_t addrq;
		if ((err = iframe_position(py, f, &ci, &addrq)))
			break;
		// A frame without code is a sentinel (3.15's base frame), not a
		// Python frame. _PyFrame_IsIncomplete(): pushed but not yet past
		// RESUME; CPython hides these frames from Python code.
		bool complete = ci && !(props->skip_incomplete &&
					(int)owner != props->owner_generator &&
					addrq < 2 * (int64_t)ci->firsttraceable);
		if (complete)
			err = emit(py, f, ci, pcs_code_line(py, ci, addrq), fn, arg);
		if (!err && entry)
			err = activation_ends(afn, arg, 0);
		if (!err && complete && exposed && afn)
			err = exposed_activation_end(py, f, prev, afn, arg);
		f = prev;
	}
	return err;
}

struct pcs_error *pcs_python_walk_activations(struct pcs_python *py,
					      pcs_addr_t tstate,
					      pcs_python_frame_fn *fn,
					      pcs_python_activation_fn *afn,
					      void *arg)
{
	uint64_t f;
	struct pcs_error *err;
	switch (py->layout->props.frames) {
	case PCS_FRAMES_FRAME_OBJECT:
		err = pcs_read_field(py, tstate, PCS_F_tstate_frame, &f);
		return err ? err : walk_frame_objects(py, f, fn, afn, arg);
	case PCS_FRAMES_CFRAME: {
		uint64_t cframe;
		err = pcs_read_field(py, tstate, PCS_F_tstate_cframe, &cframe);
		if (err || !cframe)
			return err;
		err = pcs_read_field(py, cframe, PCS_F_cframe_current_frame, &f);
		return err ? err : walk_iframes(py, f, false, fn, afn, arg);
	}
	case PCS_FRAMES_IFRAME:
		err = pcs_read_field(py, tstate, PCS_F_tstate_current_frame, &f);
		return err ? err : walk_iframes(py, f, false, fn, afn, arg);
	}
	return pcs_error_create(PCS_ERROR_UNSUPPORTED, "frame layout");
}

struct pcs_error *pcs_python_walk_frames(struct pcs_python *py,
					 pcs_addr_t tstate,
					 pcs_python_frame_fn *fn, void *arg)
{
	return pcs_python_walk_activations(py, tstate, fn, NULL, arg);
}

struct pcs_error *pcs_python_walk_frame_object_chain(struct pcs_python *py,
						     pcs_addr_t frame,
						     pcs_python_frame_fn *fn,
						     void *arg)
{
	return pcs_python_walk_greenlet_activations(py, frame, fn, NULL, arg);
}

struct pcs_error *pcs_python_walk_greenlet_activations(struct pcs_python *py,
						       pcs_addr_t frame,
						       pcs_python_frame_fn *fn,
						       pcs_python_activation_fn *afn,
						       void *arg)
{
	if (py->layout->props.frames == PCS_FRAMES_FRAME_OBJECT)
		return walk_frame_objects(py, frame, fn, afn, arg);
	// 3.11+: the frame object wraps the _PyInterpreterFrame the chain
	// goes on from.
	uint64_t f;
	if (!pcs_layout_has(py->layout, PCS_F_frameobj_f_frame))
		return pcs_error_create(PCS_ERROR_LOOKUP, "no layout for PyFrameObject.f_frame");
	struct pcs_error *err = pcs_read_field(py, frame, PCS_F_frameobj_f_frame, &f);
	return err ? err : walk_iframes(py, f, py->layout->greenlet_exposes_frames, fn,
					afn, arg);
}
