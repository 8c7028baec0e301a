import Dispatch
import Foundation
import Logging
import NIOConcurrencyHelpers
#if canImport(Glibc)
import Glibc
#endif

/// Log lines as the seed shows them: `[14:30:22.456] [CONNECT] STORESCU -> STORE_SCP (active: 1)`.
public struct ConsoleLogHandler: LogHandler {
    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    public let label: String
    let output: ConsoleOutput

    public init(label: String, level: Logger.Level = .info, output: ConsoleOutput) {
        self.label = label
        self.logLevel = level
        self.output = output
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        var t = time_t(ts.tv_sec)
        var parts = tm()
        localtime_r(&t, &parts)
        func two(_ v: Int32) -> String { v < 10 ? "0\(v)" : "\(v)" }
        let ms = Int(ts.tv_nsec / 1_000_000)
        let millis = ms < 10 ? "00\(ms)" : ms < 100 ? "0\(ms)" : "\(ms)"
        output.write("[\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)).\(millis)] \(Self.oneLine("\(event.message)"))\n",
                     toStandardError: event.level >= .warning)
    }

    /// The message with its control characters written out (`\n`, `\u{1B}`): one event, one line. A calling AE
    /// title or a Patient ID from the network is logged as sent, and one holding a newline forged a line of its
    /// own (`[CONNECT] ADMIN`), an escape sequence rewrote the terminal.
    static func oneLine(_ message: String) -> String {
        guard message.unicodeScalars.contains(where: isControl) else { return message }
        var out = ""
        for scalar in message.unicodeScalars {
            switch scalar {
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where isControl(scalar): out += "\\u{" + String(scalar.value, radix: 16, uppercase: true) + "}"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    private static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value)
    }
}

/// Where the console log's lines go: a serial queue of their own writes them, one `write(2)` a line (so lines
/// never interleave). Written on the caller's thread, a line blocked that thread, an association's event loop,
/// whenever the reader of stdout fell behind (a pipe to a stalled journald, a paused terminal). At most
/// `backlog` lines wait; past that they are dropped and counted, and the count is written once the queue
/// catches up: a stalled log must not stall the archive.
public final class ConsoleOutput: Sendable {
    private let queue = DispatchQueue(label: "arca.console")
    private let state = NIOLockedValueBox((waiting: 0, dropped: 0))
    let backlog: Int
    private let descriptors: (out: Int32, err: Int32)

    public init(backlog: Int = 10_000, standardOutput: Int32 = 1, standardError: Int32 = 2) {
        self.backlog = backlog
        descriptors = (standardOutput, standardError)
    }

    func write(_ line: String, toStandardError: Bool) {
        let accepted = state.withLockedValue { s -> Bool in
            guard s.waiting < backlog else {
                s.dropped += 1
                return false
            }
            s.waiting += 1
            return true
        }
        guard accepted else { return }
        let fd = toStandardError ? descriptors.err : descriptors.out
        queue.async { [state, descriptors] in
            Self.writeAll(fd, Array(line.utf8))
            let dropped = state.withLockedValue { s -> Int in
                s.waiting -= 1
                defer { s.dropped = 0 }
                return s.dropped
            }
            if dropped > 0 {
                Self.writeAll(descriptors.err, Array("[LOG] \(dropped) line(s) dropped: the log's reader fell behind\n".utf8))
            }
        }
    }

    /// Waits until every line given so far is written (shutdown, tests).
    public func flush() {
        queue.sync {}
    }

    private static func writeAll(_ fd: Int32, _ bytes: [UInt8]) {
        bytes.withUnsafeBytes { raw in
            var done = 0
            while done < raw.count {
                let n = Glibc.write(fd, raw.baseAddress.map { $0 + done }, raw.count - done)
                if n > 0 { done += n } else if n < 0 && errno == EINTR { continue } else { return }
            }
        }
    }
}
