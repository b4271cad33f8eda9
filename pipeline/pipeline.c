/* SPDX-License-Identifier: MIT */
/*
 * Frame ownership and flow; the story is in include/vzero/pipeline.h.
 * Recovery (reconnect, renegotiation, buffer negotiation) is in recover.c.
 *
 * Threading: everything here runs on the loop thread except the frame
 * ref/unref and the port calls a sink makes (release, fail, ended,
 * stopped), which only touch atomics and the mutex-protected slots, then
 * wake the loop.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "clock.h"
#include "pipeline-internal.h"

#define MAX_PROCESSORS     8
#define DEFAULT_MIN_QUEUED 2
#define DEFAULT_BUDGET     2
#define DEFAULT_TELEMETRY  65536
#define STOP_TIMEOUT_NS    (10 * VZ_NSEC_PER_SEC)

#define FRAME_OF(f) ((struct pframe *)((char *)(f)-offsetof(struct pframe, pub)))

/* ---- frames ---- */

static void frame_ref(struct vz_frame *vf)
{
	__atomic_add_fetch(&FRAME_OF(vf)->refs, 1, __ATOMIC_ACQ_REL);
}

static void detached_put(struct vz_pipeline *p);

/* The last reference sends the buffer home: directly on the loop thread,
 * through the done list and a wake-up from anywhere else. */
static void frame_unref_pf(struct pframe *f)
{
	if (__atomic_sub_fetch(&f->refs, 1, __ATOMIC_ACQ_REL) != 0)
		return;
	struct vz_pipeline *p = f->p;
	if (pthread_equal(pthread_self(), p->loop_thread)) {
		/* detached is only ever set on this thread */
		if (p->detached)
			detached_put(p);
		else
			vz_pipeline_requeue(p, f);
		return;
	}
	pthread_mutex_lock(&p->lock);
	if (p->detached) {
		pthread_mutex_unlock(&p->lock);
		detached_put(p);
		return;
	}
	f->next_done = p->done;
	p->done = f;
	/* Under the lock: destroy removes the wake source under it too. */
	vz_loop_wake(p->wake);
	pthread_mutex_unlock(&p->lock);
}

static void frame_unref(struct vz_frame *vf)
{
	frame_unref_pf(FRAME_OF(vf));
}

static const struct vz_frame_ops frame_ops = {
        .ref = frame_ref,
        .unref = frame_unref,
};

struct pset *vz_pipeline_pset_new(struct vz_pipeline *p, struct vz_buffer_set *set)
{
	struct pset *ps = calloc(1, sizeof(*ps));
	if (!ps)
		return NULL;
	ps->set = vz_buffer_set_ref(set);
	ps->generation = set->generation;
	ps->current = true;
	for (unsigned i = 0; i < VZ_MAX_BUFFERS; i++) {
		struct pframe *f = &ps->frames[i];
		f->p = p;
		f->ps = ps;
		f->pub.ops = &frame_ops;
		f->pub.set = set;
		f->pub.generation = set->generation;
		f->pub.fmt = &set->fmt;
		f->pub.buf = &set->buf[i];
	}
	ps->next = p->psets;
	p->psets = ps;
	return ps;
}

static void pset_free(struct vz_pipeline *p, struct pset *ps)
{
	for (struct pset **pp = &p->psets; *pp; pp = &(*pp)->next) {
		if (*pp == ps) {
			*pp = ps->next;
			break;
		}
	}
	vz_buffer_set_unref(ps->set);
	free(ps);
}

void vz_pipeline_pset_retire(struct vz_pipeline *p, struct pset *ps)
{
	if (!ps)
		return;
	ps->current = false;
	if (p->cur == ps)
		p->cur = NULL;
	if (ps->out == 0)
		pset_free(p, ps);
}

/* ---- ports (what a sink may ask) ---- */

#define PORT_OF(pt) ((struct port *)((char *)(pt)-offsetof(struct port, pub)))

static void port_release(struct vz_sink_port *pt, struct vz_frame *vf)
{
	struct port *port = PORT_OF(pt);
	struct pframe *f = FRAME_OF(vf);
	unsigned bit = 1u << port->pub.index;
	unsigned was = __atomic_fetch_and(&f->sinks_mask, ~bit, __ATOMIC_ACQ_REL);
	if (!(was & bit))
		return; /* a double release would requeue a frame still in use */
	__atomic_store_n(&f->t_release[port->pub.index], vz_now_ns(), __ATOMIC_RELEASE);
	__atomic_sub_fetch(&port->inflight, 1, __ATOMIC_ACQ_REL);
	__atomic_add_fetch(&port->released, 1, __ATOMIC_RELAXED);
	/* A record sink may have frames waiting for the room this made: the
	 * loop hands the next one on.  (Before the unref: the last reference
	 * of a destroyed pipeline frees it.) */
	struct vz_pipeline *p = port->p;
	if (port->policy == VZ_SINK_RECORD) { /* fixed once started */
		__atomic_store_n(&p->kick, true, __ATOMIC_RELEASE);
		pthread_mutex_lock(&p->lock);
		if (!p->detached && p->wake)
			vz_loop_wake(p->wake);
		pthread_mutex_unlock(&p->lock);
	}
	frame_unref_pf(f);
}

static void port_post(struct port *port, int kind, int code, const char *msg)
{
	struct vz_pipeline *p = port->p;
	pthread_mutex_lock(&p->lock);
	switch (kind) {
	case 0: /* fail */
		if (!p->fail_pending && !port->failed_posted) {
			p->fail_pending = true;
			vz_err_clear(&p->fail);
			vz_err_set(&p->fail, code < 0 ? code : -EIO, "sink %s: %s", port->sink.name,
			           msg ? msg : "failed");
		}
		port->failed_posted = true;
		break;
	case 1: /* ended */
		if (!port->ended_posted) {
			port->ended_posted = true;
			snprintf(port->ended_msg, sizeof(port->ended_msg), "%s",
			         msg ? msg : "its stream ended");
		}
		break;
	case 2: /* stopped */
		port->stopped = true;
		break;
	}
	if (p->wake)
		vz_loop_wake(p->wake);
	pthread_mutex_unlock(&p->lock);
}

static void port_fail(struct vz_sink_port *pt, int code, const char *msg)
{
	port_post(PORT_OF(pt), 0, code, msg);
}

static void port_ended(struct vz_sink_port *pt, const char *msg)
{
	port_post(PORT_OF(pt), 1, 0, msg);
}

static void port_stopped(struct vz_sink_port *pt)
{
	port_post(PORT_OF(pt), 2, 0, NULL);
}

static void port_shown(struct vz_sink_port *pt, struct vz_frame *vf, int64_t t_ns)
{
	struct port *port = PORT_OF(pt);
	struct pframe *f = FRAME_OF(vf);
	/* Only while the sink still holds it: after its release the slot may
	 * already carry the buffer's next frame. */
	if (__atomic_load_n(&f->sinks_mask, __ATOMIC_ACQUIRE) & (1u << port->pub.index))
		__atomic_store_n(&f->t_shown[port->pub.index], t_ns, __ATOMIC_RELEASE);
}

static struct vz_loop *port_loop(struct vz_sink_port *pt)
{
	return PORT_OF(pt)->p->loop;
}

static const struct vz_sink_port_ops port_ops = {
        .release = port_release,
        .failure = port_fail,
        .ended = port_ended,
        .stopped = port_stopped,
        .shown = port_shown,
        .loop = port_loop,
};

/* ---- the run ---- */

void vz_pipeline_finish(struct vz_pipeline *p, int status)
{
	vz_loop_quit(p->loop, status);
}

void vz_pipeline_notify(struct vz_pipeline *p, const char *msg)
{
	if (p->cfg.on_event)
		p->cfg.on_event(p->cfg.event_data, msg);
}

static void push_waiting(struct vz_pipeline *p, struct port *port, bool force);

/* The frame is home: its telemetry record gets the release times, the
 * buffer goes back to the source (which forgets one of a retired set). */
void vz_pipeline_requeue(struct vz_pipeline *p, struct pframe *f)
{
	struct pset *ps = f->ps;
	if (!f->out)
		return;
	f->out = false;
	ps->out--;
	p->nheld--;
	struct vz_frame_record *r = vz_telemetry_find(p->tel, f->pub.id);
	if (r) {
		for (unsigned i = 0; i < p->nsinks; i++) {
			r->t_release[i] = __atomic_load_n(&f->t_release[i], __ATOMIC_ACQUIRE);
			r->t_shown[i] = __atomic_load_n(&f->t_shown[i], __ATOMIC_ACQUIRE);
		}
		r->t_requeue = vz_now_ns();
	} else {
		p->records_lost++;
	}
	struct vz_err e = {0};
	int ret = p->src.ops->queue(p->src.impl, ps->generation, f->pub.info.index, &e);
	if (ret < 0 && ret != -ENODEV && p->state == ST_RUNNING) {
		vz_err_set(&p->err, ret, "%s", e.msg);
		vz_pipeline_finish(p, ret);
	}
	if (!ps->current && ps->out == 0)
		pset_free(p, ps);
}

static int process(struct vz_pipeline *p, struct pframe *f)
{
	struct vz_frame_map m;
	struct vz_err e = {0};
	struct vz_buffer_set *set = f->ps->set;
	unsigned idx = f->pub.info.index;
	int r = vz_frame_map_init(&m, f->pub.fmt, f->pub.buf, &f->pub.info);
	if (r < 0)
		return vz_err_set(&p->err, r,
		                  "processing: buffer %u has no CPU mapping of every plane", idx);
	r = vz_buffer_cpu_begin(set, idx, true);
	if (r < 0)
		return vz_err_set(&p->err, r, "processing: DMA_BUF_IOCTL_SYNC start: %s",
		                  strerror(-r));
	for (unsigned i = 0; i < p->nprocs && r >= 0; i++) {
		r = p->procs[i].fn(p->procs[i].ctx, &m, &e);
		if (r < 0)
			vz_err_set(&p->err, r, "processor %s: %s", p->procs[i].name, e.msg);
	}
	/* END must pair with START whatever the processors did. */
	int r2 = vz_buffer_cpu_end(set, idx, true);
	if (r >= 0 && r2 < 0)
		r = vz_err_set(&p->err, r2, "processing: DMA_BUF_IOCTL_SYNC end: %s",
		               strerror(-r2));
	return r;
}

static void drop_for_sink(struct port *port, struct pframe *f, struct vz_frame_record *rec,
                          enum vz_drop_cause c)
{
	if (rec)
		rec->sink_drop[port->pub.index] = (uint8_t)c;
	switch (c) {
	case VZ_DROP_SINK_BUDGET:
		port->drops_budget++;
		break;
	case VZ_DROP_SINK_ENDED:
		port->drops_ended++;
		break;
	default:
		port->drops_failure++;
		break;
	}
	(void)f;
}

/* Hands @f to @port's sink; the frame carries one reference for it. */
static void push_to(struct vz_pipeline *p, struct port *port, struct pframe *f)
{
	unsigned i = port->pub.index;
	__atomic_add_fetch(&f->refs, 1, __ATOMIC_ACQ_REL);
	__atomic_fetch_or(&f->sinks_mask, 1u << i, __ATOMIC_ACQ_REL);
	int inflight = __atomic_add_fetch(&port->inflight, 1, __ATOMIC_ACQ_REL);
	if ((unsigned)inflight > port->inflight_hwm)
		port->inflight_hwm = (unsigned)inflight;
	port->pushed++;
	struct vz_frame_record *rec = vz_telemetry_find(p->tel, f->pub.id);
	if (rec)
		rec->t_handoff[i] = vz_now_ns();
	struct vz_err e = {0};
	int r = port->sink.ops->push(port->sink.impl, &f->pub, &e);
	if (r >= 0)
		return;
	/* The sink kept nothing: take its reference back -- unless it gave
	 * the frame back itself before failing, which already did that. */
	port->pushed--;
	unsigned bit = 1u << i;
	bool held = __atomic_fetch_and(&f->sinks_mask, ~bit, __ATOMIC_ACQ_REL) & bit;
	if (held)
		__atomic_sub_fetch(&port->inflight, 1, __ATOMIC_ACQ_REL);
	if (rec)
		rec->t_handoff[i] = 0;
	if (r == -ESHUTDOWN) {
		/* Ended, not broken: the loop learns it from the port too and
		 * says so; until then this sink's frames count as ended. */
		drop_for_sink(port, f, rec, VZ_DROP_SINK_ENDED);
	} else {
		drop_for_sink(port, f, rec, VZ_DROP_SINK_FAILURE);
		port->failed = true;
		vz_err_set(&p->err, r, "sink %s: %s", port->sink.name,
		           e.msg[0] ? e.msg : strerror(-r));
		vz_pipeline_finish(p, r);
	}
	if (held)
		frame_unref_pf(f);
}

/* Whether @port still takes frames toward -n (record sinks stop at N). */
static bool wants_more(const struct vz_pipeline *p, const struct port *port)
{
	return !(port->policy == VZ_SINK_RECORD && p->cfg.max_frames &&
	         port->accepted >= p->cfg.max_frames);
}

static void fan_out(struct vz_pipeline *p, struct pframe *f, struct vz_frame_record *rec)
{
	/* Handing the frame on while the driver is short of buffers would
	 * starve capture: drop it for everybody and requeue at once. */
	unsigned queued = p->src.ops->queued(p->src.impl);
	bool starve = queued < p->cfg.min_queued;
	for (unsigned i = 0; i < p->nsinks; i++) {
		struct port *port = &p->ports[i];
		if (port->failed) {
			drop_for_sink(port, f, rec, VZ_DROP_SINK_FAILURE);
			continue;
		}
		if (port->ended) {
			drop_for_sink(port, f, rec, VZ_DROP_SINK_ENDED);
			continue;
		}
		if (!port->started || !wants_more(p, port))
			continue;
		if (starve) {
			drop_for_sink(port, f, rec, VZ_DROP_SINK_BUDGET);
			continue;
		}
		int inflight = __atomic_load_n(&port->inflight, __ATOMIC_ACQUIRE);
		if (port->policy == VZ_SINK_RECORD &&
		    (port->nwait || (unsigned)inflight >= port->budget)) {
			if (port->nwait < WAIT_MAX) {
				/* Waits, in order, holding a reference of its own. */
				__atomic_add_fetch(&f->refs, 1, __ATOMIC_ACQ_REL);
				port->wait[(port->wait_head + port->nwait++) % WAIT_MAX] = f;
				port->accepted++;
				continue;
			}
			drop_for_sink(port, f, rec, VZ_DROP_SINK_BUDGET);
			continue;
		}
		if ((unsigned)inflight >= port->budget) {
			drop_for_sink(port, f, rec, VZ_DROP_SINK_BUDGET);
			continue;
		}
		port->accepted++;
		push_to(p, port, f);
	}
}

/* Record sinks: frames that waited go out, oldest first, as the budget
 * frees (or all of them at once when the run ends: @force). */
static void push_waiting(struct vz_pipeline *p, struct port *port, bool force)
{
	/* A frame may wait for room only behind frames of its own set: the
	 * runner flushes the queue before a set change reaches the sink. */
	while (port->nwait && !port->failed && !port->ended) {
		int inflight = __atomic_load_n(&port->inflight, __ATOMIC_ACQUIRE);
		if (!force && (unsigned)inflight >= port->budget)
			break;
		struct pframe *f = port->wait[port->wait_head];
		port->wait_head = (port->wait_head + 1) % WAIT_MAX;
		port->nwait--;
		push_to(p, port, f);
		frame_unref_pf(f); /* the waiting reference */
	}
	/* A sink that failed or ended meanwhile lets its waiting frames go. */
	while (port->nwait && (port->failed || port->ended)) {
		struct pframe *f = port->wait[port->wait_head];
		port->wait_head = (port->wait_head + 1) % WAIT_MAX;
		port->nwait--;
		drop_for_sink(port, f, vz_telemetry_find(p->tel, f->pub.id),
		              port->failed ? VZ_DROP_SINK_FAILURE : VZ_DROP_SINK_ENDED);
		frame_unref_pf(f);
	}
}

void vz_pipeline_flush_waiting(struct vz_pipeline *p)
{
	for (unsigned i = 0; i < p->nsinks; i++)
		push_waiting(p, &p->ports[i], true);
}

/* -n: with record sinks, the run is done when each got its N frames. */
static void check_done(struct vz_pipeline *p)
{
	if (!p->cfg.max_frames || p->state != ST_RUNNING)
		return;
	bool any_record = false, all = true;
	for (unsigned i = 0; i < p->nsinks; i++) {
		const struct port *port = &p->ports[i];
		if (port->policy != VZ_SINK_RECORD || port->failed)
			continue;
		any_record = true;
		if (!port->ended && port->pushed < p->cfg.max_frames)
			all = false;
	}
	if (any_record ? all : p->nframes >= p->cfg.max_frames)
		vz_pipeline_finish(p, 0);
}

void vz_pipeline_deliver(struct vz_pipeline *p, const struct vz_frame_info *fi)
{
	struct pset *ps = p->cur;
	if (!ps || fi->index >= ps->set->count || ps->frames[fi->index].out) {
		/* The source broke the ownership contract: going on would hand
		 * a buffer to a sink while another still reads it. */
		vz_err_set(&p->err, -EPROTO,
		           "source delivered buffer %u while the pipeline still holds it",
		           fi->index);
		vz_pipeline_finish(p, -EPROTO);
		return;
	}
	struct pframe *f = &ps->frames[fi->index];
	struct vz_frame_record *rec = vz_telemetry_begin(p->tel, fi, p->nheld + 1);
	f->pub.id = rec->id;
	f->pub.info = *fi;
	f->sinks_mask = 0;
	for (unsigned i = 0; i < VZ_MAX_SINKS; i++)
		f->t_release[i] = f->t_shown[i] = 0;
	__atomic_store_n(&f->refs, 1, __ATOMIC_RELEASE);
	f->out = true;
	ps->out++;
	p->nheld++;
	if (p->nheld > p->inflight_hwm)
		p->inflight_hwm = p->nheld;

	if (p->nframes == 0)
		p->t_first = fi->t_dqbuf_ns;
	else if (!fi->discont && p->nominal_ns > 0 &&
	         vz_ns_sub(fi->t_driver_ns, p->last_driver) > p->nominal_ns * 3 / 2)
		p->late++;
	if (p->t_resumed) {
		p->last_resume_ns = fi->t_dqbuf_ns - p->t_resumed;
		p->last_outage_ns = fi->t_dqbuf_ns - p->t_gone;
		p->t_resumed = 0;
	}
	p->last_driver = fi->t_driver_ns;
	p->t_last = fi->t_dqbuf_ns;
	p->t_progress = fi->t_dqbuf_ns;
	p->nframes++;

	if (p->nprocs) {
		if (process(p, f) < 0) {
			/* A processor that fails would hand sinks a half-written
			 * frame: stop rather than pass it on. */
			vz_pipeline_finish(p, p->err.code);
			frame_unref_pf(f);
			return;
		}
		rec->t_processed = vz_now_ns();
	} else {
		rec->t_processed = fi->t_dqbuf_ns;
	}
	fan_out(p, f, rec);
	frame_unref_pf(f); /* the pipeline's own reference */
	check_done(p);
}

static void on_capture(void *data, int fd, uint32_t events)
{
	struct vz_pipeline *p = data;
	struct vz_frame_info fi;
	struct vz_err e = {0};
	(void)fd;
	/* One frame per wake-up: epoll is level-triggered, so a second ready
	 * buffer wakes us again at once, and we save the DQBUF that would
	 * only say EAGAIN on every frame. */
	int r = p->src.ops->next(p->src.impl, events, &fi, &e);
	if (r == 1) {
		vz_pipeline_deliver(p, &fi);
		return;
	}
	if (r == 0)
		return;
	if (r == VZ_SOURCE_FORMAT_CHANGED) {
		vz_pipeline_renegotiate(p);
		return;
	}
	if (r == -ENODEV && p->cfg.reconnect_timeout_ms >= 0) {
		vz_pipeline_device_gone(p, e.msg);
		return;
	}
	vz_err_set(&p->err, r, "%s", e.msg[0] ? e.msg : strerror(-r));
	vz_pipeline_finish(p, r);
}

int vz_pipeline_watch_source(struct vz_pipeline *p, struct vz_err *err)
{
	vz_loop_remove(p->loop, p->src_watch);
	p->src_watch = NULL;
	return vz_loop_add_fd(p->loop, p->src.ops->fd(p->src.impl), EPOLLIN | EPOLLPRI, on_capture,
	                      p, &p->src_watch, err);
}

static void on_wake(void *data)
{
	struct vz_pipeline *p = data;
	bool failed;
	struct vz_err fail;

	pthread_mutex_lock(&p->lock);
	struct pframe *done = p->done;
	p->done = NULL;
	failed = p->fail_pending;
	fail = p->fail;
	p->fail_pending = false;
	pthread_mutex_unlock(&p->lock);

	while (done) {
		struct pframe *next = done->next_done;
		vz_pipeline_requeue(p, done);
		done = next;
	}
	for (unsigned i = 0; i < p->nsinks; i++) {
		struct port *port = &p->ports[i];
		pthread_mutex_lock(&p->lock);
		bool ended = port->ended_posted && !port->ended;
		if (port->failed_posted)
			port->failed = true;
		pthread_mutex_unlock(&p->lock);
		if (ended) {
			port->ended = true;
			char msg[400];
			snprintf(msg, sizeof(msg), "sink %s ended its stream: %s; the others go on",
			         port->sink.name, port->ended_msg);
			vz_pipeline_notify(p, msg);
		}
	}
	if (__atomic_exchange_n(&p->kick, false, __ATOMIC_ACQ_REL) || failed)
		for (unsigned i = 0; i < p->nsinks; i++)
			push_waiting(p, &p->ports[i], false);
	if (failed) {
		vz_err_set(&p->err, fail.code, "%s", fail.msg);
		vz_pipeline_finish(p, fail.code);
	}
	check_done(p);
}

static void on_deadline(void *data, uint64_t expirations)
{
	(void)expirations;
	vz_pipeline_finish(data, 0);
}

/* No frame for too long while streaming: say so rather than spin or hang
 * (a source stuck in an error state, a driver that stopped producing). */
static void on_watchdog(void *data, uint64_t expirations)
{
	struct vz_pipeline *p = data;
	(void)expirations;
	if (p->state != ST_RUNNING || p->stall_ns <= 0)
		return;
	/* A one-shot aimed at the moment the last progress goes stale: a
	 * healthy stream costs one wake-up per stall timeout, not a periodic
	 * tick beside every frame. */
	if (p->recovering) {
		vz_loop_set_timer(p->watchdog, p->stall_ns, 0);
		return;
	}
	struct vz_source_stats st;
	p->src.ops->stats(p->src.impl, &st);
	/* Recoveries count as progress: the source is alive. */
	if (st.error_frames != p->wd_last.error_frames || st.restarts != p->wd_last.restarts ||
	    st.reconnects != p->wd_last.reconnects)
		p->t_progress = vz_now_ns();
	p->wd_last = st;
	int64_t idle = vz_now_ns() - p->t_progress;
	if (idle <= p->stall_ns) {
		vz_loop_set_timer(p->watchdog, p->stall_ns - idle, 0);
		return;
	}
	vz_err_set(&p->err, -ETIMEDOUT,
	           "the source delivered no frame for %.1f s (%llu driver drops, %llu error "
	           "frames, %llu restarts so far): it stalled; check its input with `v4l2-ctl "
	           "--all`, or raise --stall-timeout",
	           (double)idle / 1e9, (unsigned long long)st.driver_drops,
	           (unsigned long long)st.error_frames, (unsigned long long)st.restarts);
	vz_pipeline_finish(p, -ETIMEDOUT);
}

int vz_pipeline_create(struct vz_pipeline **out, const struct vz_pipeline_config *cfg,
                       struct vz_err *err)
{
	*out = NULL;
	if (!cfg->source.ops || !cfg->loop)
		return vz_err_set(err, -EINVAL, "pipeline: a source and a loop are required");
	struct vz_pipeline *p = calloc(1, sizeof(*p));
	if (!p)
		return vz_err_set(err, -ENOMEM, "pipeline: out of memory");
	p->cfg = *cfg;
	if (!p->cfg.min_queued)
		p->cfg.min_queued = DEFAULT_MIN_QUEUED;
	if (!p->cfg.telemetry_capacity)
		p->cfg.telemetry_capacity = DEFAULT_TELEMETRY;
	p->src = cfg->source;
	p->loop = cfg->loop;
	pthread_mutex_init(&p->lock, NULL);
	*out = p;
	return 0;
}

int vz_pipeline_add_processor(struct vz_pipeline *p, const char *name, vz_process_fn fn, void *ctx,
                              struct vz_err *err)
{
	if (p->state != ST_IDLE)
		return vz_err_set(err, -EBUSY, "pipeline: add processors before starting");
	if (p->nprocs == MAX_PROCESSORS)
		return vz_err_set(err, -E2BIG, "pipeline: at most %d processors", MAX_PROCESSORS);
	struct processor *pr = &p->procs[p->nprocs++];
	snprintf(pr->name, sizeof(pr->name), "%s", name ? name : "custom");
	pr->fn = fn;
	pr->ctx = ctx;
	return 0;
}

int vz_pipeline_add_sink(struct vz_pipeline *p, struct vz_sink *sink,
                         const struct vz_sink_config *cfg, struct vz_err *err)
{
	if (p->state != ST_IDLE)
		return vz_err_set(err, -EBUSY, "pipeline: add sinks before starting");
	if (p->nsinks == VZ_MAX_SINKS)
		return vz_err_set(err, -E2BIG, "pipeline: at most %d sinks", VZ_MAX_SINKS);
	struct port *port = &p->ports[p->nsinks];
	memset(port, 0, sizeof(*port));
	port->p = p;
	port->pub.ops = &port_ops;
	port->pub.index = p->nsinks++;
	port->sink = *sink;
	port->budget = cfg && cfg->budget ? cfg->budget : sink->budget;
	if (!port->budget)
		port->budget = DEFAULT_BUDGET;
	port->policy = cfg && cfg->policy ? cfg->policy : sink->policy;
	if (!port->policy)
		port->policy = VZ_SINK_LIVE;
	memset(sink, 0, sizeof(*sink));
	return 0;
}

int vz_pipeline_start(struct vz_pipeline *p, struct vz_err *err)
{
	int r;
	if (p->state != ST_IDLE)
		return vz_err_set(err, -EBUSY, "pipeline: already started");
	p->loop_thread = pthread_self();
	/* A record must outlive its frame on any ordinary run; one held longer
	 * than the ring is deep only loses its record (vz_telemetry_find). */
	r = vz_telemetry_create(&p->tel, p->cfg.telemetry_capacity, p->nsinks, err);
	if (r < 0)
		return r;
	r = vz_loop_add_wake(p->loop, on_wake, p, &p->wake, err);
	if (r < 0)
		return r;
	r = vz_pipeline_negotiate_buffers(p, err);
	if (r < 0)
		goto fail;
	for (unsigned i = 0; i < p->nsinks; i++) {
		struct port *port = &p->ports[i];
		r = port->sink.ops->start(port->sink.impl, &port->pub, p->cur->set, err);
		if (r == -EXDEV && port->sink.ops->provide) {
			/* It cannot use capture's buffers but offers its own:
			 * once, before a single frame was captured. */
			r = vz_pipeline_offer_again(p, i, err);
			if (r == 0)
				r = port->sink.ops->start(port->sink.impl, &port->pub, p->cur->set,
				                          err);
			if (r == -EXDEV)
				r = vz_err_set(err, r, "cannot use the buffers it provided itself");
		}
		if (r < 0) {
			vz_err_prefix(err, "sink %s", port->sink.name);
			goto fail;
		}
		port->started = true;
	}
	r = p->src.ops->start(p->src.impl, err);
	if (r < 0)
		goto fail;
	/* A blocking DQBUF would park the loop thread in the driver and leave
	 * releases from other threads waiting: frames would pile up unseen. */
	int fl = fcntl(p->src.ops->fd(p->src.impl), F_GETFL);
	if (fl >= 0 && !(fl & O_NONBLOCK)) {
		r = vz_err_set(err, -EINVAL,
		               "pipeline: the source fd is blocking; open the capture without "
		               "cfg.blocking");
		goto fail_src;
	}
	r = vz_pipeline_watch_source(p, err);
	if (r < 0)
		goto fail_src;
	if (p->cfg.max_duration_ns > 0) {
		r = vz_loop_add_timer(p->loop, p->cfg.max_duration_ns, 0, on_deadline, p,
		                      &p->deadline, err);
		if (r < 0)
			goto fail_src;
	}
	p->stall_ns = p->cfg.stall_timeout_ns;
	if (p->stall_ns == 0)
		p->stall_ns = 10 * VZ_NSEC_PER_SEC + 10 * p->nominal_ns;
	if (p->stall_ns > 0) {
		r = vz_loop_add_timer(p->loop, p->stall_ns, 0, on_watchdog, p, &p->watchdog, err);
		if (r < 0)
			goto fail_src;
	}
	p->t_progress = vz_now_ns();
	p->state = ST_RUNNING;
	return 0;
fail_src:
	p->src.ops->stop(p->src.impl, NULL);
fail:
	p->state = ST_RUNNING; /* so stop() winds down what started */
	vz_pipeline_stop(p, NULL);
	return r;
}

static bool all_stopped(struct vz_pipeline *p)
{
	bool all = true;
	pthread_mutex_lock(&p->lock);
	for (unsigned i = 0; i < p->nsinks; i++)
		if (p->ports[i].stopping && !p->ports[i].stopped)
			all = false;
	pthread_mutex_unlock(&p->lock);
	return all;
}

int vz_pipeline_stop(struct vz_pipeline *p, struct vz_err *err)
{
	int ret = 0;
	if (!p || p->state != ST_RUNNING)
		return 0;
	if (vz_loop_dispatching(p->loop))
		return vz_err_set(err, -EDEADLK,
		                  "pipeline: stop from inside a loop callback cannot wait for the "
		                  "sinks; call it after vz_loop_run() returns");
	p->state = ST_STOPPING;
	vz_pipeline_recovery_cancel(p);
	vz_loop_remove(p->loop, p->src_watch);
	p->src_watch = NULL;
	vz_loop_remove(p->loop, p->deadline);
	p->deadline = NULL;
	vz_loop_remove(p->loop, p->watchdog);
	p->watchdog = NULL;
	struct vz_err se = {0};
	int rs = p->src.ops->stop(p->src.impl, &se);
	/* What a recording was promised still goes to it, then the end. */
	for (unsigned i = 0; i < p->nsinks; i++)
		push_waiting(p, &p->ports[i], true);
	for (unsigned i = 0; i < p->nsinks; i++) {
		struct port *port = &p->ports[i];
		if (!port->started)
			continue;
		struct vz_err e = {0};
		pthread_mutex_lock(&p->lock);
		port->stopping = true;
		pthread_mutex_unlock(&p->lock);
		int r = port->sink.ops->stop(port->sink.impl, &e);
		if (r < 0) {
			pthread_mutex_lock(&p->lock);
			port->stopped = true; /* it could not even begin */
			pthread_mutex_unlock(&p->lock);
			if (ret == 0)
				ret = vz_err_set(err, r, "sink %s: %s", port->sink.name, e.msg);
		}
	}
	int64_t timeout = p->cfg.stop_timeout_ns > 0 ? p->cfg.stop_timeout_ns : STOP_TIMEOUT_NS;
	int64_t end = vz_now_ns() + timeout;
	on_wake(p);
	while ((p->nheld || !all_stopped(p)) && vz_now_ns() < end) {
		vz_loop_dispatch(p->loop, 20);
		on_wake(p);
	}
	if (!all_stopped(p) && ret == 0) {
		for (unsigned i = 0; i < p->nsinks; i++)
			if (p->ports[i].stopping && !p->ports[i].stopped) {
				ret = vz_err_set(err, -ETIMEDOUT,
				                 "sink %s did not finish within %.1f s (files it "
				                 "writes may be incomplete)",
				                 p->ports[i].sink.name, (double)timeout / 1e9);
				break;
			}
	}
	if (p->nheld && ret == 0)
		ret = vz_err_set(err, -ETIMEDOUT,
		                 "%u frame(s) were never released by the sinks within %.1f s",
		                 p->nheld, (double)timeout / 1e9);
	p->state = ST_STOPPED;
	if (ret == 0 && rs < 0)
		ret = vz_err_set(err, rs, "%s", se.msg);
	return ret;
}

/* The last frame a broken sink still held has come back after destroy. */
static void detached_free(struct vz_pipeline *p)
{
	while (p->psets) {
		struct pset *ps = p->psets;
		p->psets = ps->next;
		vz_buffer_set_unref(ps->set);
		free(ps);
	}
	pthread_mutex_destroy(&p->lock);
	free(p);
}

static void detached_put(struct vz_pipeline *p)
{
	pthread_mutex_lock(&p->lock);
	bool last = --p->detached_out == 0;
	pthread_mutex_unlock(&p->lock);
	if (last)
		detached_free(p);
}

void vz_pipeline_destroy(struct vz_pipeline *p)
{
	if (!p)
		return;
	vz_pipeline_stop(p, NULL);
	vz_pipeline_recovery_cancel(p);
	/* Destroying a sink drops what it still holds (GStreamer's elements
	 * let go when set to NULL): releases land here, on this thread. */
	for (unsigned i = 0; i < p->nsinks; i++)
		vz_sink_destroy(&p->ports[i].sink);
	vz_loop_remove(p->loop, p->src_watch);
	vz_loop_remove(p->loop, p->deadline);
	vz_loop_remove(p->loop, p->watchdog);
	vz_telemetry_destroy(p->tel);
	p->tel = NULL;
	pthread_mutex_lock(&p->lock);
	while (p->done) {
		/* Releases posted meanwhile come home first. */
		struct pframe *done = p->done;
		p->done = NULL;
		pthread_mutex_unlock(&p->lock);
		while (done) {
			struct pframe *next = done->next_done;
			vz_pipeline_requeue(p, done);
			done = next;
		}
		pthread_mutex_lock(&p->lock);
	}
	unsigned out = p->nheld;
	if (out) {
		/* A broken sink still holds frames: what they point into (the
		 * pipeline's frame slots, ports, buffer sets) must outlive this
		 * call; the last release frees it. */
		p->detached = true;
		p->detached_out = out;
	}
	if (p->wake)
		vz_loop_remove(p->loop, p->wake);
	p->wake = NULL;
	pthread_mutex_unlock(&p->lock);
	if (!out)
		detached_free(p);
}

const struct vz_err *vz_pipeline_error(const struct vz_pipeline *p)
{
	return &p->err;
}

const struct vz_telemetry *vz_pipeline_telemetry(const struct vz_pipeline *p)
{
	return p->tel;
}

unsigned vz_pipeline_inflight(const struct vz_pipeline *p)
{
	return p->nheld;
}

void vz_pipeline_get_stats(const struct vz_pipeline *p, struct vz_pipeline_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->frames = p->nframes;
	st->late_frames = p->late;
	st->inflight_hwm = p->inflight_hwm;
	st->t_start = p->t_first;
	st->t_end = p->t_last;
	p->src.ops->stats(p->src.impl, &st->capture);
	st->drops[VZ_DROP_DRIVER_GAP] = st->capture.driver_drops;
	st->drops[VZ_DROP_ERROR_FLAG] = st->capture.error_frames;
	st->bytes_copied = st->capture.bytes_copied;
	snprintf(st->buffers, sizeof(st->buffers), "%s", p->buffers);
	snprintf(st->buffers_note, sizeof(st->buffers_note), "%s", p->buffers_note);
	st->generation = p->cur ? p->cur->generation : 0;
	st->recoveries = p->recoveries;
	st->last_resume_ns = p->last_resume_ns;
	st->last_outage_ns = p->last_outage_ns;
	st->nsinks = p->nsinks;
	for (unsigned i = 0; i < p->nsinks; i++) {
		const struct port *port = &p->ports[i];
		struct vz_sink_stats *s = &st->sink[i];
		if (port->sink.ops && port->sink.ops->get_stats)
			port->sink.ops->get_stats(port->sink.impl, s);
		s->frames = port->pushed;
		s->released = __atomic_load_n(&port->released, __ATOMIC_ACQUIRE);
		s->drops_budget = port->drops_budget;
		s->drops_failure += port->drops_failure;
		s->drops_ended = port->drops_ended;
		s->inflight_hwm = port->inflight_hwm;
		s->policy = port->policy;
		if (port->ended && !s->ended[0])
			snprintf(s->ended, sizeof(s->ended), "%s", port->ended_msg);
		snprintf(st->sink_name[i], sizeof(st->sink_name[i]), "%s", port->sink.name);
		st->drops[VZ_DROP_SINK_BUDGET] += s->drops_budget;
		st->drops[VZ_DROP_SINK_FAILURE] += s->drops_failure;
		st->drops[VZ_DROP_SINK_ENDED] += s->drops_ended;
		st->bytes_copied += s->bytes_copied;
	}
}
