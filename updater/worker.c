/*
 * worker.c -- the thread pool of worker.h.
 *
 * One mutex guards both lists: jobs waiting for a thread (FIFO) and jobs
 * finished and waiting for the loop.  A thread that finishes a job moves
 * it to the done list and writes one byte to a pipe; the loop's read event
 * on the other end takes the whole done list and calls each DONE.  The
 * loop alone calls DONE and frees jobs; the threads only call RUN.
 */
#include "worker.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "err.h"
#include "log.h"

struct ddns_worker_job {
	ddns_worker_run run;
	ddns_worker_done done;
	void *arg;
	bool cancelled; /* atomic: set by the loop, read by the threads */
	struct ddns_worker_job *next;
};

struct job_list {
	struct ddns_worker_job *head, *tail;
};

struct ddns_worker {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct job_list waiting, done;
	unsigned pending; /* waiting + running + done, under the mutex */
	bool stop;
	pthread_t threads[DDNS_WORKER_THREADS_MAX];
	unsigned nthreads;
	int pipe[2];
	struct event *ev;
};

static void list_push(struct job_list *l, struct ddns_worker_job *j)
{
	j->next = NULL;
	if (l->tail)
		l->tail->next = j;
	else
		l->head = j;
	l->tail = j;
}

static struct ddns_worker_job *list_pop(struct job_list *l)
{
	struct ddns_worker_job *j = l->head;

	if (j) {
		l->head = j->next;
		if (!l->head)
			l->tail = NULL;
	}
	return j;
}

/* Tell the loop that a job is done.  The pipe cannot fill: it holds at
 * most one byte per pending job (DDNS_WORKER_QUEUE_MAX, far below a pipe's
 * capacity). */
static void wake_loop(ddns_worker *w)
{
	char c = 1;

	while (write(w->pipe[1], &c, 1) < 0 && errno == EINTR)
		;
}

static void *thread_main(void *arg)
{
	ddns_worker *w = arg;
	struct ddns_worker_job *j;

	pthread_mutex_lock(&w->mu);
	for (;;) {
		while (!w->stop && !w->waiting.head)
			pthread_cond_wait(&w->cv, &w->mu);
		if (w->stop)
			break;
		j = list_pop(&w->waiting);
		if (!__atomic_load_n(&j->cancelled, __ATOMIC_RELAXED)) {
			pthread_mutex_unlock(&w->mu);
			j->run(j->arg);
			pthread_mutex_lock(&w->mu);
		}
		list_push(&w->done, j);
		wake_loop(w);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

/* Call DONE for every job of L (taken from the shared lists first). */
static void finish_list(ddns_worker *w, struct job_list *l)
{
	struct ddns_worker_job *j;

	while ((j = list_pop(l)) != NULL) {
		pthread_mutex_lock(&w->mu);
		w->pending--;
		pthread_mutex_unlock(&w->mu);
		j->done(j->arg, j->cancelled);
		free(j);
	}
}

static void on_pipe(evutil_socket_t fd, short what, void *arg)
{
	ddns_worker *w = arg;
	struct job_list l;
	char buf[64];

	while (read(fd, buf, sizeof buf) > 0)
		;
	pthread_mutex_lock(&w->mu);
	l = w->done;
	w->done.head = w->done.tail = NULL;
	pthread_mutex_unlock(&w->mu);
	finish_list(w, &l);
}

ddns_worker *ddns_worker_new(struct event_base *base, unsigned nthreads)
{
	ddns_worker *w;

	if (nthreads == 0 || nthreads > DDNS_WORKER_THREADS_MAX ||
	    !(w = calloc(1, sizeof *w)))
		return NULL;
	w->pipe[0] = w->pipe[1] = -1;
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	if (pipe2(w->pipe, O_NONBLOCK | O_CLOEXEC) != 0 ||
	    !(w->ev = event_new(base, w->pipe[0], EV_READ | EV_PERSIST, on_pipe,
				w)) ||
	    event_add(w->ev, NULL) != 0)
		goto fail;
	for (; w->nthreads < nthreads; w->nthreads++)
		if (pthread_create(&w->threads[w->nthreads], NULL, thread_main,
				   w) != 0)
			goto fail;
	return w;
fail:
	log_err("cannot start the worker threads: %s", strerror(errno));
	ddns_worker_free(w);
	return NULL;
}

void ddns_worker_free(ddns_worker *w)
{
	struct job_list l;

	if (!w)
		return;
	pthread_mutex_lock(&w->mu);
	w->stop = true;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
	for (unsigned i = 0; i < w->nthreads; i++)
		pthread_join(w->threads[i], NULL);
	/* no thread left: the lists are ours */
	for (struct ddns_worker_job *j = w->waiting.head; j; j = j->next)
		j->cancelled = true;
	for (struct ddns_worker_job *j = w->done.head; j; j = j->next)
		j->cancelled = true;
	l = w->done;
	finish_list(w, &l);
	l = w->waiting;
	finish_list(w, &l);
	if (w->ev)
		event_free(w->ev);
	if (w->pipe[0] >= 0)
		close(w->pipe[0]);
	if (w->pipe[1] >= 0)
		close(w->pipe[1]);
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->mu);
	free(w);
}

int ddns_worker_submit(ddns_worker *w, ddns_worker_run run,
		       ddns_worker_done done, void *arg, ddns_worker_job **job)
{
	struct ddns_worker_job *j;

	if (job)
		*job = NULL;
	pthread_mutex_lock(&w->mu);
	if (w->pending >= DDNS_WORKER_QUEUE_MAX) {
		pthread_mutex_unlock(&w->mu);
		return DDNS_EBUSY;
	}
	if (!(j = calloc(1, sizeof *j))) {
		pthread_mutex_unlock(&w->mu);
		return DDNS_ENOMEM;
	}
	j->run = run;
	j->done = done;
	j->arg = arg;
	w->pending++;
	list_push(&w->waiting, j);
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
	if (job)
		*job = j;
	return 0;
}

void ddns_worker_cancel(ddns_worker_job *job)
{
	/* Only the loop thread frees jobs, and it is the caller: JOB is
	 * alive.  A job has no pointer back to its pool's mutex, so the
	 * flag is atomic: a thread that misses it merely runs the job. */
	if (job)
		__atomic_store_n(&job->cancelled, true, __ATOMIC_RELAXED);
}

unsigned ddns_worker_pending(const ddns_worker *w)
{
	unsigned n;

	pthread_mutex_lock((pthread_mutex_t *)&w->mu);
	n = w->pending;
	pthread_mutex_unlock((pthread_mutex_t *)&w->mu);
	return n;
}
