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
    // @unchecked: `descriptor` is written once in init and only used on `queue` afterwards.
    private let descriptor: Int32
    private let queue = DispatchQueue(label: "arca.audit")
    private let logger: Logger

    public init(path: String, logger: Logger) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o640)
        guard fd >= 0 else { throw AuditLogError("cannot open the audit log \(path): \(String(cString: strerror(errno)))") }
        self.descriptor = fd
        self.logger = logger
    }

    deinit { close(descriptor) }

    public func record(_ record: AuditRecord) {
        let line = Array((record.jsonLine + "\n").utf8)
        queue.async { [descriptor, logger] in
            let written = line.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
            if written != line.count { logger.error("[AUDIT] audit log write failed: \(String(cString: strerror(errno)))") }
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
