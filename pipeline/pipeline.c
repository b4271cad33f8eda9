/* SPDX-License-Identifier: MIT */
/*
 * Frame ownership and flow; the story is in include/vzero/pipeline.h.
 *
 * Threading: everything here runs on the loop thread except
 * vz_port_release() and vz_port_fail(), which only touch atomics, the
 * telemetry release stamp, and the mutex-protected `done`/failure slots,
 * then wake the loop.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/dma-buf.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>

#include "clock.h"
#include "pipeline.h"

#define MAX_PROCESSORS       8
#define DEFAULT_MIN_QUEUED   2
#define DEFAULT_BUDGET       2
#define DEFAULT_TELEMETRY    65536
#define SINK_STOP_TIMEOUT_NS (5 * VZ_NSEC_PER_SEC)

struct processor {
	char name[32];
	vz_process_fn fn;
	void *ctx;
};

struct vz_sink_port {
	struct vz_pipeline *pipe;
	unsigned index;
	struct vz_sink sink;
	unsigned budget;
	bool started;
	bool failed;
	int inflight;      /* atomic: pushed, not yet released */
	uint64_t released; /* atomic */
	unsigned inflight_hwm;
	uint64_t pushed;
	uint64_t drops_budget;
	uint64_t drops_failure;
};

enum state {
	ST_IDLE,
	ST_RUNNING,
	ST_STOPPED,
};

struct vz_pipeline {
	struct vz_pipeline_config cfg;
	struct vz_source src;
	struct vz_loop *loop;
	struct vz_loop_source *src_watch;
	struct vz_loop_source *wake;
	struct vz_loop_source *deadline;
	struct vz_telemetry *tel;
	pthread_t loop_thread;
	enum state state;
	bool recovering; /* disconnect or source change: sinks restart */

	struct vz_frame frames[VZ_MAX_BUFFERS];
	bool held[VZ_MAX_BUFFERS]; /* out of the driver (loop thread's view) */
	unsigned nheld;

	struct processor procs[MAX_PROCESSORS];
	unsigned nprocs;
	struct vz_sink_port ports[VZ_MAX_SINKS];
	unsigned nsinks;

	pthread_mutex_t lock; /* guards done[], ndone, fail */
	unsigned done[VZ_MAX_BUFFERS * 2];
	unsigned ndone;
	bool fail_pending;
	struct vz_err fail;

	struct vz_err err; /* why the run stopped */
	uint64_t nframes;
	uint64_t late;
	unsigned inflight_hwm;
	int64_t t_first, t_last, last_driver;
	int64_t nominal_ns;
};

/* ---- ports (the sink's view) ---- */

struct vz_loop *vz_port_loop(struct vz_sink_port *p)
{
	return p->pipe->loop;
}

const struct vz_format *vz_port_format(struct vz_sink_port *p)
{
	return p->pipe->src.ops->format(p->pipe->src.impl);
}

unsigned vz_port_buffer_count(struct vz_sink_port *p)
{
	return p->pipe->src.ops->buffer_count(p->pipe->src.impl);
}

const struct vz_buffer *vz_port_buffer(struct vz_sink_port *p, unsigned index)
{
	return p->pipe->src.ops->buffer(p->pipe->src.impl, index);
}

unsigned vz_port_index(struct vz_sink_port *p)
{
	return p->index;
}

static void requeue(struct vz_pipeline *p, unsigned index);

/* Drops one reference; the last one sends the buffer back to the driver,
 * directly on the loop thread, through the wake-up from anywhere else. */
static void frame_unref(struct vz_pipeline *p, struct vz_frame *f)
{
	if (__atomic_sub_fetch(&f->refs, 1, __ATOMIC_ACQ_REL) != 0)
		return;
	if (pthread_equal(pthread_self(), p->loop_thread)) {
		requeue(p, f->info.index);
		return;
	}
	pthread_mutex_lock(&p->lock);
	p->done[p->ndone++] = f->info.index;
	pthread_mutex_unlock(&p->lock);
	vz_loop_wake(p->wake);
}

void vz_port_release(struct vz_sink_port *port, struct vz_frame *f)
{
	struct vz_pipeline *p = port->pipe;
	unsigned bit = 1u << port->index;
	unsigned was = __atomic_fetch_and(&f->sinks_mask, ~bit, __ATOMIC_ACQ_REL);
	if (!(was & bit))
		return; /* a double release would requeue a frame still in use */
	vz_telemetry_mark_release(f->rec, port->index, vz_now_ns());
	__atomic_sub_fetch(&port->inflight, 1, __ATOMIC_ACQ_REL);
	__atomic_add_fetch(&port->released, 1, __ATOMIC_RELAXED);
	frame_unref(p, f);
}

void vz_port_fail(struct vz_sink_port *port, int code, const char *msg)
{
	struct vz_pipeline *p = port->pipe;
	pthread_mutex_lock(&p->lock);
	if (!p->fail_pending) {
		p->fail_pending = true;
		vz_err_clear(&p->fail);
		vz_err_set(&p->fail, code < 0 ? code : -EIO, "sink %s: %s", port->sink.name,
		           msg ? msg : "failed");
		port->failed = true;
	}
	pthread_mutex_unlock(&p->lock);
	if (p->wake)
		vz_loop_wake(p->wake);
}

/* ---- the run ---- */

static void finish(struct vz_pipeline *p, int status)
{
	vz_loop_quit(p->loop, status);
}

static void requeue(struct vz_pipeline *p, unsigned index)
{
	struct vz_frame *f = &p->frames[index];
	if (!p->held[index])
		return;
	p->held[index] = false;
	p->nheld--;
	if (f->rec)
		f->rec->t_requeue = vz_now_ns();
	if (p->recovering)
		return; /* the buffers are about to be reallocated */
	struct vz_err e = {0};
	int r = p->src.ops->queue(p->src.impl, index, &e);
	if (r < 0 && r != -ENODEV && p->state == ST_RUNNING) {
		vz_err_set(&p->err, r, "%s", e.msg);
		finish(p, r);
	}
}

static int sync_planes(const struct vz_buffer *b, uint64_t flags)
{
	for (unsigned i = 0; i < b->num_mem; i++) {
		if (b->mem[i].fd_rw < 0)
			continue;
		struct dma_buf_sync s = {.flags = flags};
		while (ioctl(b->mem[i].fd_rw, DMA_BUF_IOCTL_SYNC, &s) < 0) {
			/* ENOTTY: plain memory (memfd, a test source), no
			 * caches to manage. */
			if (errno == ENOTTY)
				break;
			if (errno != EINTR && errno != EAGAIN)
				return -errno;
		}
	}
	return 0;
}

static int process(struct vz_pipeline *p, struct vz_frame *f)
{
	struct vz_frame_map m;
	struct vz_err e = {0};
	int r = vz_frame_map_init(&m, f->fmt, f->buf, &f->info);
	if (r < 0)
		return vz_err_set(&p->err, r,
		                  "processing: buffer %u has no CPU mapping of every plane",
		                  f->info.index);
	r = sync_planes(f->buf, DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW);
	if (r < 0)
		return vz_err_set(&p->err, r, "processing: DMA_BUF_IOCTL_SYNC start: %s",
		                  strerror(-r));
	for (unsigned i = 0; i < p->nprocs && r >= 0; i++) {
		r = p->procs[i].fn(p->procs[i].ctx, &m, &e);
		if (r < 0)
			vz_err_set(&p->err, r, "processor %s: %s", p->procs[i].name, e.msg);
	}
	/* END must pair with START whatever the processors did. */
	int r2 = sync_planes(f->buf, DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW);
	if (r >= 0 && r2 < 0)
		r = vz_err_set(&p->err, r2, "processing: DMA_BUF_IOCTL_SYNC end: %s",
		               strerror(-r2));
	return r;
}

static void drop_for_sink(struct vz_sink_port *port, struct vz_frame *f, enum vz_drop_cause c)
{
	f->rec->sink_drop[port->index] = (uint8_t)c;
	if (c == VZ_DROP_SINK_BUDGET)
		port->drops_budget++;
	else
		port->drops_failure++;
}

static void fan_out(struct vz_pipeline *p, struct vz_frame *f)
{
	/* Handing the frame on while the driver is short of buffers would
	 * starve capture: drop it for everybody and requeue at once. */
	unsigned queued = p->src.ops->queued(p->src.impl);
	bool starve = queued < p->cfg.min_queued;
	for (unsigned i = 0; i < p->nsinks; i++) {
		struct vz_sink_port *port = &p->ports[i];
		if (port->failed) {
			drop_for_sink(port, f, VZ_DROP_SINK_FAILURE);
			continue;
		}
		int inflight = __atomic_load_n(&port->inflight, __ATOMIC_ACQUIRE);
		if (starve || (unsigned)inflight >= port->budget) {
			drop_for_sink(port, f, VZ_DROP_SINK_BUDGET);
			continue;
		}
		__atomic_add_fetch(&f->refs, 1, __ATOMIC_ACQ_REL);
		__atomic_fetch_or(&f->sinks_mask, 1u << i, __ATOMIC_ACQ_REL);
		inflight = __atomic_add_fetch(&port->inflight, 1, __ATOMIC_ACQ_REL);
		if ((unsigned)inflight > port->inflight_hwm)
			port->inflight_hwm = (unsigned)inflight;
		port->pushed++;
		f->rec->t_handoff[i] = vz_now_ns();
		struct vz_err e = {0};
		int r = port->sink.ops->push(port->sink.impl, f, &e);
		if (r < 0) {
			/* The sink kept nothing: take its reference back. */
			port->pushed--;
			__atomic_fetch_and(&f->sinks_mask, ~(1u << i), __ATOMIC_ACQ_REL);
			__atomic_sub_fetch(&port->inflight, 1, __ATOMIC_ACQ_REL);
			f->rec->t_handoff[i] = 0;
			frame_unref(p, f);
			drop_for_sink(port, f, VZ_DROP_SINK_FAILURE);
			port->failed = true;
			vz_err_set(&p->err, r, "sink %s: %s", port->sink.name,
			           e.msg[0] ? e.msg : strerror(-r));
			finish(p, r);
		}
	}
}

static void deliver(struct vz_pipeline *p, const struct vz_frame_info *fi)
{
	if (fi->index >= VZ_MAX_BUFFERS || p->held[fi->index]) {
		/* The source broke the ownership contract: going on would hand
		 * a buffer to a sink while another still reads it. */
		vz_err_set(&p->err, -EPROTO,
		           "source delivered buffer %u while the pipeline still holds it",
		           fi->index);
		finish(p, -EPROTO);
		return;
	}
	struct vz_frame *f = &p->frames[fi->index];
	f->id = p->nframes;
	f->info = *fi;
	f->fmt = p->src.ops->format(p->src.impl);
	f->buf = p->src.ops->buffer(p->src.impl, fi->index);
	f->pipe = p;
	f->sinks_mask = 0;
	__atomic_store_n(&f->refs, 1, __ATOMIC_RELEASE);
	p->held[fi->index] = true;
	p->nheld++;
	if (p->nheld > p->inflight_hwm)
		p->inflight_hwm = p->nheld;
	f->rec = vz_telemetry_begin(p->tel, fi, p->nheld);
	f->rec->id = f->id;

	if (p->nframes == 0)
		p->t_first = fi->t_dqbuf_ns;
	else if (p->nominal_ns > 0 && fi->t_driver_ns - p->last_driver > p->nominal_ns * 3 / 2)
		p->late++;
	p->last_driver = fi->t_driver_ns;
	p->t_last = fi->t_dqbuf_ns;
	p->nframes++;

	if (p->nprocs) {
		if (process(p, f) < 0) {
			/* A processor that fails would hand sinks a half-written
			 * frame: stop rather than pass it on. */
			frame_unref(p, f);
			finish(p, p->err.code);
			return;
		}
		f->rec->t_processed = vz_now_ns();
	} else {
		f->rec->t_processed = fi->t_dqbuf_ns;
	}
	fan_out(p, f);
	frame_unref(p, f); /* the pipeline's own reference */

	if (p->cfg.max_frames && p->nframes >= p->cfg.max_frames)
		finish(p, 0);
}

static int stop_sinks(struct vz_pipeline *p, struct vz_err *err);
static int start_sinks(struct vz_pipeline *p, struct vz_err *err);
static void drain(struct vz_pipeline *p, int64_t timeout_ns);
static void on_capture(void *data, int fd, uint32_t events);

static void notify(struct vz_pipeline *p, const char *msg)
{
	if (p->cfg.on_event)
		p->cfg.on_event(p->cfg.event_data, msg);
}

/* Disconnect or source change: every frame must come home before the
 * buffers are reallocated, so the sinks stop (and restart after). */
static void recover(struct vz_pipeline *p, int why)
{
	struct vz_err e = {0};
	int r;
	p->recovering = true;
	vz_loop_remove(p->loop, p->src_watch);
	p->src_watch = NULL;
	stop_sinks(p, NULL);
	drain(p, SINK_STOP_TIMEOUT_NS);
	if (p->nheld) {
		r = vz_err_set(&p->err, -EBUSY,
		               "%u frame(s) still held by a sink after it stopped; cannot "
		               "reallocate buffers",
		               p->nheld);
		goto fail;
	}
	if (why == -ENODEV) {
		char msg[96];
		if (p->cfg.reconnect_timeout_ms > 0)
			snprintf(msg, sizeof(msg), "the device is gone; waiting up to %d s for it",
			         p->cfg.reconnect_timeout_ms / 1000);
		else
			snprintf(msg, sizeof(msg),
			         "the device is gone; waiting for it to come back");
		notify(p, msg);
		r = p->src.ops->reconnect(p->src.impl, p->cfg.reconnect_timeout_ms, &e);
		if (r == 0)
			notify(p, "the device is back; resuming");
	} else {
		notify(p, "the source changed format; renegotiating");
		r = p->src.ops->renegotiate(p->src.impl, &e);
	}
	if (r < 0) {
		vz_err_set(&p->err, r, "%s", e.msg);
		goto fail;
	}
	p->nominal_ns = vz_format_interval_ns(p->src.ops->format(p->src.impl));
	p->recovering = false;
	r = start_sinks(p, &e);
	if (r < 0) {
		vz_err_set(&p->err, r, "%s", e.msg);
		goto fail;
	}
	r = vz_loop_add_fd(p->loop, p->src.ops->fd(p->src.impl), EPOLLIN | EPOLLPRI, on_capture, p,
	                   &p->src_watch, &e);
	if (r < 0) {
		vz_err_set(&p->err, r, "%s", e.msg);
		goto fail;
	}
	return;
fail:
	p->recovering = false;
	finish(p, r);
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
		deliver(p, &fi);
		return;
	}
	if (r == 0)
		return;
	if (r == VZ_CAPTURE_FORMAT_CHANGED || (r == -ENODEV && p->cfg.reconnect_timeout_ms >= 0)) {
		recover(p, r);
		return;
	}
	vz_err_set(&p->err, r, "%s", e.msg[0] ? e.msg : strerror(-r));
	finish(p, r);
}

static void on_wake(void *data)
{
	struct vz_pipeline *p = data;
	unsigned done[VZ_MAX_BUFFERS * 2];
	unsigned n;
	bool failed;
	struct vz_err fail;

	pthread_mutex_lock(&p->lock);
	n = p->ndone;
	memcpy(done, p->done, n * sizeof(done[0]));
	p->ndone = 0;
	failed = p->fail_pending;
	fail = p->fail;
	p->fail_pending = false;
	pthread_mutex_unlock(&p->lock);

	for (unsigned i = 0; i < n; i++)
		requeue(p, done[i]);
	if (failed) {
		vz_err_set(&p->err, fail.code, "%s", fail.msg);
		finish(p, fail.code);
	}
}

static void on_deadline(void *data, uint64_t expirations)
{
	(void)expirations;
	finish(data, 0);
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
	/* A record must outlive its frame: never fewer records than frames
	 * that can be out at once. */
	if (p->cfg.telemetry_capacity < 4 * VZ_MAX_BUFFERS)
		p->cfg.telemetry_capacity = 4 * VZ_MAX_BUFFERS;
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

int vz_pipeline_add_sink(struct vz_pipeline *p, struct vz_sink *sink, unsigned budget,
                         struct vz_err *err)
{
	if (p->state != ST_IDLE)
		return vz_err_set(err, -EBUSY, "pipeline: add sinks before starting");
	if (p->nsinks == VZ_MAX_SINKS)
		return vz_err_set(err, -E2BIG, "pipeline: at most %d sinks", VZ_MAX_SINKS);
	struct vz_sink_port *port = &p->ports[p->nsinks];
	memset(port, 0, sizeof(*port));
	port->pipe = p;
	port->index = p->nsinks++;
	port->sink = *sink;
	port->budget = budget ? budget : DEFAULT_BUDGET;
	memset(sink, 0, sizeof(*sink));
	return 0;
}

static int start_sinks(struct vz_pipeline *p, struct vz_err *err)
{
	for (unsigned i = 0; i < p->nsinks; i++) {
		struct vz_sink_port *port = &p->ports[i];
		if (port->started)
			continue;
		int r = port->sink.ops->start(port->sink.impl, port, err);
		if (r < 0) {
			vz_err_prefix(err, "sink %s", port->sink.name);
			return r;
		}
		port->started = true;
		port->failed = false;
	}
	return 0;
}

static int stop_sinks(struct vz_pipeline *p, struct vz_err *err)
{
	int ret = 0;
	for (unsigned i = 0; i < p->nsinks; i++) {
		struct vz_sink_port *port = &p->ports[i];
		if (!port->started)
			continue;
		struct vz_err e = {0};
		int r = port->sink.ops->stop(port->sink.impl, SINK_STOP_TIMEOUT_NS, &e);
		port->started = false;
		if (r < 0 && ret == 0) {
			ret = r;
			vz_err_set(err, r, "sink %s: %s", port->sink.name, e.msg);
		}
	}
	return ret;
}

/* Lets releases that other threads posted reach the loop. */
static void drain(struct vz_pipeline *p, int64_t timeout_ns)
{
	int64_t end = vz_now_ns() + timeout_ns;
	on_wake(p);
	while (p->nheld && vz_now_ns() < end) {
		vz_loop_dispatch(p->loop, 20);
		on_wake(p);
	}
}

int vz_pipeline_start(struct vz_pipeline *p, struct vz_err *err)
{
	int r;
	if (p->state != ST_IDLE)
		return vz_err_set(err, -EBUSY, "pipeline: already started");
	p->loop_thread = pthread_self();
	r = vz_telemetry_create(&p->tel, p->cfg.telemetry_capacity, p->nsinks, err);
	if (r < 0)
		return r;
	r = vz_loop_add_wake(p->loop, on_wake, p, &p->wake, err);
	if (r < 0)
		return r;
	p->nominal_ns = vz_format_interval_ns(p->src.ops->format(p->src.impl));
	r = start_sinks(p, err);
	if (r < 0)
		goto fail;
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
	r = vz_loop_add_fd(p->loop, p->src.ops->fd(p->src.impl), EPOLLIN | EPOLLPRI, on_capture, p,
	                   &p->src_watch, err);
	if (r < 0)
		goto fail_src;
	if (p->cfg.max_duration_ns > 0) {
		r = vz_loop_add_timer(p->loop, p->cfg.max_duration_ns, 0, on_deadline, p,
		                      &p->deadline, err);
		if (r < 0)
			goto fail_src;
	}
	p->state = ST_RUNNING;
	return 0;
fail_src:
	p->src.ops->stop(p->src.impl, NULL);
fail:
	stop_sinks(p, NULL);
	p->state = ST_STOPPED;
	return r;
}

int vz_pipeline_stop(struct vz_pipeline *p, struct vz_err *err)
{
	if (!p || p->state != ST_RUNNING)
		return 0;
	p->state = ST_STOPPED;
	vz_loop_remove(p->loop, p->src_watch);
	p->src_watch = NULL;
	vz_loop_remove(p->loop, p->deadline);
	p->deadline = NULL;
	int r = stop_sinks(p, err);
	drain(p, SINK_STOP_TIMEOUT_NS);
	if (p->nheld && r == 0)
		r = vz_err_set(err, -ETIMEDOUT,
		               "%u frame(s) were never released by the sinks within %lld s",
		               p->nheld, (long long)(SINK_STOP_TIMEOUT_NS / VZ_NSEC_PER_SEC));
	int r2 = p->src.ops->stop(p->src.impl, r < 0 ? NULL : err);
	return r < 0 ? r : r2;
}

void vz_pipeline_destroy(struct vz_pipeline *p)
{
	if (!p)
		return;
	vz_pipeline_stop(p, NULL);
	for (unsigned i = 0; i < p->nsinks; i++)
		vz_sink_destroy(&p->ports[i].sink);
	if (p->wake)
		vz_loop_remove(p->loop, p->wake);
	vz_telemetry_destroy(p->tel);
	pthread_mutex_destroy(&p->lock);
	free(p);
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
	st->nsinks = p->nsinks;
	for (unsigned i = 0; i < p->nsinks; i++) {
		const struct vz_sink_port *port = &p->ports[i];
		struct vz_sink_stats *s = &st->sink[i];
		if (port->sink.ops && port->sink.ops->get_stats)
			port->sink.ops->get_stats(port->sink.impl, s);
		s->frames = port->pushed;
		s->released = __atomic_load_n(&port->released, __ATOMIC_ACQUIRE);
		s->drops_budget = port->drops_budget;
		s->drops_failure += port->drops_failure;
		s->inflight_hwm = port->inflight_hwm;
		snprintf(st->sink_name[i], sizeof(st->sink_name[i]), "%s", port->sink.name);
		st->drops[VZ_DROP_SINK_BUDGET] += s->drops_budget;
		st->drops[VZ_DROP_SINK_FAILURE] += s->drops_failure;
		st->bytes_copied += s->bytes_copied;
	}
}
