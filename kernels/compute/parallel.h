/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* parallel.h — one thread budget for the whole process.
 *
 * Every network in the process shares one pool of helper threads (one per
 * core but the caller's) and one budget: the machine's cores. A forward
 * pass counts against it while it runs (attn_parallel_enter/leave), and a
 * helper joins a pass's work only while fewer threads compute than there
 * are cores. So one stream gets every core; N streams run one thread each
 * (their own, which GStreamer gives them anyway) and no helper adds to
 * them, whatever each asked for — and nobody touches OpenBLAS's
 * process-wide thread count, which stays 1. Forward passes never wait for
 * the budget: with more streams than cores the kernel's scheduler shares
 * the cores between them, which keeps every core busy.
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

/* Counts this thread as computing against the process budget until leave
 * (helpers stay out while the count reaches the cores). Never waits. Calls
 * nest (only the outermost counts). */
void attn_parallel_enter (void);
void attn_parallel_leave (void);

/* Runs fn(ctx, i) for i in 0..n-1, on this thread and on helpers that find
 * a free core, at most attn_parallel_threads() threads in all; returns when
 * all are done. i = 0 runs on this thread, first; any other i may run on
 * any of them, in any order. */
void attn_parallel_for (int n, void (*fn) (void *ctx, int i), void *ctx);

/* Runs fn(ctx, lo, hi) over [0, n) cut into contiguous ranges of at least
 * `grain` items (one range when n < 2·grain), at most one per thread the
 * caller may use, as attn_parallel_for does. */
void attn_parallel_range (int n, int grain,
                          void (*fn) (void *ctx, int lo, int hi), void *ctx);

/* How many pieces to cut n equal items into for attn_parallel_for on
 * `threads` threads, at most `max`: 1 on one thread, else 4 per thread.
 * Equal shares, one per thread, balance only when every core runs at the
 * same speed; with several per thread, one on a slower core (a busy one,
 * a VM's vCPU the host has taken, an efficiency core) leaves the rest of
 * its work to the others, which take pieces as they finish theirs. */
int attn_parallel_pieces (int n, int threads, int max);

/* Statistics for tests: tasks run by helpers since the process started. */
long attn_parallel_helper_tasks (void);

#endif
