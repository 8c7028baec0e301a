#ifndef ARCA_RING_H
#define ARCA_RING_H
#include <stdint.h>

/// A Linux io_uring used by one thread (an event loop): writes submitted with one system call each, their
/// completions reaped from shared memory. Submitting never blocks the caller: a write the kernel cannot finish
/// at once (into the page cache, without sleeping) goes on in the kernel's own workers, and its completion is
/// announced on the eventfd given at open, which the owner watches (the owner also reaps right after submitting:
/// a write the kernel finished at once is there already). Elsewhere than Linux every call fails with -ENOSYS.
typedef struct arca_ring arca_ring;

/// A new eventfd (non-blocking, close-on-exec) for `arca_ring_open`; -errno on failure.
int arca_ring_eventfd(void);

/// Opens a ring of `entries` submission slots (a power of two) announcing late completions on `eventfd`.
/// Returns 0 and the ring in `*ring`, or -errno (io_uring refused: an old kernel, seccomp, a container).
int arca_ring_open(unsigned entries, int eventfd, arca_ring **ring);

void arca_ring_close(arca_ring *ring);

/// Submits a write of `length` bytes of `buffer` to `fd` at `offset`, tagged `tag`; `durable` 1 makes it a
/// RWF_DSYNC write (complete once the bytes are on the device: on an O_DIRECT descriptor of an allocated range,
/// the write and a device flush, with no thread of ours waiting in either). Returns 0, -EBUSY when every slot is
/// taken (reap first), or -errno of the submission. The buffer must stay valid until the write's completion is
/// reaped.
int arca_ring_write(arca_ring *ring, int fd, const void *buffer, uint32_t length, uint64_t offset, int durable, uint64_t tag);

/// Whether a write can be submitted now (a slot is free).
int arca_ring_has_room(const arca_ring *ring);

/// Reaps up to `max` completions: their tags and results (bytes written, or -errno). Returns how many.
int arca_ring_reap(arca_ring *ring, uint64_t *tags, int32_t *results, int max);

#endif
