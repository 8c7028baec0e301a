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
