/*
 * worker.h -- a small pool of threads for CPU-heavy work (password
 * hashing: scrypt takes tens of milliseconds and 32 MiB) that must not
 * stall the event loop serving dyndns2 updates.
 *
 * A job's RUN function runs on a worker thread; its DONE function then
 * runs on the event loop's thread.  RUN must touch nothing the loop uses
 * (no store, no libevent): it gets its own argument only.  Results travel
 * back through a pipe watched by the loop, so libevent needs no thread
 * support.
 */
#ifndef DDNS_WORKER_H
#define DDNS_WORKER_H

#include <stdbool.h>

struct event_base;
typedef struct ddns_worker ddns_worker;
typedef struct ddns_worker_job ddns_worker_job;

#define DDNS_WORKER_THREADS_MAX 8
#define DDNS_WORKER_QUEUE_MAX	64 /* jobs waiting or running */

/* Runs on a worker thread. */
typedef void (*ddns_worker_run)(void *arg);
/* Runs on the loop thread after RUN; CANCELLED when ddns_worker_cancel
 * was called first (the caller only frees ARG then).  Called exactly
 * once per accepted job, never from inside ddns_worker_submit. */
typedef void (*ddns_worker_done)(void *arg, bool cancelled);

/*
 * A pool of NTHREADS (1..DDNS_WORKER_THREADS_MAX) threads whose results
 * come back on BASE.  NULL when a thread, the pipe or memory fails.
 */
ddns_worker *ddns_worker_new(struct event_base *base, unsigned nthreads);

/*
 * Stop the threads (the running jobs finish; waiting ones do not run) and
 * call every job's DONE with CANCELLED true, then free W.  Call from the
 * loop thread.  NULL is accepted.
 */
void ddns_worker_free(ddns_worker *w);

/*
 * Queue a job.  0 (and *JOB, may be NULL, a handle valid until DONE
 * starts), or DDNS_EBUSY when DDNS_WORKER_QUEUE_MAX jobs are pending,
 * DDNS_ENOMEM: then neither function is called.
 */
int ddns_worker_submit(ddns_worker *w, ddns_worker_run run,
		       ddns_worker_done done, void *arg, ddns_worker_job **job);

/* Ask for DONE to get CANCELLED (RUN may still run or have run).  NULL is
 * accepted. */
void ddns_worker_cancel(ddns_worker_job *job);

/* Jobs queued or running, for the logs and tests. */
unsigned ddns_worker_pending(const ddns_worker *w);

#endif
