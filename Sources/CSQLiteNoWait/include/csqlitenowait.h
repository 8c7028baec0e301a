#ifndef CSQLITENOWAIT_H
#define CSQLITENOWAIT_H
#include <sqlite3.h>

/// The name of a SQLite VFS that wraps the default one and, while a thread has a no-wait section open,
/// reads with preadv2(RWF_NOWAIT): a page that is not in the page cache makes the read fail instead of
/// waiting for the device. An event loop can then run a short read-only statement itself and hand it to an
/// I/O thread only when it would have waited. Outside a section (any other thread) reads are the default's.
#define ARCA_NOWAIT_VFS "arca-nowait"

/// Registers the VFS (once per process; not as the default). Returns SQLITE_OK or SQLite's error.
int arca_nowait_register(void);

/// Opens a no-wait section on the calling thread.
void arca_nowait_begin(void);

/// Closes it; returns 1 when a read inside it would have waited (the statement failed for that reason).
int arca_nowait_end(void);

/// Whether a read since `arca_nowait_begin` would have waited (the section stays open).
int arca_nowait_blocked(void);

/// Opens `path` read-only through the no-wait VFS, without SQLite's mutexes (the connection has one owner at
/// a time). Returns SQLite's result code; `*db` must be closed with sqlite3_close_v2 either way.
int arca_nowait_open(const char *path, sqlite3 **db);

/// sqlite3_bind_text/blob with SQLITE_TRANSIENT (a macro of a cast Swift cannot import).
int arca_bind_text(sqlite3_stmt *statement, int index, const char *text, int length);
int arca_bind_blob(sqlite3_stmt *statement, int index, const void *bytes, int length);

#endif
