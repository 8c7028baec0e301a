// The file-system work a durable store must do per instance, without any server around it: what the disk
// alone allows. Built and run by scripts/durability-floor.
//   files: a 512 KB file written with O_DIRECT into .incoming/, fdatasync, renamed into place, folder fsync
//   dckv:  the eDCKV spool protocol (EDCKV-FORMAT §5): a hidden instance folder with three small category
//          files and one 512 KB pixel file, all five fsynced at once, the folder renamed visible, parent fsync
//   wal:   the index commit's share: 20 KB rewritten in a preallocated file, fdatasync
//   write: the 512 KB O_DIRECT write alone (a server can overlap it with the transfer)
//   journal: the one-flush protocol: the 512 KB record written with O_DIRECT into a preallocated (zero-filled)
//          segment, then one fdatasync (no size or extent change, so a device flush and no file-system commit)
// `durability-floor FOLDER N BYTES journal` times the journal protocol alone with records of BYTES (rounded up
// to 4 KiB, as O_DIRECT needs): scripts/bench-ingest's floor, for the size of instance it sends.
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

enum { SMALL = 3000, WAL = 20 * 1024 };
static int BIG = 512 * 1024;
enum { SEGMENT = 64 * 1024 * 1024 };
static char *big;
static char small[SMALL], wal[WAL];

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static void check(int ok, const char *what) {
    if (!ok) { perror(what); exit(1); }
}

static void *sync_one(void *fd) {
    check(fsync((int)(long)fd) == 0, "fsync");
    return NULL;
}

static void store_file(const char *root, int dirfd, int i) {
    char tmp[4096], dst[4096];
    snprintf(tmp, sizeof tmp, "%s/.incoming/.part-%d", root, i);
    snprintf(dst, sizeof dst, "%s/f%d.dcm", root, i);
    int fd = open(tmp, O_CREAT | O_WRONLY | O_EXCL | O_DIRECT, 0644);
    check(fd >= 0, "open");
    check(pwrite(fd, big, BIG, 0) == BIG, "pwrite");
    check(fdatasync(fd) == 0, "fdatasync");
    close(fd);
    check(rename(tmp, dst) == 0, "rename");
    check(fsync(dirfd) == 0, "fsync dir");
}

static void store_dckv(const char *root, int dirfd, int i) {
    char hidden[4096], visible[4096], path[4200];
    snprintf(hidden, sizeof hidden, "%s/.i%d", root, i);
    snprintf(visible, sizeof visible, "%s/i%d", root, i);
    check(mkdir(hidden, 0755) == 0, "mkdir");
    int fds[5];
    for (int k = 0; k < 3; k++) {
        snprintf(path, sizeof path, "%s/s%d", hidden, k);
        fds[k] = open(path, O_CREAT | O_WRONLY | O_EXCL, 0644);
        check(fds[k] >= 0 && write(fds[k], small, SMALL) == SMALL, "small file");
    }
    snprintf(path, sizeof path, "%s/pixels", hidden);
    fds[3] = open(path, O_CREAT | O_WRONLY | O_EXCL | O_DIRECT, 0644);
    check(fds[3] >= 0 && pwrite(fds[3], big, BIG, 0) == BIG, "pixel file");
    fds[4] = open(hidden, O_RDONLY | O_DIRECTORY);
    check(fds[4] >= 0, "open hidden");
    pthread_t threads[5];
    for (int k = 0; k < 5; k++) pthread_create(&threads[k], NULL, sync_one, (void *)(long)fds[k]);
    for (int k = 0; k < 5; k++) pthread_join(threads[k], NULL);
    for (int k = 0; k < 5; k++) close(fds[k]);
    check(rename(hidden, visible) == 0, "rename");
    check(fsync(dirfd) == 0, "fsync parent");
}

static void write_only(const char *root, int i) {
    char path[4096];
    snprintf(path, sizeof path, "%s/w%d", root, i);
    int fd = open(path, O_CREAT | O_WRONLY | O_EXCL | O_DIRECT, 0644);
    check(fd >= 0 && pwrite(fd, big, BIG, 0) == BIG, "write");
    close(fd);
}

static double journal_flush;

static void journal_record(int segfd, int i) {
    off_t at = (off_t)(i % (SEGMENT / (BIG + 4096))) * (BIG + 4096);
    check(pwrite(segfd, big, BIG, at) == BIG, "journal write");
    double a = now();
    check(fdatasync(segfd) == 0, "journal fdatasync");
    journal_flush += now() - a;
}

// The other one-flush option: the bytes written with O_DIRECT into a preallocated data file (later renamed
// into place, so they reach the device once in all), a 4 KB record naming it in the journal, one fdatasync
// of the journal (a device flush: it covers the data file's completed O_DIRECT writes too).
static double named_flush;

static void named_record(int datafd, int segfd, int i) {
    off_t at = (off_t)(i % 64) * BIG;
    check(pwrite(datafd, big, BIG, at) == BIG, "data write");
    check(pwrite(segfd, big, 4096, (off_t)(SEGMENT - 4096 * (1 + i % 64))) == 4096, "record write");
    double a = now();
    check(fdatasync(segfd) == 0, "journal fdatasync");
    named_flush += now() - a;
}

static void commit_wal(int walfd, int i) {
    check(pwrite(walfd, wal, WAL, (off_t)(i % 200) * WAL) == WAL, "wal");
    check(fdatasync(walfd) == 0, "wal fdatasync");
}

// The journal protocol alone: a preallocated segment, then per instance one record's O_DIRECT write and one
// fdatasync. Prints the same "journal record … of which one flush …" phrase as the full run.
static int journal_only(const char *base, int n) {
    char segpath[4200];
    snprintf(segpath, sizeof segpath, "%s/segment", base);
    int segfd = open(segpath, O_CREAT | O_RDWR | O_DIRECT, 0644);
    check(segfd >= 0, "open segment");
    for (off_t at = 0; at + BIG <= SEGMENT; at += BIG) check(pwrite(segfd, big, BIG, at) == BIG, "fill segment");
    check(fsync(segfd) == 0, "fsync segment");
    double t = 0;
    for (int i = 0; i < n; i++) {
        double a = now();
        journal_record(segfd, i);
        t += now() - a;
    }
    printf("per instance of %d bytes: journal record %.3f ms of which one flush %.3f ms\n", BIG, t / n * 1e3,
           journal_flush / n * 1e3);
    close(segfd);
    return 0;
}

int main(int argc, char **argv) {
    if (argc != 3 && !(argc == 5 && strcmp(argv[4], "journal") == 0)) {
        fprintf(stderr, "usage: durability-floor FOLDER N [BYTES journal]\n");
        return 2;
    }
    const char *base = argv[1];
    int n = atoi(argv[2]);
    if (argc == 5) {
        long bytes = atol(argv[3]);
        if (bytes < 1 || bytes > SEGMENT / 4) { fprintf(stderr, "durability-floor: BYTES from 1 to %d\n", SEGMENT / 4); return 2; }
        BIG = (int)((bytes + 4095) / 4096 * 4096);
    }
    check(posix_memalign((void **)&big, 4096, BIG) == 0, "memalign");
    memset(big, 7, BIG); memset(small, 3, SMALL); memset(wal, 5, WAL);
    if (argc == 5) return journal_only(base, n);
    char files[4096], dckv[4096], incoming[4200], walpath[4200];
    snprintf(files, sizeof files, "%s/files", base);
    snprintf(dckv, sizeof dckv, "%s/dckv", base);
    snprintf(incoming, sizeof incoming, "%s/.incoming", files);
    snprintf(walpath, sizeof walpath, "%s/wal", base);
    check(mkdir(files, 0755) == 0 && mkdir(incoming, 0755) == 0 && mkdir(dckv, 0755) == 0, "mkdir");
    int filesfd = open(files, O_RDONLY | O_DIRECTORY), dckvfd = open(dckv, O_RDONLY | O_DIRECTORY);
    int walfd = open(walpath, O_CREAT | O_RDWR, 0644);
    check(filesfd >= 0 && dckvfd >= 0 && walfd >= 0, "open");
    for (int i = 0; i < 200; i++) check(pwrite(walfd, wal, WAL, (off_t)i * WAL) == WAL, "wal");
    check(fsync(walfd) == 0, "fsync wal");
    char segpath[4200];
    snprintf(segpath, sizeof segpath, "%s/segment", base);
    int segfd = open(segpath, O_CREAT | O_RDWR | O_DIRECT, 0644);
    check(segfd >= 0, "open segment");
    for (off_t at = 0; at < SEGMENT; at += BIG) check(pwrite(segfd, big, BIG, at) == BIG, "fill segment");
    check(fsync(segfd) == 0, "fsync segment");
    snprintf(segpath, sizeof segpath, "%s/datafiles", base);
    int datafd = open(segpath, O_CREAT | O_RDWR | O_DIRECT, 0644);
    check(datafd >= 0, "open data");
    for (off_t at = 0; at < 64 * BIG; at += BIG) check(pwrite(datafd, big, BIG, at) == BIG, "fill data");
    check(fsync(datafd) == 0, "fsync data");
    // Alternating, so a drift of the disk's speed touches both alike.
    double tf = 0, td = 0, tw = 0, tx = 0, tj = 0, tn = 0;
    for (int i = 0; i < n; i++) {
        double a = now();
        store_file(files, filesfd, i);
        double b = now();
        store_dckv(dckv, dckvfd, i);
        double c = now();
        commit_wal(walfd, i);
        double d = now();
        write_only(base, i);
        double e = now();
        journal_record(segfd, i);
        double g = now();
        named_record(datafd, segfd, i);
        tn += now() - g;
        tj += g - e; tx += e - d; tw += d - c; td += c - b; tf += b - a;
    }
    printf("per instance: files %.3f ms, dckv spool %.3f ms, index WAL commit %.3f ms, data write alone %.3f ms, "
           "journal record %.3f ms of which one flush %.3f ms, preallocated data file + journal record %.3f ms of which "
           "one flush %.3f ms\n", tf / n * 1e3, td / n * 1e3, tw / n * 1e3, tx / n * 1e3,
           tj / n * 1e3, journal_flush / n * 1e3, tn / n * 1e3, named_flush / n * 1e3);
    return 0;
}
