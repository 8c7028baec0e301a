import Foundation

/// Resident memory of this process (VmRSS from /proc), for tests that check memory stays bounded.
public func residentMemoryBytes() -> Int {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
          let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }) else { return 0 }
    return (line.split(separator: " ").compactMap { Int($0) }.first ?? 0) * 1024
}

/// Peak resident memory of this process since the last `resetPeakResidentMemory()` (VmHWM from /proc).
public func peakResidentMemoryBytes() -> Int {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
          let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }) else { return 0 }
    return (line.split(separator: " ").compactMap { Int($0) }.first ?? 0) * 1024
}

/// Starts a new peak (Linux: writing 5 to /proc/self/clear_refs resets VmHWM to the current RSS).
public func resetPeakResidentMemory() {
    try? "5".write(toFile: "/proc/self/clear_refs", atomically: false, encoding: .utf8)
}
