/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Shared by lockhound's kernel test modules (tests/kernel/modules).
 *
 * Each module plays one locking scenario from module_init and returns only
 * when every thread and timer it started is done, so that the trace window
 * the guest opens around insmod holds the whole scenario. The scenarios never
 * hang the VM: the "deadlocks" are orders lockdep proves possible, not ones
 * that happen, because the conflicting critical sections never overlap.
 */
#ifndef LH_COMMON_H
#define LH_COMMON_H

#include <linux/completion.h>
#include <linux/err.h>
#include <linux/hrtimer.h>
#include <linux/jiffies.h>
#include <linux/kernel.h>
#include <linux/kthread.h>
#include <linux/ktime.h>
#include <linux/sched.h>
#include <linux/timer.h>

/* Progress lines: the host finds them in console.log (never in a report). */
#define lh_note(fmt, ...) \
	pr_info("LOCKDEP-TEST " KBUILD_MODNAME ": " fmt "\n", ##__VA_ARGS__)

struct lh_job {
	void (*body)(void *arg);
	void *arg;
	struct completion finished;
};

static int lh_job_main(void *data)
{
	struct lh_job *job = data;

	job->body(job->arg);
	/* exits without returning into module text that may go away */
	kthread_complete_and_exit(&job->finished, 0);
}

/*
 * Runs body(arg) in a new kernel thread named @comm and waits for it: a
 * separate task, so each side of an inversion shows up under its own pid in
 * lockdep's report and in the trace.
 */
static inline int lh_in_thread(const char *comm, void (*body)(void *), void *arg)
{
	struct lh_job job = { .body = body, .arg = arg };
	struct task_struct *task;

	init_completion(&job.finished);
	task = kthread_run(lh_job_main, &job, "%s", comm);
	if (IS_ERR(task))
		return PTR_ERR(task);
	wait_for_completion(&job.finished);
	return 0;
}

/*
 * Runs body(arg) once in hardirq context (an hrtimer in HARD mode fires
 * from the timer interrupt, also on PREEMPT_RT) and waits for it.
 */
struct lh_hardirq_call {
	struct hrtimer timer;
	void (*body)(void *arg);
	void *arg;
	struct completion finished;
};

static inline enum hrtimer_restart lh_hardirq_fire(struct hrtimer *timer)
{
	struct lh_hardirq_call *call = container_of(timer, struct lh_hardirq_call, timer);

	call->body(call->arg);
	complete(&call->finished);
	return HRTIMER_NORESTART;
}

static inline void lh_in_hardirq(void (*body)(void *), void *arg)
{
	struct lh_hardirq_call call = { .body = body, .arg = arg };

	init_completion(&call.finished);
	hrtimer_init_on_stack(&call.timer, CLOCK_MONOTONIC, HRTIMER_MODE_REL_HARD);
	call.timer.function = lh_hardirq_fire;
	hrtimer_start(&call.timer, ns_to_ktime(300 * NSEC_PER_USEC), HRTIMER_MODE_REL_HARD);
	wait_for_completion(&call.finished);
	/* waits for the callback to have left the timer */
	hrtimer_cancel(&call.timer);
	destroy_hrtimer_on_stack(&call.timer);
}

/* The same in softirq context: a timer_list callback runs from TIMER_SOFTIRQ. */
struct lh_softirq_call {
	struct timer_list timer;
	void (*body)(void *arg);
	void *arg;
	struct completion finished;
};

static inline void lh_softirq_fire(struct timer_list *timer)
{
	struct lh_softirq_call *call = from_timer(call, timer, timer);

	call->body(call->arg);
	complete(&call->finished);
}

static inline void lh_in_softirq(void (*body)(void *), void *arg)
{
	struct lh_softirq_call call = { .body = body, .arg = arg };

	init_completion(&call.finished);
	timer_setup_on_stack(&call.timer, lh_softirq_fire, 0);
	mod_timer(&call.timer, jiffies + 1);
	wait_for_completion(&call.finished);
	del_timer_sync(&call.timer);
	destroy_timer_on_stack(&call.timer);
}

#endif /* LH_COMMON_H */
