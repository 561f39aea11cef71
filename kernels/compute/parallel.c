/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* parallel.c — see parallel.h.
 *
 * Jobs waiting for hands sit in a list under the pool's lock. A helper
 * joins a job only while fewer threads compute than there are cores
 * (forward passes inside attn_parallel_enter/leave count, helpers count
 * themselves), takes task indices from the job's atomic counter until none
 * are left, then stops counting. The caller runs task 0 itself, then
 * takes indices too, so a job finishes even when no helper can join; it
 * then unlinks the job (no helper joins after that) and waits
 * for the helpers still running one of its tasks. Jobs live on the caller's
 * stack: nothing is allocated per call.
 *
 * Waking a sleeping thread costs tens of microseconds in a VM (a 2 × 70 µs
 * job took 115 µs on average on 2 threads, 140 µs on one), which a forward
 * pass pays at every one of its jobs: twice — the helper's wake-up, then
 * the caller's when it finished its share first. So both wait by spinning
 * first, for SPIN_NS: a helper for the next job after it finished one, a
 * caller for its helpers; then they sleep as before. */
#define _GNU_SOURCE
#include "parallel.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <unistd.h>

#include "blas.h"

#include <time.h>

#define SPIN_NS 200000

typedef struct Job {
  void (*fn) (void *ctx, int i);
  void *ctx;
  int n;
  atomic_int next;              /* the next task index to hand out */
  int max_helpers;              /* under the lock */
  atomic_int helpers;           /* helpers running its tasks now (changed
                                 * under the lock; the caller spins on it) */
  struct Job *prev, *link;      /* the list of jobs open to helpers */
} Job;

static struct {
  pthread_once_t once;
  pthread_mutex_t lock;
  pthread_cond_t work;          /* helpers: a job or a core appeared */
  pthread_cond_t idle;          /* callers: a helper left their job */
  int cores;
  int busy;                     /* threads computing: entered + helpers */
  Job *jobs;
  atomic_int posted;            /* jobs posted (wrapping): helpers spin on it */
  atomic_long helper_tasks;
} pool = {
  .once = PTHREAD_ONCE_INIT,
  .lock = PTHREAD_MUTEX_INITIALIZER,
  .work = PTHREAD_COND_INITIALIZER,
  .idle = PTHREAD_COND_INITIALIZER,
};

/* Initial-exec: static TLS, no __tls_get_addr and no lazily allocated
 * block per thread, even in the dlopen()ed plugin — whose helper threads
 * live until the process exits, where LeakSanitizer's stop-the-world
 * crashed on their dynamic TLS. */
#define ATTN_TLS _Thread_local __attribute__ ((tls_model ("initial-exec")))
static ATTN_TLS int tl_threads;         /* 0: every core */
static ATTN_TLS int tl_in_task;         /* inside a task: no nested split */
static ATTN_TLS int tl_depth;           /* enter() nesting */

static int
count_cores (void)
{
  cpu_set_t set;
  if (sched_getaffinity (0, sizeof set, &set) == 0 && CPU_COUNT (&set) > 0)
    return CPU_COUNT (&set);
  long n = sysconf (_SC_NPROCESSORS_ONLN);
  return n > 0 ? (int) n : 1;
}

/* A job a helper may join, or NULL; with the lock held. */
static Job *
open_job (void)
{
  for (Job *j = pool.jobs; j; j = j->link)
    if (j->helpers < j->max_helpers
        && atomic_load_explicit (&j->next, memory_order_relaxed) < j->n)
      return j;
  return NULL;
}

static long
now_ns (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (long) ts.tv_sec * 1000000000L + ts.tv_nsec;
}

static inline void
cpu_relax (void)
{
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause ();
#endif
}

/* Spins up to SPIN_NS until *a differs from v; true if it did. */
static bool
spin_while (atomic_int *a, int v)
{
  long end = now_ns () + SPIN_NS;
  for (int k = 0;; k++) {
    if (atomic_load_explicit (a, memory_order_acquire) != v)
      return true;
    cpu_relax ();
    if ((k & 63) == 63 && now_ns () > end)
      return false;
  }
}

static void
run_tasks (Job *j, bool helper)
{
  int i;
  while ((i = atomic_fetch_add_explicit (&j->next, 1,
              memory_order_relaxed)) < j->n) {
    tl_in_task++;
    j->fn (j->ctx, i);
    tl_in_task--;
    if (helper)
      atomic_fetch_add_explicit (&pool.helper_tasks, 1, memory_order_relaxed);
  }
}

static void *
helper_main (void *arg)
{
  (void) arg;
  pthread_mutex_lock (&pool.lock);
  bool ran = false;              /* finished a job since it last waited */
  for (;;) {
    Job *j = pool.busy < pool.cores ? open_job () : NULL;
    if (!j) {
      /* after a job, watch for the next one a while before sleeping
       * (not when woken with nothing to do, nor while every core is busy:
       * then it could not join one anyway) */
      bool spin = ran && pool.busy < pool.cores;
      ran = false;
      if (!spin) {
        pthread_cond_wait (&pool.work, &pool.lock);
        continue;
      }
      int seen = atomic_load (&pool.posted);
      pthread_mutex_unlock (&pool.lock);
      spin_while (&pool.posted, seen);
      pthread_mutex_lock (&pool.lock);
      continue;
    }
    pool.busy++;
    atomic_fetch_add (&j->helpers, 1);
    pthread_mutex_unlock (&pool.lock);
    run_tasks (j, true);
    pthread_mutex_lock (&pool.lock);
    pool.busy--;
    /* the last access to j: its caller may return as soon as this is 0 */
    if (atomic_fetch_sub (&j->helpers, 1) == 1)
      pthread_cond_broadcast (&pool.idle);
    ran = true;
  }
  return NULL;
}

static void
pool_init (void)
{
  pool.cores = count_cores ();
  /* the pool splits the matrix products: OpenBLAS itself stays on the
   * calling thread (its thread count is process-wide) */
  attn_blas_set_threads (1);
  pthread_attr_t attr;
  pthread_attr_init (&attr);
  pthread_attr_setdetachstate (&attr, PTHREAD_CREATE_DETACHED);
  for (int i = 1; i < pool.cores; i++) {
    pthread_t t;
    if (pthread_create (&t, &attr, helper_main, NULL) != 0)
      break;                    /* fewer helpers: still correct */
  }
  pthread_attr_destroy (&attr);
}

int
attn_parallel_cores (void)
{
  pthread_once (&pool.once, pool_init);
  return pool.cores;
}

void
attn_parallel_set_threads (int n)
{
  tl_threads = n < 0 ? 0 : n;
}

int
attn_parallel_threads (void)
{
  int cores = attn_parallel_cores ();
  if (tl_in_task)
    return 1;                   /* the split happened one level up */
  return tl_threads <= 0 || tl_threads > cores ? cores : tl_threads;
}

void
attn_parallel_enter (void)
{
  if (tl_depth++ > 0)
    return;
  pthread_once (&pool.once, pool_init);
  pthread_mutex_lock (&pool.lock);
  pool.busy++;
  pthread_mutex_unlock (&pool.lock);
}

void
attn_parallel_leave (void)
{
  if (tl_depth <= 0 || --tl_depth > 0)
    return;
  pthread_mutex_lock (&pool.lock);
  if (--pool.busy < pool.cores && pool.jobs)
    pthread_cond_broadcast (&pool.work);
  pthread_mutex_unlock (&pool.lock);
}

void
attn_parallel_for (int n, void (*fn) (void *ctx, int i), void *ctx)
{
  int limit = n > 1 ? attn_parallel_threads () : 1;
  if (limit <= 1) {
    for (int i = 0; i < n; i++)
      fn (ctx, i);
    return;
  }
  Job j = { .fn = fn, .ctx = ctx, .n = n,
    .max_helpers = (limit - 1 < n - 1 ? limit - 1 : n - 1) };
  atomic_init (&j.next, 1);     /* task 0 is the caller's (below) */
  atomic_init (&j.helpers, 0);
  pthread_mutex_lock (&pool.lock);
  j.link = pool.jobs;
  if (pool.jobs)
    pool.jobs->prev = &j;
  pool.jobs = &j;
  atomic_fetch_add (&pool.posted, 1);
  if (pool.busy < pool.cores)
    pthread_cond_broadcast (&pool.work);
  pthread_mutex_unlock (&pool.lock);

  /* task 0 always on the calling thread: a split into per-thread shares
   * then gives every pass's first share to the same core, which keeps the
   * lines it writes in its own cache for the next pass */
  tl_in_task++;
  fn (ctx, 0);
  tl_in_task--;
  run_tasks (&j, false);

  pthread_mutex_lock (&pool.lock);
  if (j.prev)
    j.prev->link = j.link;
  else
    pool.jobs = j.link;
  if (j.link)
    j.link->prev = j.prev;
  if (atomic_load (&j.helpers) > 0) {
    /* a helper still runs a task: spin for it, then sleep */
    pthread_mutex_unlock (&pool.lock);
    while (atomic_load (&j.helpers) > 0
           && spin_while (&j.helpers, atomic_load (&j.helpers)))
      ;
    pthread_mutex_lock (&pool.lock);
    while (atomic_load (&j.helpers) > 0)
      pthread_cond_wait (&pool.idle, &pool.lock);
  }
  pthread_mutex_unlock (&pool.lock);
}

int
attn_parallel_pieces (int n, int threads, int max)
{
  int k = threads > 1 ? 4 * threads : 1;
  k = k < max ? k : max;
  k = k < n ? k : n;
  return k > 1 ? k : 1;
}

typedef struct {
  void (*fn) (void *ctx, int lo, int hi);
  void *ctx;
  int n, chunk;
} Range;

static void
range_task (void *ctx, int i)
{
  const Range *r = ctx;
  int lo = i * r->chunk, hi = lo + r->chunk < r->n ? lo + r->chunk : r->n;
  r->fn (r->ctx, lo, hi);
}

void
attn_parallel_range (int n, int grain, void (*fn) (void *ctx, int lo, int hi),
                     void *ctx)
{
  if (n <= 0)
    return;
  int t = attn_parallel_threads ();
  grain = grain < 1 ? 1 : grain;
  int tasks = n / grain < t ? n / grain : t;
  if (tasks <= 1) {
    fn (ctx, 0, n);
    return;
  }
  Range r = { fn, ctx, n, (n + tasks - 1) / tasks };
  attn_parallel_for ((n + r.chunk - 1) / r.chunk, range_task, &r);
}

long
attn_parallel_helper_tasks (void)
{
  return atomic_load (&pool.helper_tasks);
}
