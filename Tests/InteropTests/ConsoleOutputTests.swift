@testable import ArcaServer
import Foundation
import Logging
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The console log never blocks the thread that logs: with its reader stalled (a full pipe), lines wait on the
/// log's own queue, then are dropped and counted, and the count is written once the reader catches up.
@Suite(.timeLimit(.minutes(1))) struct ConsoleOutputTests {
    /// A value from the network (a calling AE title with a newline, an escape sequence) cannot forge a line or
    /// drive the terminal: each event is one line, its control characters written out.
    @Test func anEventIsOneLineWhateverItHolds() async throws {
        var fds: [Int32] = [0, 0]
        #expect(pipe(&fds) == 0)
        defer { close(fds[0]) }
        let output = ConsoleOutput(standardOutput: fds[1], standardError: fds[1])
        let logger = Logger(label: "test") { ConsoleLogHandler(label: $0, output: output) }
        let calling = "X\n[CONNECT] ADMIN\u{1B}[2J\r\t\u{85}é"
        logger.info("[CONNECT] \(calling) -> STORE_SCP")
        output.flush()
        close(fds[1])
        var buffer = [UInt8](repeating: 0, count: 4096)
        let n = read(fds[0], &buffer, buffer.count)
        let written = String(decoding: buffer[0..<max(0, n)], as: UTF8.self)
        #expect(written.split(separator: "\n").count == 1, "\(written)")
        #expect(written.hasSuffix(#"[CONNECT] X\n[CONNECT] ADMIN\u{1B}[2J\r\t\u{85}é -> STORE_SCP"# + "\n"), "\(written)")
        #expect(ConsoleLogHandler.oneLine("plain é") == "plain é")
    }

    @Test func aStalledReaderDropsLinesInsteadOfBlockingTheLogger() async throws {
        var fds: [Int32] = [0, 0]
        #expect(pipe(&fds) == 0)
        let (readEnd, writeEnd) = (fds[0], fds[1])
        defer { close(readEnd) }
        let output = ConsoleOutput(backlog: 8, standardOutput: writeEnd, standardError: writeEnd)
        var logger = Logger(label: "test") { ConsoleLogHandler(label: $0, output: output) }
        logger.logLevel = .info
        // 200 lines of 4 KB: the pipe holds 64 KB, so its reader's stall stops the queue's writes after ~16.
        let text = String(repeating: "x", count: 4_000)
        for n in 0..<200 { logger.info("\(n) \(text)") }
        // Here already: a logger that waited for the pipe would still be writing (the suite's time limit).
        // The reader catches up: everything the queue kept comes out whole, then the count of what it dropped.
        let reading = Task.detached { () -> String in
            var all: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 65_536)
            while true {
                let n = read(readEnd, &buffer, buffer.count)
                if n <= 0 { break }
                all += buffer[0..<n]
            }
            return String(decoding: all, as: UTF8.self)
        }
        output.flush()
        close(writeEnd)
        let written = await reading.value
        let lines = written.split(separator: "\n")
        let kept = lines.filter { !$0.hasPrefix("[LOG]") }
        #expect(kept.allSatisfy { $0.hasSuffix(text) })
        let notes = lines.filter { $0.hasPrefix("[LOG]") }
        let count = notes.compactMap { Int($0.split(separator: " ")[1]) }.reduce(0, +)
        #expect(kept.count + count == 200, "\(kept.count) kept, \(notes)")
        #expect(kept.count < 200)
    }
}
