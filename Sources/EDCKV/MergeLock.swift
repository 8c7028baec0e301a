import Archive
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The one-merger-per-archive lock (§5): an exclusive `flock` on `<root>/spool/.merge.lock`, held while
/// the file stays open. The kernel drops it when the holder exits, however it exits.
public final class MergeLock: Sendable {
    private let fd: Int32

    private init(fd: Int32) { self.fd = fd }

    /// The lock if no other process (or other holder in this one) has it; nil otherwise.
    public static func tryAcquire(_ layout: StudyLayout) throws -> MergeLock? {
        try FS.createDurably(layout.spoolRoot)
        let fd = open(layout.lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw IncomingFile.error("open", layout.lockPath, errno) }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            close(fd)
            return nil
        }
        return MergeLock(fd: fd)
    }

    deinit { close(fd) }
}
