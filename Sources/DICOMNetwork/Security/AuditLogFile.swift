import Dispatch
import Foundation
import Logging
#if canImport(Glibc)
import Glibc
#endif

/// Audit records appended to a file, one JSON line each, by a serial queue of its own (the callers are event
/// loops and the cooperative pool, which must not wait on a write). Each record is one `write` to a file
/// opened with O_APPEND, so lines from several processes sharing the file do not interleave. Not fsynced:
/// like ATNA's syslog transport, the trail is a record of activity, not a durable ledger; losing the last
/// lines of a crash is accepted, slowing every C-STORE by an fsync is not.
public final class AuditLogFile: AuditTrail, @unchecked Sendable {
    // @unchecked: `descriptor` is used only on `queue` once init has returned.
    private var descriptor: Int32
    private let path: String
    private let queue = DispatchQueue(label: "arca.audit")
    private let logger: Logger

    public init(path: String, logger: Logger) throws {
        self.path = path
        self.logger = logger
        descriptor = try Self.open(path)
        var st = stat()
        if fstat(descriptor, &st) == 0, st.st_mode & 0o007 != 0 {
            logger.warning("[AUDIT] \(path) can be read or written by any user (mode \(String(st.st_mode & 0o777, radix: 8))): chmod o-rwx it")
        }
    }

    /// O_NOFOLLOW: a symbolic link planted at the path does not send the trail elsewhere.
    private static func open(_ path: String) throws -> Int32 {
        let fd = Glibc.open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0o640)
        guard fd >= 0 else { throw AuditLogError("cannot open the audit log \(path): \(String(cString: strerror(errno)))") }
        return fd
    }

    deinit { close(descriptor) }

    public func record(_ record: AuditRecord) {
        let line = Array((record.jsonLine + "\n").utf8)
        queue.async { [self] in
            reopenIfRotated()
            let written = line.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
            if written != line.count { logger.error("[AUDIT] audit log write failed: \(String(cString: strerror(errno)))") }
        }
    }

    /// A rotation (logrotate renames the file, and a new one is made or not) is followed: the descriptor kept
    /// writing into the renamed file until the server restarted. One `stat` a record, on the trail's own queue.
    private func reopenIfRotated() {
        var atPath = stat(), open = stat()
        guard fstat(descriptor, &open) == 0 else { return }
        if stat(path, &atPath) == 0, atPath.st_ino == open.st_ino, atPath.st_dev == open.st_dev { return }
        do {
            let fd = try Self.open(path)
            close(descriptor)
            descriptor = fd
        } catch {
            logger.error("[AUDIT] \(error): records go on into the file it replaced")
        }
    }

    /// Waits until every record given so far is written (tests, shutdown).
    public func flush() {
        queue.sync {}
    }
}

/// Audit records to the local syslog (facility authpriv, as ATNA's syslog transport would carry them).
public final class SyslogAuditTrail: AuditTrail, Sendable {
    private let queue = DispatchQueue(label: "arca.audit.syslog")

    public init() {
        // openlog keeps the pointer: the identity must outlive the process's use of syslog.
        openlog(strdup("arca"), LOG_PID | LOG_NDELAY, LOG_AUTHPRIV)
    }

    public func record(_ record: AuditRecord) {
        let line = record.jsonLine
        queue.async {
            line.withCString { text in
                withVaList([text]) { vsyslog(LOG_AUTHPRIV | LOG_INFO, "%s", $0) }
            }
        }
    }
}

/// Several trails at once (tests add an in-memory one beside the file).
public struct AuditTrails: AuditTrail {
    public let trails: [any AuditTrail]
    public init(_ trails: [any AuditTrail]) { self.trails = trails }
    public func record(_ record: AuditRecord) { for t in trails { t.record(record) } }
}

public struct AuditLogError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
