/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* parallel.h — one thread budget for the whole process.
 *
 * Every network in the process shares one pool of helper threads (one per
 * core but the caller's) and one budget of "cores": a thread computes only
 * while it holds one. A forward pass holds one for its own thread
 * (attn_parallel_enter/leave); helpers take the free ones to split its
 * matrix products. So one stream gets every core, N streams get one each
 * and never oversubscribe the machine, whatever each asked for — and
 * nobody touches OpenBLAS's process-wide thread count, which stays 1.
 *
 * A thread's own limit (the element's `threads`) is thread-local: set it
 * before the work it applies to. Nothing here allocates per call; the pool
 * is created on first use. Plain C11 + pthreads. */
#ifndef ATTN_PARALLEL_H
#define ATTN_PARALLEL_H

/* The cores the process budget holds (the machine's online CPUs). */
int attn_parallel_cores (void);

/* This thread's limit for the parallel work it starts: at most n threads
 * (itself included) on it; 0 or more than the cores: every core. */
void attn_parallel_set_threads (int n);
/* The limit in effect for this thread (1..cores); 1 inside a task of
 * attn_parallel_for (work is split once, at the outermost level). */
int attn_parallel_threads (void);

/* Takes one core of the process budget for this thread, waiting while all
 * are taken; leave gives it back. Calls nest (only the outermost counts). */
void attn_parallel_enter (void);
void attn_parallel_leave (void);

/* Runs fn(ctx, i) for i in 0..n-1, on this thread and on helpers that find
 * a free core, at most attn_parallel_threads() threads in all; returns when
 * all are done. Any i may run on any of them, in any order. */
void attn_parallel_for (int n, void (*fn) (void *ctx, int i), void *ctx);

/* Statistics for tests: tasks run by helpers since the process started. */
long attn_parallel_helper_tasks (void);

#endif
