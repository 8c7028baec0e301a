// b3bench FILE [-n RUNS] [--memory | --mmap] [--kernel NAME]     b3bench --kernels
// Hashes FILE with Arca's BLAKE3 (BLAKE3.hashFile, as the archive does), prints the digest as b3sum does
// (`HEX  FILE`) and, on standard error, the best CPU time of RUNS runs in MB/s (1 MB = 10^6 bytes).
// --memory reads the file into memory first and times BLAKE3.hash of the buffer instead.
// --pieces BYTES (with --memory) feeds the buffer to one hasher in pieces of BYTES, as the server does with the
// data of each PDU it receives.
// --mmap maps the file and times BLAKE3.hash of the mapping, page faults included: how b3sum reads a file, so
// that whole-process times of the two compare the hashing rather than read(2) against mmap(2).
// --kernel NAME sets ARCA_BLAKE3_KERNEL (portable, avx2, avx512) to time one kernel: the hasher never
// picks one that the CPU lacks, whatever is asked. --kernels prints the kernels this CPU can run.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import BLAKE3
import CBLAKE3CPU

func printError(_ message: String) {
    var line = message + "\n"
    line.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
}

func fail(_ message: String) -> Never {
    printError("b3bench: \(message)")
    exit(2)
}

/// CPU time of the process (user and system), not wall-clock time: the machines this runs on are shared, and a run
/// that waits for the core while another process runs does not hash any slower for it.
func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

let usage = "usage: b3bench FILE [-n RUNS] [--memory [--pieces BYTES] | --mmap] [--kernel portable|avx2|avx512] | b3bench --kernels"
var path: String?
var runs = 1
var inMemory = false
var mapped = false
var pieceSize: Int?
var arguments = CommandLine.arguments.dropFirst()
while let argument = arguments.popFirst() {
    switch argument {
    case "-n":
        guard let value = arguments.popFirst().flatMap({ Int($0) }), value > 0 else { fail("-n needs a positive count") }
        runs = value
    case "--memory": inMemory = true
    case "--mmap": mapped = true
    case "--pieces":
        guard let value = arguments.popFirst().flatMap({ Int($0) }), value > 0 else { fail("--pieces needs a positive size") }
        pieceSize = value
    case "--kernel":
        guard let name = arguments.popFirst() else { fail("--kernel needs a name") }
        setenv("ARCA_BLAKE3_KERNEL", name, 1)
    case "--kernels":
        // The same CPUID check as BLAKE3's kernel choice (which is internal to the module).
        var kernels = ["portable"]
        #if arch(x86_64) && os(Linux)
        let features = arca_blake3_cpu_features()
        if features & Int32(ARCA_BLAKE3_X86_64_V3) != 0 { kernels.append("avx2") }
        if features & Int32(ARCA_BLAKE3_X86_64_V4) != 0 { kernels.append("avx512") }
        #endif
        print(kernels.joined(separator: " "))
        exit(0)
    case "-h", "--help":
        print(usage)
        exit(0)
    default:
        if path != nil { fail("unexpected argument \(argument)") }
        path = argument
    }
}
guard let path else { fail(usage) }
if inMemory && mapped { fail("--memory and --mmap exclude each other") }
if pieceSize != nil && !inMemory { fail("--pieces needs --memory") }

var size = 0
var stats = stat()
if stat(path, &stats) != 0 { fail("cannot stat \(path)") }
size = Int(stats.st_size)

var contents: UnsafeMutableRawBufferPointer?
if inMemory {
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(size, 1), alignment: 64)
    let fd = open(path, O_RDONLY)
    if fd < 0 { fail("cannot open \(path)") }
    var filled = 0
    while filled < size {
        let n = read(fd, buffer.baseAddress! + filled, size - filled)
        if n <= 0 { fail("cannot read \(path)") }
        filled += n
    }
    close(fd)
    contents = buffer
}

/// BLAKE3 of the file mapped read-only (an empty file is not mapped).
func hashMapped(_ path: String, size: Int) -> [UInt8] {
    if size == 0 { return BLAKE3.hash([UInt8]()) }
    let fd = open(path, O_RDONLY)
    if fd < 0 { fail("cannot open \(path)") }
    defer { close(fd) }
    guard let map = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), map != MAP_FAILED else { fail("cannot map \(path)") }
    defer { munmap(map, size) }
    return BLAKE3.hash(UnsafeRawBufferPointer(start: map, count: size))
}

var best = Double.infinity
var digest: [UInt8] = []
for _ in 0..<runs {
    let start = now()
    if let contents, let pieceSize {
        var hasher = BLAKE3()
        var offset = 0
        while offset < size {
            let end = min(offset + pieceSize, size)
            hasher.update(UnsafeRawBufferPointer(rebasing: contents[offset..<end]))
            offset = end
        }
        digest = hasher.finalize()
    } else if let contents {
        digest = BLAKE3.hash(UnsafeRawBufferPointer(rebasing: contents[0..<size]))
    } else if mapped {
        digest = hashMapped(path, size: size)
    } else {
        do { digest = try BLAKE3.hashFile(atPath: path) } catch { fail("\(error)") }
    }
    best = min(best, now() - start)
}
print("\(BLAKE3.hex(digest))  \(path)")
let mbps = Double(size) / best / 1e6
let kernel = getenv("ARCA_BLAKE3_KERNEL").map { String(cString: $0) } ?? "auto"
printError("b3bench: \(size) bytes, kernel \(kernel), \(inMemory ? "in memory" + (pieceSize.map { " in pieces of \($0) bytes" } ?? "") : mapped ? "mmap" : "hashFile"), best CPU time of \(runs): "
      + "\(Int((best * 1000).rounded())) ms, \(Int(mbps.rounded())) MB/s")
