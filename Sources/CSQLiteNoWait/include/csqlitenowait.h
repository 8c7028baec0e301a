#ifndef CSQLITENOWAIT_H
#define CSQLITENOWAIT_H
#include <stdint.h>
#include <sqlite3.h>

/// The name of a SQLite VFS that wraps the default one and, while a thread has a no-wait section open,
/// reads with preadv2(RWF_NOWAIT): a page that is not in the page cache makes the read fail instead of
/// waiting for the device. An event loop can then run a short read-only statement itself and hand it to an
/// I/O thread only when it would have waited. Outside a section (any other thread) reads are the default's.
#define ARCA_NOWAIT_VFS "arca-nowait"

/// Registers the VFS (once per process; not as the default). Returns SQLITE_OK or SQLite's error.
int arca_nowait_register(void);

/// Opens a no-wait section on the calling thread, for at most `budget_ns` nanoseconds: a statement of a
/// connection opened here that runs past it is interrupted (its progress handler), and the section counts
/// as blocked, like a read that would have waited. Writes (a spilled sort) and sleeps fail the same way.
void arca_nowait_begin(int64_t budget_ns);

/// Closes it; returns 1 when something inside it would have waited or ran out of time (the statement failed
/// for that reason).
int arca_nowait_end(void);

/// Whether something since `arca_nowait_begin` would have waited (the section stays open).
int arca_nowait_blocked(void);

/// Opens `path` read-only through the no-wait VFS, without SQLite's mutexes (the connection has one owner at
/// a time), with the progress handler that enforces a section's budget. Returns SQLite's result code; `*db`
/// must be closed with sqlite3_close_v2 either way.
int arca_nowait_open(const char *path, sqlite3 **db);

/// Whether no-wait reads work for the main database of `db` (its descriptor was found and the kernel and file
/// system take RWF_NOWAIT): without them every query would fail its no-wait attempt.
int arca_nowait_usable(sqlite3 *db);

/// sqlite3_bind_text with SQLITE_TRANSIENT (a macro of a cast Swift cannot import); the text ends at its first
/// NUL, as GRDB binds it, so both ways of reading match the same values.
int arca_bind_text(sqlite3_stmt *statement, int index, const char *text);

#endif
