import Foundation
import Logging
#if canImport(Glibc)
import Glibc
#endif

/// Log lines as the seed shows them: `[14:30:22.456] [CONNECT] STORESCU -> STORE_SCP (active: 1)`.
public struct ConsoleLogHandler: LogHandler {
    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    public let label: String

    public init(label: String, level: Logger.Level = .info) {
        self.label = label
        self.logLevel = level
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
        let line = "[\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)).\(millis)] \(event.message)\n"
        let bytes = Array(line.utf8)
        // One write per line, so lines from concurrent associations never interleave.
        bytes.withUnsafeBytes { _ = Glibc.write(event.level >= .warning ? 2 : 1, $0.baseAddress, $0.count) }
    }
}
