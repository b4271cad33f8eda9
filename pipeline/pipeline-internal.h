/* SPDX-License-Identifier: MIT */
/*
 * Private to pipeline/: the pipeline object that pipeline.c (ownership and
 * flow) and recover.c (buffer negotiation, reconnect, renegotiation) share.
 */
#ifndef VZ_PIPELINE_INTERNAL_H
#define VZ_PIPELINE_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "pipeline.h"

#define WAIT_MAX (2 * VZ_MAX_BUFFERS)

struct pset;

/* One buffer of one set, as a frame.  Lives in its pset, so a frame of a
 * retired set keeps its slot (and its set) until it comes home. */
struct pframe {
	struct vz_frame pub;
	struct vz_pipeline *p;
	struct pset *ps;
	int refs;                        /* atomic */
	unsigned sinks_mask;             /* atomic: sinks still holding it */
	int64_t t_release[VZ_MAX_SINKS]; /* atomic stores by the releasing thread */
	int64_t t_shown[VZ_MAX_SINKS];   /* atomic stores, vz_port_shown() */
	bool out;                        /* out of the driver (loop thread) */
	struct pframe *next_done;        /* the done list, under the lock */
};

/* The pipeline's side of one buffer set. */
struct pset {
	struct vz_buffer_set *set; /* one reference */
	uint32_t generation;
	unsigned out; /* frames of this set out of the driver */
	bool current;
	struct pset *next;
	struct pframe frames[VZ_MAX_BUFFERS];
};

struct processor {
	char name[32];
	vz_process_fn fn;
	void *ctx;
};

struct port {
	struct vz_sink_port pub; /* what the sink sees */
	struct vz_pipeline *p;
	struct vz_sink sink;
	unsigned budget;
	enum vz_sink_policy policy;
	bool started;
	bool failed;        /* loop thread's view of failed_posted, or a push failure */
	bool failed_posted; /* under the lock */
	bool ended;         /* loop thread's view of ended_posted */
	bool ended_posted;  /* under the lock */
	char ended_msg[256];
	bool stopping, stopped; /* under the lock */
	int inflight;           /* atomic: pushed, not yet released */
	uint64_t released;      /* atomic */
	unsigned inflight_hwm;
	uint64_t pushed;
	uint64_t accepted; /* pushed or waiting: what counts toward -n */
	uint64_t drops_budget, drops_failure, drops_ended;
	/* record policy: frames waiting for budget, oldest first */
	struct pframe *wait[WAIT_MAX];
	unsigned wait_head, nwait;
};

enum state {
	ST_IDLE,
	ST_RUNNING,
	ST_STOPPING,
	ST_STOPPED,
};

struct vz_pipeline {
	struct vz_pipeline_config cfg;
	struct vz_source src;
	struct vz_loop *loop;
	struct vz_loop_source *src_watch, *wake, *deadline, *watchdog, *retry;
	struct vz_telemetry *tel;
	pthread_t loop_thread;
	enum state state;

	struct pset *psets; /* every set with frames out, the current first */
	struct pset *cur;
	unsigned nheld; /* frames out of the driver, all sets */
	char buffers[256], buffers_note[320];

	struct processor procs[8];
	unsigned nprocs;
	struct port ports[VZ_MAX_SINKS];
	unsigned nsinks;
	bool kick; /* atomic: a record sink has room again */

	pthread_mutex_t lock; /* guards done, fail, ports' posted state, detached */
	struct pframe *done;
	bool fail_pending;
	struct vz_err fail;
	bool detached; /* destroyed while a broken sink holds frames */
	unsigned detached_out;

	/* recovery */
	bool recovering;
	int64_t reconnect_deadline;
	int64_t t_gone, t_resumed;
	uint64_t recoveries;
	int64_t last_resume_ns, last_outage_ns;

	struct vz_err err; /* why the run stopped */
	uint64_t nframes;
	uint64_t late;
	uint64_t records_lost; /* frames held past the telemetry ring */
	unsigned inflight_hwm;
	int64_t t_first, t_last, last_driver, t_progress;
	int64_t nominal_ns, stall_ns;
	struct vz_source_stats wd_last;
};

/* pipeline.c */
struct pset *vz_pipeline_pset_new(struct vz_pipeline *p, struct vz_buffer_set *set);
void vz_pipeline_pset_retire(struct vz_pipeline *p, struct pset *ps);
void vz_pipeline_requeue(struct vz_pipeline *p, struct pframe *f);
void vz_pipeline_deliver(struct vz_pipeline *p, const struct vz_frame_info *fi);
void vz_pipeline_finish(struct vz_pipeline *p, int status);
/* Record sinks' waiting frames go out now, over budget (a set change is
 * about to reach the sinks). */
void vz_pipeline_flush_waiting(struct vz_pipeline *p);
void vz_pipeline_notify(struct vz_pipeline *p, const char *msg);
int vz_pipeline_watch_source(struct vz_pipeline *p, struct vz_err *err);

/* recover.c */
/* Buffers for the source's current format: a sink's if one provides them
 * and the source takes them, else the source's own; then p->cur. */
int vz_pipeline_negotiate_buffers(struct vz_pipeline *p, struct vz_err *err);
void vz_pipeline_device_gone(struct vz_pipeline *p, const char *why);
void vz_pipeline_renegotiate(struct vz_pipeline *p);
void vz_pipeline_recovery_cancel(struct vz_pipeline *p);
/* Sink @except said -EXDEV to the current set (sink.h), its reason in
 * @err: that is told (on_event) and @err cleared, buffers negotiated again,
 * providers asked once more, the started sinks (but @except, which the
 * caller hands the set itself) told of the new set.  Source stopped. */
int vz_pipeline_offer_again(struct vz_pipeline *p, unsigned except, struct vz_err *err);

#endif
