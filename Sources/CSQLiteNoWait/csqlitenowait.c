#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include "csqlitenowait.h"

// Why a wrapper and not a VFS of our own: locking, the WAL index in shared memory and every other detail stay
// SQLite's own code; only reads change, and only inside a section.

static _Thread_local int section_open;
static _Thread_local int section_blocked;
static _Thread_local int64_t section_deadline;

static int64_t now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

void arca_nowait_begin(int64_t budget_ns) {
    section_open = 1;
    section_blocked = 0;
    int64_t now = now_ns();
    section_deadline = budget_ns <= 0 ? now : (budget_ns > INT64_MAX - now ? INT64_MAX : now + budget_ns);
}
int arca_nowait_end(void) {
    int blocked = section_blocked;
    section_open = 0;
    section_blocked = 0;
    return blocked;
}
int arca_nowait_blocked(void) { return section_blocked; }

/// Every thousand virtual-machine instructions (some microseconds): a statement inside a section that ran out of time stops
/// (SQLITE_INTERRUPT) instead of holding the event loop (a scan of a whole table, a large offset, a sort).
static int progress(void *unused) {
    (void)unused;
    if (!section_open || now_ns() < section_deadline) return 0;
    section_blocked = 1;
    return 1;
}

/// One open file: our methods, the descriptor reads use, and the wrapped file right after this struct.
typedef struct NoWaitFile {
    sqlite3_file base;
    /// The wrapped file's descriptor, or -1 (not found): every read inside a section then counts as blocked.
    int fd;
    sqlite3_file *real;
} NoWaitFile;

static sqlite3_vfs *real_vfs(sqlite3_vfs *vfs) { return (sqlite3_vfs *)vfs->pAppData; }
static sqlite3_file *real_file(sqlite3_file *file) { return ((NoWaitFile *)file)->real; }

static int nw_read(sqlite3_file *file, void *buffer, int amount, sqlite3_int64 offset) {
    NoWaitFile *f = (NoWaitFile *)file;
    if (!section_open) return f->real->pMethods->xRead(f->real, buffer, amount, offset);
    if (f->fd < 0 || amount < 0) { section_blocked = 1; return SQLITE_IOERR_READ; }
    struct iovec vector = { buffer, (size_t)amount };
    ssize_t got = preadv2(f->fd, &vector, 1, offset, RWF_NOWAIT);
    if (got == amount) return SQLITE_OK;
    if (got >= 0) {
        // Short: the end of the file (SQLite's short-read contract: the rest zeroed), or pages not cached.
        struct stat status;
        if (fstat(f->fd, &status) == 0 && offset + got >= status.st_size) {
            memset((char *)buffer + got, 0, (size_t)(amount - got));
            return SQLITE_IOERR_SHORT_READ;
        }
    }
    // EAGAIN (not cached), EOPNOTSUPP (no RWF_NOWAIT here) or a real error: the I/O thread's rerun, reading
    // the ordinary way, meets the real error if there is one.
    section_blocked = 1;
    return SQLITE_IOERR_READ;
}

static int nw_close(sqlite3_file *file) {
    sqlite3_file *real = real_file(file);
    return real->pMethods ? real->pMethods->xClose(real) : SQLITE_OK;
}
// A read-only connection writes only temporary files (temp_store is MEMORY on these connections, so not even
// those); inside a section any write, truncation or sync would be a blocking call on the event loop: refused.
static int nw_write(sqlite3_file *file, const void *buffer, int amount, sqlite3_int64 offset) {
    if (section_open) { section_blocked = 1; return SQLITE_IOERR_WRITE; }
    return real_file(file)->pMethods->xWrite(real_file(file), buffer, amount, offset);
}
static int nw_truncate(sqlite3_file *file, sqlite3_int64 size) {
    if (section_open) { section_blocked = 1; return SQLITE_IOERR_TRUNCATE; }
    return real_file(file)->pMethods->xTruncate(real_file(file), size);
}
static int nw_sync(sqlite3_file *file, int flags) {
    if (section_open) { section_blocked = 1; return SQLITE_IOERR_FSYNC; }
    return real_file(file)->pMethods->xSync(real_file(file), flags);
}
static int nw_file_size(sqlite3_file *file, sqlite3_int64 *size) {
    return real_file(file)->pMethods->xFileSize(real_file(file), size);
}
static int nw_lock(sqlite3_file *file, int level) { return real_file(file)->pMethods->xLock(real_file(file), level); }
static int nw_unlock(sqlite3_file *file, int level) { return real_file(file)->pMethods->xUnlock(real_file(file), level); }
static int nw_check_reserved(sqlite3_file *file, int *out) {
    return real_file(file)->pMethods->xCheckReservedLock(real_file(file), out);
}
static int nw_file_control(sqlite3_file *file, int op, void *arg) {
    return real_file(file)->pMethods->xFileControl(real_file(file), op, arg);
}
static int nw_sector_size(sqlite3_file *file) { return real_file(file)->pMethods->xSectorSize(real_file(file)); }
static int nw_device_characteristics(sqlite3_file *file) {
    return real_file(file)->pMethods->xDeviceCharacteristics(real_file(file));
}
static int nw_shm_map(sqlite3_file *file, int page, int size, int extend, void volatile **out) {
    sqlite3_file *real = real_file(file);
    if (real->pMethods->iVersion < 2 || !real->pMethods->xShmMap) return SQLITE_IOERR_SHMMAP;
    return real->pMethods->xShmMap(real, page, size, extend, out);
}
static int nw_shm_lock(sqlite3_file *file, int offset, int n, int flags) {
    // Once a section is blocked (SQLite wanted to sleep between retries of a WAL read), a new lock fails at once
    // instead of letting SQLite retry up to a hundred times without sleeping; unlocks always go through.
    if (section_open && section_blocked && (flags & SQLITE_SHM_LOCK)) return SQLITE_IOERR_SHMLOCK;
    return real_file(file)->pMethods->xShmLock(real_file(file), offset, n, flags);
}
static void nw_shm_barrier(sqlite3_file *file) { real_file(file)->pMethods->xShmBarrier(real_file(file)); }
static int nw_shm_unmap(sqlite3_file *file, int delete) {
    return real_file(file)->pMethods->xShmUnmap(real_file(file), delete);
}
static int nw_fetch(sqlite3_file *file, sqlite3_int64 offset, int amount, void **out) {
    // No memory-mapped pages (mmap_size is 0 on these connections, and a mapped page could fault): every page
    // goes through nw_read.
    (void)file; (void)offset; (void)amount;
    *out = 0;
    return SQLITE_OK;
}
static int nw_unfetch(sqlite3_file *file, sqlite3_int64 offset, void *page) {
    (void)file; (void)offset; (void)page;
    return SQLITE_OK;
}

static const sqlite3_io_methods methods = {
    3, nw_close, nw_read, nw_write, nw_truncate, nw_sync, nw_file_size, nw_lock, nw_unlock, nw_check_reserved,
    nw_file_control, nw_sector_size, nw_device_characteristics, nw_shm_map, nw_shm_lock, nw_shm_barrier,
    nw_shm_unmap, nw_fetch, nw_unfetch,
};

/// The descriptor of a file opened by SQLite's unix VFS: its `unixFile` begins with the methods, the VFS, the
/// inode and then the descriptor (unchanged since SQLite 3.7). The guess is checked against the file's own
/// device and inode; a wrong guess only sends every read of the file to the I/O thread.
static int descriptor_of(sqlite3_file *real, const char *path) {
    struct unix_file_head { const sqlite3_io_methods *methods; sqlite3_vfs *vfs; void *inode; int fd; };
    if (!path) return -1;
    int fd = ((struct unix_file_head *)real)->fd;
    struct stat byDescriptor, byPath;
    if (fd < 0 || fstat(fd, &byDescriptor) != 0 || stat(path, &byPath) != 0) return -1;
    if (byDescriptor.st_dev != byPath.st_dev || byDescriptor.st_ino != byPath.st_ino) return -1;
    return fd;
}

static int nw_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *file, int flags, int *outFlags) {
    NoWaitFile *f = (NoWaitFile *)file;
    f->real = (sqlite3_file *)(f + 1);
    f->fd = -1;
    f->base.pMethods = 0;
    sqlite3_vfs *real = real_vfs(vfs);
    int rc = real->xOpen(real, name, f->real, flags, outFlags);
    if (rc != SQLITE_OK) {
        if (f->real->pMethods) f->real->pMethods->xClose(f->real);
        return rc;
    }
    if (strcmp(real->zName, "unix") == 0) f->fd = descriptor_of(f->real, name);
    // A read updates the file's access time (relatime: the first read after each commit changes the WAL's
    // mtime), and RWF_NOWAIT does not cover that: the inode update can wait behind the file system's journal.
    // The server owns its index; where it does not, the flag is refused and reads update atime as before.
    if (f->fd >= 0) {
        int status = fcntl(f->fd, F_GETFL);
        if (status >= 0) (void)fcntl(f->fd, F_SETFL, status | O_NOATIME);
    }
    f->base.pMethods = &methods;
    return SQLITE_OK;
}

static int nw_delete(sqlite3_vfs *vfs, const char *name, int syncDir) {
    return real_vfs(vfs)->xDelete(real_vfs(vfs), name, syncDir);
}
static int nw_access(sqlite3_vfs *vfs, const char *name, int flags, int *out) {
    return real_vfs(vfs)->xAccess(real_vfs(vfs), name, flags, out);
}
static int nw_full_pathname(sqlite3_vfs *vfs, const char *name, int size, char *out) {
    return real_vfs(vfs)->xFullPathname(real_vfs(vfs), name, size, out);
}
static void *nw_dl_open(sqlite3_vfs *vfs, const char *name) { return real_vfs(vfs)->xDlOpen(real_vfs(vfs), name); }
static void nw_dl_error(sqlite3_vfs *vfs, int size, char *out) { real_vfs(vfs)->xDlError(real_vfs(vfs), size, out); }
static void (*nw_dl_sym(sqlite3_vfs *vfs, void *handle, const char *symbol))(void) {
    return real_vfs(vfs)->xDlSym(real_vfs(vfs), handle, symbol);
}
static void nw_dl_close(sqlite3_vfs *vfs, void *handle) { real_vfs(vfs)->xDlClose(real_vfs(vfs), handle); }
static int nw_randomness(sqlite3_vfs *vfs, int size, char *out) {
    return real_vfs(vfs)->xRandomness(real_vfs(vfs), size, out);
}
// SQLite sleeps between retries of a WAL read it could not begin (another connection's recovery, contended read
// marks): inside a section it must not. The section is marked blocked, the next shared-memory lock fails
// (nw_shm_lock), the read gives up, and the I/O thread runs the query.
static int nw_sleep(sqlite3_vfs *vfs, int microseconds) {
    if (section_open) { section_blocked = 1; return 0; }
    return real_vfs(vfs)->xSleep(real_vfs(vfs), microseconds);
}
static int nw_current_time(sqlite3_vfs *vfs, double *out) { return real_vfs(vfs)->xCurrentTime(real_vfs(vfs), out); }
static int nw_last_error(sqlite3_vfs *vfs, int size, char *out) {
    return real_vfs(vfs)->xGetLastError(real_vfs(vfs), size, out);
}
static int nw_current_time_int64(sqlite3_vfs *vfs, sqlite3_int64 *out) {
    sqlite3_vfs *real = real_vfs(vfs);
    if (real->iVersion >= 2 && real->xCurrentTimeInt64) return real->xCurrentTimeInt64(real, out);
    double now = 0;
    int rc = real->xCurrentTime(real, &now);
    *out = (sqlite3_int64)(now * 86400000.0);
    return rc;
}

static sqlite3_vfs vfs;
static int registered = SQLITE_ERROR;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void register_once(void) {
    sqlite3_vfs *real = sqlite3_vfs_find(0);
    if (!real) return;
    vfs = (sqlite3_vfs){
        2, (int)(sizeof(NoWaitFile) + (size_t)real->szOsFile), real->mxPathname, 0, ARCA_NOWAIT_VFS, real,
        nw_open, nw_delete, nw_access, nw_full_pathname, nw_dl_open, nw_dl_error, nw_dl_sym, nw_dl_close,
        nw_randomness, nw_sleep, nw_current_time, nw_last_error, nw_current_time_int64,
    };
    registered = sqlite3_vfs_register(&vfs, 0);
}

int arca_nowait_register(void) {
    pthread_once(&once, register_once);
    return registered;
}

int arca_nowait_open(const char *path, sqlite3 **db) {
    int rc = arca_nowait_register();
    if (rc != SQLITE_OK) { *db = 0; return rc; }
    rc = sqlite3_open_v2(path, db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, ARCA_NOWAIT_VFS);
    if (rc == SQLITE_OK) sqlite3_progress_handler(*db, 1000, progress, 0);
    return rc;
}

int arca_nowait_usable(sqlite3 *db) {
    sqlite3_file *file = 0;
    if (sqlite3_file_control(db, "main", SQLITE_FCNTL_FILE_POINTER, &file) != SQLITE_OK || !file) return 0;
    if (file->pMethods != &methods) return 0;
    NoWaitFile *f = (NoWaitFile *)file;
    if (f->fd < 0) return 0;
    char byte;
    struct iovec vector = { &byte, 1 };
    // EAGAIN (not cached yet) is fine; EOPNOTSUPP or EINVAL means this kernel or file system has no such reads.
    if (preadv2(f->fd, &vector, 1, 0, RWF_NOWAIT) < 0 && (errno == EOPNOTSUPP || errno == EINVAL || errno == ENOSYS)) return 0;
    return 1;
}

int arca_bind_text(sqlite3_stmt *statement, int index, const char *text) {
    return sqlite3_bind_text(statement, index, text, -1, SQLITE_TRANSIENT);
}
