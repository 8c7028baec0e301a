#define _GNU_SOURCE
#include <fcntl.h>
#include <errno.h>
#include <stdio.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/syscall.h>
#endif
#include "carcaio.h"

int arca_start_writeback(int fd, int64_t offset, int64_t length) {
#ifdef __linux__
    return sync_file_range(fd, offset, length, SYNC_FILE_RANGE_WRITE);
#else
    (void)fd; (void)offset; (void)length;
    return 0;
#endif
}

int arca_exchange(const char *a, const char *b) {
#if defined(__linux__) && defined(SYS_renameat2)
    return (int)syscall(SYS_renameat2, AT_FDCWD, a, AT_FDCWD, b, 2 /* RENAME_EXCHANGE */);
#else
    (void)a; (void)b;
    errno = ENOSYS;
    return -1;
#endif
}

int arca_rename_noreplace(const char *from, const char *to) {
#if defined(__linux__) && defined(SYS_renameat2)
    return (int)syscall(SYS_renameat2, AT_FDCWD, from, AT_FDCWD, to, 1 /* RENAME_NOREPLACE */);
#else
    (void)from; (void)to;
    errno = ENOSYS;
    return -1;
#endif
}

int arca_create_direct(const char *path, int mode) {
#ifdef O_DIRECT
    return open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_DIRECT, mode);
#else
    (void)path; (void)mode;
    errno = EINVAL;
    return -1;
#endif
}

int arca_set_direct(int fd, int on) {
#ifdef O_DIRECT
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0) return -1;
    return fcntl(fd, F_SETFL, on ? (flags | O_DIRECT) : (flags & ~O_DIRECT));
#else
    (void)fd; (void)on;
    return 0;
#endif
}

int arca_open_segment(const char *path, int create) {
    int flags = O_RDWR | O_CLOEXEC | (create ? (O_CREAT | O_EXCL) : 0);
#ifdef O_DIRECT
    int fd = open(path, flags | O_DIRECT, 0644);
    if (fd >= 0 || errno != EINVAL) return fd;
#endif
    return open(path, flags, 0644);
}

int arca_syncfs(int fd) {
#ifdef __linux__
    return syncfs(fd);
#else
    return fsync(fd);
#endif
}

void arca_shared_add(uint64_t *counter, uint64_t value) {
    __atomic_fetch_add(counter, value, __ATOMIC_SEQ_CST);
}

uint64_t arca_shared_load(const uint64_t *counter) {
    return __atomic_load_n(counter, __ATOMIC_SEQ_CST);
}

#ifdef __linux__
/* The kernel's struct sched_attr (sched_setattr(2), SCHED_ATTR_SIZE_VER1); older glibc declares neither it nor
   the calls, so the syscalls are made directly. */
struct arca_sched_attr {
    uint32_t size, sched_policy;
    uint64_t sched_flags;
    int32_t sched_nice;
    uint32_t sched_priority;
    uint64_t sched_runtime, sched_deadline, sched_period;
    uint32_t sched_util_min, sched_util_max;
};
#define ARCA_SCHED_FLAG_RESET_ON_FORK 0x01
#endif

int arca_request_slice(uint64_t nanoseconds) {
#ifdef __linux__
    /* What this thread asked for, and the answer: asked once, whatever the answer (a kernel or a security
       policy that refuses is not asked again for every work item). */
    static __thread uint64_t requested = 0;
    static __thread int answer = 0;
    if (requested == nanoseconds) return answer;
    requested = nanoseconds;
    struct arca_sched_attr attr = {0};
    /* Read first: only the slice changes (a nice value or a real-time policy set by the administrator stays). */
    if (syscall(SYS_sched_getattr, 0, &attr, (unsigned) sizeof attr, 0) != 0) return answer = errno;
    if (attr.sched_policy != 0 /* SCHED_OTHER */) return answer = 0;
    attr.size = sizeof attr;
    /* Reset on fork: a thread this one creates (a Dispatch worker, a hook's process) starts with the default
       slice instead of inheriting the short one unknown to it. */
    attr.sched_flags = ARCA_SCHED_FLAG_RESET_ON_FORK;
    attr.sched_runtime = nanoseconds;
    if (syscall(SYS_sched_setattr, 0, &attr, 0) != 0) return answer = errno;
    return answer = 0;
#else
    (void) nanoseconds;
    return 0;
#endif
}

uint64_t arca_current_slice(void) {
#ifdef __linux__
    struct arca_sched_attr attr = {0};
    if (syscall(SYS_sched_getattr, 0, &attr, (unsigned) sizeof attr, 0) != 0) return 0;
    return attr.sched_policy == 0 ? attr.sched_runtime : 0;
#else
    return 0;
#endif
}
