import ArgumentParser
import DICOM
import DICOMNetwork
import Foundation
#if canImport(Glibc)
import Glibc
#endif

struct Store: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Send DICOM files (and folders, recursively) with C-STORE.")

    @Argument(help: "Host of the peer.") var host: String
    @Argument(help: "Port of the peer (1 to 65535).") var port: PortArgument
    @Argument(help: "Files and folders.") var paths: [String]
    @Option(help: "Our (calling) AE title.") var aet = "ARCA_SCU"
    @Option(help: "The peer's (called) AE title.") var aec = "STORE_SCP"
    @Option(name: .short, help: "Parallel associations.") var j = 1
    @Option(name: .customLong("max-pdu"), help: "Maximum PDU length we receive.") var maxPDU: UInt32 = 131_072
    @OptionGroup var tls: TLSClientOptions

    func run() async throws {
        let files = Self.collect(paths)
        guard !files.isEmpty else {
            printError("arca store: no files")
            throw ExitCode.failure
        }
        var scu = StoreSCU(host: host, port: port.value, callingAETitle: aet, calledAETitle: aec, maxPDULength: maxPDU)
        do { scu.tls = try tls.context() } catch {
            printError("arca store: \(error)")
            throw ExitCode.failure
        }
        let lanes = max(1, min(j, files.count))
        let progress = Progress(total: files.count, showBar: isatty(1) != 0)
        let start = Date()
        let results: [StoreSCU.Result]
        do {
            results = try await send(files, scu: scu, lanes: lanes, progress: progress)
        } catch {
            progress.finish()
            printError("arca store: \(host):\(port): \(error)")
            throw ExitCode.failure
        }
        progress.finish()
        let seconds = max(Date().timeIntervalSince(start), 1e-6)
        let failed = results.filter { !$0.succeeded }
        for r in results { if let warning = r.warning { printError("WARNING \(r.path): \(warning)") } }
        let bytes = results.reduce(UInt64(0)) { $0 + $1.bytes }
        for f in failed {
            printError("FAILED \(f.path): \(f.error ?? (f.status.map { "\($0)" } ?? "?"))\(f.comment.map { " — \($0)" } ?? "")")
        }
        let mb = Double(bytes) / 1_000_000
        print(String(format: "Sent %d, failed %d, %.1f MB in %.2f s (%.1f MB/s, %.0f images/s)",
                     results.count - failed.count, failed.count, mb, seconds, mb / seconds, Double(results.count - failed.count) / seconds))
        if !failed.isEmpty { throw ExitCode.failure }
    }

    /// The files split over `lanes` associations run in parallel.
    func send(_ files: [String], scu: StoreSCU, lanes: Int, progress: Progress) async throws -> [StoreSCU.Result] {
        try await withThrowingTaskGroup(of: [StoreSCU.Result].self) { group in
            for lane in 0..<lanes {
                let share = stride(from: lane, to: files.count, by: lanes).map { files[$0] }
                group.addTask { try await scu.send(share) { progress.add($0) } }
            }
            var all: [StoreSCU.Result] = []
            for try await part in group { all += part }
            return all
        }
    }

    /// Files, and the files under folders (recursively, hidden ones skipped), sorted.
    static func collect(_ paths: [String]) -> [String] {
        var out: [String] = []
        let fm = FileManager.default
        for path in paths {
            var isDir: ObjCBool = false
            guard fm.fileExists(atPath: path, isDirectory: &isDir) else { out.append(path); continue }
            if !isDir.boolValue { out.append(path); continue }
            guard let walker = fm.enumerator(atPath: path) else { continue }
            var found: [String] = []
            for case let rel as String in walker {
                if rel.split(separator: "/").contains(where: { $0.hasPrefix(".") }) { continue }
                let full = path + "/" + rel
                var d: ObjCBool = false
                if fm.fileExists(atPath: full, isDirectory: &d), !d.boolValue { found.append(full) }
            }
            out += found.sorted()
        }
        return out
    }
}

/// A one-line progress bar on a terminal; nothing otherwise.
final class Progress: @unchecked Sendable {
    private let lock = NSLock()
    private let total: Int
    private let showBar: Bool
    private var done = 0
    private var failed = 0

    init(total: Int, showBar: Bool) {
        self.total = total
        self.showBar = showBar
    }

    func add(_ r: StoreSCU.Result) {
        lock.lock()
        defer { lock.unlock() }
        done += 1
        if !r.succeeded { failed += 1 }
        guard showBar else { return }
        let width = 30
        let filled = total == 0 ? width : width * done / total
        let bar = String(repeating: "=", count: filled) + String(repeating: " ", count: width - filled)
        let line = "\r[\(bar)] \(done)/\(total)" + (failed > 0 ? " (\(failed) failed)" : "")
        let bytes = Array(line.utf8)
        bytes.withUnsafeBytes { _ = write(1, $0.baseAddress, $0.count) }
    }

    func finish() {
        if showBar { print("") }
    }
}
