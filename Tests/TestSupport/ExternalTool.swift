import Foundation
import Testing

/// Runs the real peers the interoperability tests need (DCMTK, pydicom, pynetdicom) and locates the repository.
public enum ExternalTool {
    public struct Result: Sendable {
        public let status: Int32
        public let stdout: String
        public let stderr: String
    }

    /// The repository's root, from this file's path.
    public static let repositoryRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// True under CI, where a missing peer is a failure rather than a skip.
    public static var isCI: Bool { ProcessInfo.processInfo.environment["CI"] == "true" }

    /// Runs a program to completion, capturing its output (read concurrently so a full pipe never blocks it).
    @discardableResult
    public static func run(_ executable: String, _ arguments: [String], environment: [String: String] = [:],
                           currentDirectory: URL? = nil) throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable.hasPrefix("/") ? executable : "/usr/bin/env")
        process.arguments = executable.hasPrefix("/") ? arguments : [executable] + arguments
        var env = ProcessInfo.processInfo.environment
        for (k, v) in environment { env[k] = v }
        process.environment = env
        if let currentDirectory { process.currentDirectoryURL = currentDirectory }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let group = DispatchGroup()
        nonisolated(unsafe) var outData = Data(), errData = Data()
        group.enter()
        DispatchQueue.global().async { outData = out.fileHandleForReading.readDataToEndOfFile(); group.leave() }
        group.enter()
        DispatchQueue.global().async { errData = err.fileHandleForReading.readDataToEndOfFile(); group.leave() }
        process.waitUntilExit()
        group.wait()
        return Result(status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                      stderr: String(decoding: errData, as: UTF8.self))
    }

    /// `run` on a dispatch thread: waiting for a peer process must not hold one of the few cooperative-pool
    /// threads an in-process server needs to answer that very peer.
    public static func runAsync(_ executable: String, _ arguments: [String], environment: [String: String] = [:]) async throws -> Result {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(with: Swift.Result { try run(executable, arguments, environment: environment) })
            }
        }
    }

    /// Whether a Python module can be imported.
    public static func hasPythonModule(_ name: String) -> Bool {
        (try? run("python3", ["-c", "import \(name)"]).status) == 0
    }

    public static func exists(_ path: String) -> Bool { FileManager.default.isExecutableFile(atPath: path) }

    /// A peer is missing: under CI that is an error (the test must fail loudly); elsewhere the caller skips.
    public struct MissingPeer: Error, CustomStringConvertible {
        public let description: String
    }

    /// Throws unless `available`: under CI a failure, elsewhere the test's cancellation, which reports it as
    /// cancelled with the reason, never as passed. For what only the test's run can tell (a mount that failed)
    /// and for shared inputs (the corpora); a peer a test needs is stated by its `.needs(...)` trait, which skips
    /// it before it starts (the only honest skip for a parameterized test: a cancelled case reads as passed).
    public static func require(_ available: Bool, _ what: String) throws {
        if available { return }
        let message = "\(what) is not installed: run scripts/test, which installs it"
        if isCI { throw MissingPeer(description: message) }
        try Test.cancel(Comment(rawValue: message))
    }

    /// A new empty temporary directory.
    public static func temporaryDirectory(_ prefix: String) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}
