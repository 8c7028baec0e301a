import DICOM
import Foundation
import Pixels
import TestSupport

/// The pixel corpus `scripts/pixels/make-corpus.py` generates once per test run: native images of every
/// photometric interpretation and bit depth, and their encodings by DCMTK and GDCM.
struct PixelCorpus: Sendable {
    struct Entry: Sendable {
        let file: URL
        /// The native file it was encoded from (itself for a native file).
        let source: URL
        let syntax: String
        let lossless: Bool
        let kind: String
    }

    let directory: URL
    let entries: [Entry]

    static let shared: Result<PixelCorpus, Error> = Result { try make() }

    /// The corpus, made once per run. Without pydicom or the encoders a failure under CI, elsewhere the calling
    /// test's cancellation (checked on every call: a cached cancellation, thrown again in another test, reads as
    /// passed). Tests that use it say so with `.needs(.pydicom, .pixelTools)`.
    static func load() throws -> PixelCorpus {
        try ExternalTool.require(Peer.pydicom.isInstalled, Peer.pydicom.what)
        try ExternalTool.require(Peer.pixelTools.isInstalled, Peer.pixelTools.what)
        return try shared.get()
    }

    private static func make() throws -> PixelCorpus {
        let dir = try ExternalTool.temporaryDirectory("arca-pixels")
        let script = ExternalTool.repositoryRoot.appendingPathComponent("scripts/pixels/make-corpus.py")
        let made = try ExternalTool.run("python3", [script.path, dir.path])
        guard made.status == 0 else { throw CorpusError("make-corpus.py failed: \(made.stderr)") }
        let manifest = try String(contentsOf: dir.appendingPathComponent("manifest.tsv"), encoding: .utf8)
        let entries = manifest.split(separator: "\n").compactMap { line -> Entry? in
            let c = line.split(separator: "\t").map(String.init)
            guard c.count == 5 else { return nil }
            return Entry(file: dir.appendingPathComponent(c[0]), source: dir.appendingPathComponent(c[1]), syntax: c[2],
                         lossless: c[3] == "1", kind: c[4])
        }
        return PixelCorpus(directory: dir, entries: entries)
    }

    func native(_ name: String) -> URL { directory.appendingPathComponent(name + ".dcm") }
}

/// Every frame's sample values, normalized (High Bit shifted away, sign-extended): what decoders must agree on.
func sampleValues(_ reader: FrameReader) throws -> (values: [Int], photometric: Photometric) {
    var values: [Int] = []
    var photometric = reader.format.photometric
    for i in 0..<reader.numberOfFrames {
        let frame = try reader.decodeFrame(i)
        photometric = frame.format.photometric
        let n = frame.format.rows * frame.format.columns * frame.format.samplesPerPixel
        values.reserveCapacity(values.count + n)
        for k in 0..<n { values.append(frame.sample(k)) }
    }
    return (values, photometric)
}

/// pydicom's values for an uncompressed file (scripts/pixels/dump-values.py).
func pydicomValues(_ file: URL) throws -> (values: [Int], photometric: String) {
    let out = FileManager.default.temporaryDirectory.appendingPathComponent("values-\(UUID().uuidString).bin")
    defer { try? FileManager.default.removeItem(at: out) }
    let script = ExternalTool.repositoryRoot.appendingPathComponent("scripts/pixels/dump-values.py")
    let r = try ExternalTool.run("python3", [script.path, file.path, out.path])
    guard r.status == 0 else { throw CorpusError("dump-values.py \(file.lastPathComponent): \(r.stderr)") }
    let data = try Data(contentsOf: out)
    let values = data.withUnsafeBytes { raw in (0..<(raw.count / 8)).map { Int(Int64(littleEndian: raw.loadUnaligned(fromByteOffset: 8 * $0, as: Int64.self))) } }
    let photometric = r.stdout.split(separator: " ", maxSplits: 4).last.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) } ?? ""
    return (values, photometric)
}

/// The largest difference between two value lists (Int.max when their lengths differ).
func maxDifference(_ a: [Int], _ b: [Int]) -> Int {
    guard a.count == b.count else { return Int.max }
    var m = 0
    for i in a.indices { m = max(m, abs(a[i] - b[i])) }
    return m
}

/// A binary PGM/PPM as dcmj2pnm writes it.
func readPNM(_ url: URL) throws -> RenderedImage {
    let data = [UInt8](try Data(contentsOf: url))
    var fields: [String] = []
    var i = 0
    while fields.count < 4 && i < data.count {
        while i < data.count && (data[i] == 0x20 || data[i] == 0x0A || data[i] == 0x0D || data[i] == 0x09) { i += 1 }
        if i < data.count && data[i] == UInt8(ascii: "#") { while i < data.count && data[i] != 0x0A { i += 1 }; continue }
        var s = ""
        while i < data.count && !(data[i] == 0x20 || data[i] == 0x0A || data[i] == 0x0D || data[i] == 0x09) { s.append(Character(UnicodeScalar(data[i]))); i += 1 }
        fields.append(s)
    }
    i += 1
    guard fields.count == 4, let w = Int(fields[1]), let h = Int(fields[2]) else { throw CorpusError("not a PNM: \(url.path)") }
    let c = fields[0] == "P6" ? 3 : 1
    guard data.count >= i + w * h * c else { throw CorpusError("short PNM: \(url.path)") }
    return RenderedImage(width: w, height: h, components: c, pixels: Array(data[i..<(i + w * h * c)]))
}
