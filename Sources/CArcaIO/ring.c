#include "ring.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#if defined(__linux__)
#include <linux/fs.h>
#include <linux/io_uring.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

struct arca_ring {
    int fd;
    unsigned entries;
    unsigned *sq_head, *sq_tail, *sq_mask, *sq_array;
    unsigned *cq_head, *cq_tail, *cq_mask;
    struct io_uring_sqe *sqes;
    struct io_uring_cqe *cqes;
    void *sq_map, *cq_map;
    size_t sq_map_length, cq_map_length, sqes_length;
    /// Submitted and not yet reaped: at most `entries`, so the completion queue (twice as long) never fills.
    unsigned in_flight;
};

static void unmap(arca_ring *r) {
    if (r->sqes && r->sqes != MAP_FAILED) munmap(r->sqes, r->sqes_length);
    if (r->cq_map && r->cq_map != MAP_FAILED && r->cq_map != r->sq_map) munmap(r->cq_map, r->cq_map_length);
    if (r->sq_map && r->sq_map != MAP_FAILED) munmap(r->sq_map, r->sq_map_length);
}

int arca_ring_eventfd(void) {
    int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    return fd < 0 ? -errno : fd;
}

int arca_ring_open(unsigned entries, int eventfd, arca_ring **ring) {
    struct io_uring_params p;
    memset(&p, 0, sizeof p);
    int fd = (int)syscall(__NR_io_uring_setup, entries, &p);
    if (fd < 0) return -errno;
    arca_ring *r = calloc(1, sizeof *r);
    if (!r) { close(fd); return -ENOMEM; }
    r->fd = fd;
    r->entries = p.sq_entries;
    r->sq_map_length = p.sq_off.array + p.sq_entries * sizeof(unsigned);
    r->cq_map_length = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
    int single = (p.features & IORING_FEAT_SINGLE_MMAP) != 0;
    if (single && r->cq_map_length > r->sq_map_length) r->sq_map_length = r->cq_map_length;
    r->sq_map = mmap(0, r->sq_map_length, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_SQ_RING);
    if (r->sq_map == MAP_FAILED) goto fail;
    r->cq_map = single ? r->sq_map
                       : mmap(0, r->cq_map_length, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_CQ_RING);
    if (r->cq_map == MAP_FAILED) goto fail;
    r->sqes_length = p.sq_entries * sizeof(struct io_uring_sqe);
    r->sqes = mmap(0, r->sqes_length, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_SQES);
    if (r->sqes == MAP_FAILED) goto fail;
    char *sq = r->sq_map, *cq = r->cq_map;
    r->sq_head = (unsigned *)(sq + p.sq_off.head);
    r->sq_tail = (unsigned *)(sq + p.sq_off.tail);
    r->sq_mask = (unsigned *)(sq + p.sq_off.ring_mask);
    r->sq_array = (unsigned *)(sq + p.sq_off.array);
    r->cq_head = (unsigned *)(cq + p.cq_off.head);
    r->cq_tail = (unsigned *)(cq + p.cq_off.tail);
    r->cq_mask = (unsigned *)(cq + p.cq_off.ring_mask);
    r->cqes = (struct io_uring_cqe *)(cq + p.cq_off.cqes);
    if (eventfd >= 0 && syscall(__NR_io_uring_register, fd, IORING_REGISTER_EVENTFD, &eventfd, 1) < 0) goto fail;
    *ring = r;
    return 0;
fail:;
    int e = errno ? errno : ENOMEM;
    unmap(r);
    close(fd);
    free(r);
    return -e;
}

void arca_ring_close(arca_ring *r) {
    if (!r) return;
    unmap(r);
    close(r->fd);
    free(r);
}

int arca_ring_has_room(const arca_ring *r) { return r->in_flight < r->entries; }

int arca_ring_write(arca_ring *r, int fd, const void *buffer, uint32_t length, uint64_t offset, int durable, uint64_t tag) {
    if (r->in_flight >= r->entries) return -EBUSY;
    unsigned tail = *r->sq_tail;
    unsigned index = tail & *r->sq_mask;
    struct io_uring_sqe *sqe = &r->sqes[index];
    memset(sqe, 0, sizeof *sqe);
    sqe->opcode = IORING_OP_WRITE;
    sqe->fd = fd;
    sqe->addr = (uint64_t)(uintptr_t)buffer;
    sqe->len = length;
    sqe->off = offset;
    sqe->rw_flags = durable ? RWF_DSYNC : 0;
    sqe->user_data = tag;
    r->sq_array[index] = index;
    __atomic_store_n(r->sq_tail, tail + 1, __ATOMIC_RELEASE);
    for (;;) {
        long n = syscall(__NR_io_uring_enter, r->fd, 1, 0, 0, NULL, 0);
        if (n == 1) break;
        if (n < 0 && errno == EINTR) continue;
        // Not taken: withdraw it (nothing else submits on this ring).
        int e = n < 0 ? errno : EAGAIN;
        __atomic_store_n(r->sq_tail, tail, __ATOMIC_RELEASE);
        return -e;
    }
    r->in_flight++;
    return 0;
}

int arca_ring_reap(arca_ring *r, uint64_t *tags, int32_t *results, int max) {
    unsigned head = *r->cq_head;
    unsigned tail = __atomic_load_n(r->cq_tail, __ATOMIC_ACQUIRE);
    int n = 0;
    while (head != tail && n < max) {
        struct io_uring_cqe *cqe = &r->cqes[head & *r->cq_mask];
        tags[n] = cqe->user_data;
        results[n] = cqe->res;
        n++;
        head++;
    }
    __atomic_store_n(r->cq_head, head, __ATOMIC_RELEASE);
    r->in_flight -= (unsigned)n;
    return n;
}

#else

int arca_ring_eventfd(void) { return -ENOSYS; }
int arca_ring_open(unsigned entries, int eventfd, arca_ring **ring) { (void)entries; (void)eventfd; (void)ring; return -ENOSYS; }
void arca_ring_close(arca_ring *ring) { (void)ring; }
int arca_ring_has_room(const arca_ring *ring) { (void)ring; return 0; }
int arca_ring_write(arca_ring *ring, int fd, const void *buffer, uint32_t length, uint64_t offset, int durable, uint64_t tag) {
    (void)ring; (void)fd; (void)buffer; (void)length; (void)offset; (void)durable; (void)tag; return -ENOSYS;
}
int arca_ring_reap(arca_ring *ring, uint64_t *tags, int32_t *results, int max) {
    (void)ring; (void)tags; (void)results; (void)max; return 0;
}

#endif
