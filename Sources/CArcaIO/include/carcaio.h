#ifndef CARCAIO_H
#define CARCAIO_H
#include <stdint.h>

/// Starts writeback of a file range without waiting for it (Linux sync_file_range with
/// SYNC_FILE_RANGE_WRITE); a no-op returning 0 elsewhere. Glibc's Swift module does not export it.
int arca_start_writeback(int fd, int64_t offset, int64_t length);

/// Swaps two paths atomically (Linux renameat2 with RENAME_EXCHANGE): a study directory is replaced by its
/// new version in one step. Returns -1 with errno ENOSYS where unsupported.
int arca_exchange(const char *a, const char *b);
/// Renames `from` to `to` unless `to` exists (renameat2 RENAME_NOREPLACE): -1 with errno EEXIST then.
int arca_rename_noreplace(const char *from, const char *to);

/// Creates `path` exclusively for writing with O_DIRECT (the bytes go from the caller's aligned buffer to the
/// device, skipping the page cache). Returns -1 with errno EINVAL where the file system refuses O_DIRECT.
int arca_create_direct(const char *path, int mode);

/// Turns O_DIRECT on (1) or off (0) for an open descriptor: an unaligned tail is written through the cache.
int arca_set_direct(int fd, int on);

/// Opens (or creates exclusively, `create` 1) an ingest journal segment for reading and writing with O_DIRECT,
/// or without it where the file system refuses O_DIRECT (tmpfs).
int arca_open_segment(const char *path, int create);

/// Flushes the whole file system holding `fd` (Linux syncfs): the journal's checkpoint makes a batch of
/// materialized files, their folders and the index's WAL durable in one call.
int arca_syncfs(int fd);

/// Adds to a 64-bit counter that several processes share through a MAP_SHARED mapping (sequentially
/// consistent); Swift's own atomics do not reach memory another process writes.
void arca_shared_add(uint64_t *counter, uint64_t value);

/// Reads such a counter.
uint64_t arca_shared_load(const uint64_t *counter);

/// Asks the kernel to run the calling thread in slices of `nanoseconds` (Linux 6.12+ EEVDF: a thread with a
/// shorter slice preempts the running one when it wakes; 100 µs is the least the kernel takes), with
/// SCHED_FLAG_RESET_ON_FORK so threads it creates start with the default. Asked once per thread and value (a
/// thread-local remembers it and the answer, a refusal too), so calling it at the start of each work item costs
/// nothing after the first. Returns 0, or the errno of sched_getattr/sched_setattr; a no-op elsewhere, for a
/// thread not SCHED_OTHER, and on older kernels, which ignore the slice of a SCHED_OTHER thread.
int arca_request_slice(uint64_t nanoseconds);

/// The calling thread's slice in nanoseconds (sched_getattr's sched_runtime for a SCHED_OTHER thread, Linux
/// 6.12+); 0 where the kernel does not report one.
uint64_t arca_current_slice(void);

#endif
