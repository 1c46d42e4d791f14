// SPDX-License-Identifier: GPL-2.0
/*
 * lh16_rwsem_cycle: an AB-BA where one side is a reader of an rw_semaphore.
 *   lh16_reader: down_read(lh16_index_sem) -> lh16_commit_mutex
 *   lh16_writer: lh16_commit_mutex -> down_write(lh16_index_sem)
 * The writer's acquisition excludes the reader, so sharing the semaphore for
 * reading does not help: lockdep reports "possible circular locking
 * dependency detected", classes lh16_index_sem and lh16_commit_mutex. The
 * trace marks the first acquisition "read"; whether that reader is recursive
 * does not matter here, because the cycle enters lh16_index_sem as a writer.
 */
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/rwsem.h>
#include "lh_common.h"

static DECLARE_RWSEM(lh16_index_sem);
static DEFINE_MUTEX(lh16_commit_mutex);
static int lh16_generation;

static void lh16_lookup_then_commit(void *unused)
{
	down_read(&lh16_index_sem);
	mutex_lock(&lh16_commit_mutex);
	lh16_generation++;
	mutex_unlock(&lh16_commit_mutex);
	up_read(&lh16_index_sem);
}

static void lh16_commit_then_reindex(void *unused)
{
	mutex_lock(&lh16_commit_mutex);
	down_write(&lh16_index_sem);
	lh16_generation++;
	up_write(&lh16_index_sem);
	mutex_unlock(&lh16_commit_mutex);
}

static int __init lh16_init(void)
{
	lh_note("start");
	lh_in_thread("lh16_reader", lh16_lookup_then_commit, NULL);
	lh_in_thread("lh16_writer", lh16_commit_then_reindex, NULL);
	lh_note("done %d", lh16_generation);
	return 0;
}

static void __exit lh16_exit(void) { }

module_init(lh16_init);
module_exit(lh16_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("lockhound kernel test: rwsem reader in an AB-BA cycle");
