// pixbench decode FILE [-n RUNS] [--alt]     every frame of FILE decoded RUNS times (best run), in MB/s of
//                                            decoded pixels (1 MB = 10^6 bytes); --alt uses the alternative
//                                            decoder (Arca's own DCT JPEG; OpenJPEG for HTJ2K)
// pixbench thumbnail FILE... [-n RUNS]       each file opened, its first frame rendered and scaled into
//                                            256×256 and written as PNG in memory: ms per file (median)
// pixbench png FILE [--level L]              the thumbnail's PNG at zlib level L: ms and bytes
// pixbench compress SYNTAX OUTDIR FILE...     each file compressed losslessly and verified (what
//                                            `serve --compress` does): files/s, bytes before and after
// Used by scripts/bench-pixels; numbers go to standard output, one `key value` per line.

#if canImport(Glibc)
import Glibc
#endif
@_spi(Benchmark) import Pixels

func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

func fail(_ message: String) -> Never {
    var line = "pixbench: " + message + "\n"
    line.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
    exit(2)
}

var args = Array(CommandLine.arguments.dropFirst())
@MainActor func option(_ name: String) -> String? {
    guard let i = args.firstIndex(of: name), i + 1 < args.count else { return nil }
    let v = args[i + 1]
    args.removeSubrange(i...(i + 1))
    return v
}
@MainActor func flag(_ name: String) -> Bool {
    guard let i = args.firstIndex(of: name) else { return false }
    args.remove(at: i)
    return true
}
let runs = Int(option("-n") ?? "3") ?? 3
let alternative = flag("--alt")
let level = Int32(option("--level") ?? "3") ?? 3
guard let mode = args.first else { fail("usage: pixbench decode|thumbnail|png FILE...") }
let files = Array(args.dropFirst())
guard !files.isEmpty else { fail("no file") }

do {
    switch mode {
    case "decode":
        let reader = try FrameReader(path: files[0])
        let frames = (0..<reader.numberOfFrames).map { try? reader.frameData($0) }
        var best = Double.infinity
        var bytes = 0
        for _ in 0..<runs {
            let t = now()
            bytes = 0
            for data in frames {
                guard let data else { fail("unreadable frame") }
                let f: DecodedFrame
                if alternative, reader.syntax?.codec == .jpegDCT {
                    f = try AlternativeDecoders.ownJPEG(data, format: reader.format)
                } else if alternative, reader.syntax?.codec == .htj2k {
                    f = try AlternativeDecoders.htj2kWithOpenJPEG(data, format: reader.format)
                } else {
                    f = try FrameDecoder.decode(data, format: reader.format, syntax: reader.transferSyntax.uid)
                }
                bytes += f.bytes.count
            }
            best = min(best, now() - t)
        }
        print("decoded_bytes \(bytes)")
        print("seconds \(best)")
        print("mb_per_s \(Double(bytes) / best / 1e6)")
    case "thumbnail":
        var times: [Double] = []
        var size = 0
        for _ in 0..<runs {
            for file in files {
                let t = now()
                let png = try Renderer.render(path: file, viewport: Viewport(width: 256, height: 256), format: .png)
                times.append(now() - t)
                size = png.count
            }
        }
        times.sort()
        print("files \(times.count)")
        print("ms_median \(times[times.count / 2] * 1000)")
        print("ms_p90 \(times[times.count * 9 / 10] * 1000)")
        print("png_bytes \(size)")
    case "png":
        let image = try Renderer.render(try FrameReader(path: files[0]), viewport: Viewport(width: 256, height: 256))
        var best = Double.infinity
        var size = 0
        for _ in 0..<max(runs, 20) {
            let t = now()
            size = try AlternativeDecoders.png(image, level: level).count
            best = min(best, now() - t)
        }
        print("ms \(best * 1000)")
        print("bytes \(size)")
    case "compress":
        guard files.count >= 3, let syntax = PixelSyntax.named(files[0]) else { fail("compress SYNTAX OUTDIR FILE...") }
        let dir = files[1]
        var before: UInt64 = 0, after: UInt64 = 0, encoded: UInt64 = 0, kept = 0
        let t = now()
        for file in files.dropFirst(2) {
            let name = file.split(separator: "/").last.map(String.init) ?? file
            let r = try Transcoder.compressLosslessly(path: file, to: syntax, output: dir + "/" + name)
            before += r.originalBytes
            encoded += r.compressedBytes
            after += r.written ? r.compressedBytes : r.originalBytes  // what stays stored
            if r.written { kept += 1 }
        }
        let elapsed = now() - t
        print("files \(files.count - 2)")
        print("seconds \(elapsed)")
        print("files_per_s \(Double(files.count - 2) / elapsed)")
        print("bytes_before \(before)")
        print("bytes_encoded \(encoded)")
        print("files_compressed \(kept)")
        print("ratio_encoded \(Double(before) / Double(max(1, encoded)))")
        print("ratio_stored \(Double(before) / Double(max(1, after)))")
    default:
        fail("unknown mode \(mode)")
    }
} catch {
    fail("\(error)")
}
