import DICOM
import Foundation

/// The varied corpus `scripts/corpus/make-corpus.py` generates (once per test run), with pydicom's reference
/// parse of every file from `scripts/corpus/expect.py`.
public struct Corpus: Sendable {
    public let directory: URL
    public let files: [URL]
    /// File path → pydicom's canonical lines.
    public let expected: [String: [String]]

    static let shared: Swift.Result<Corpus, Error> = Swift.Result { try make() }

    /// Files in the corpus whose name contains any of `parts`.
    public func files(_ parts: String...) -> [URL] {
        files.filter { url in parts.contains { url.lastPathComponent.contains($0) } }
    }

    /// The corpus, made once per run. Without pydicom a failure under CI, elsewhere the calling test's
    /// cancellation (checked on every call: a cached cancellation, thrown again in another test, reads as passed).
    /// Tests that use it say so with `.needs(.pydicom)`.
    public static func load() throws -> Corpus {
        try ExternalTool.require(Peer.pydicom.isInstalled, Peer.pydicom.what)
        return try shared.get()
    }

    private static func make() throws -> Corpus {
        let dir = try ExternalTool.temporaryDirectory("arca-corpus")
        let scripts = ExternalTool.repositoryRoot.appendingPathComponent("scripts/corpus")
        let made = try ExternalTool.run("python3", [scripts.appendingPathComponent("make-corpus.py").path, dir.path])
        guard made.status == 0 else { throw CorpusError("make-corpus.py failed: \(made.stderr)") }
        let files = try FileManager.default.contentsOfDirectory(at: dir, includingPropertiesForKeys: nil)
            .filter { $0.pathExtension == "dcm" }.sorted { $0.path < $1.path }
        let exp = try ExternalTool.run("python3", [scripts.appendingPathComponent("expect.py").path] + files.map(\.path))
        guard exp.status == 0 else { throw CorpusError("expect.py failed: \(exp.stderr)") }
        var expected: [String: [String]] = [:]
        var current = ""
        for line in exp.stdout.split(separator: "\n").map(String.init) {
            if line.hasPrefix("# ") { current = String(line.dropFirst(2)); expected[current] = [] } else { expected[current, default: []].append(line) }
        }
        return Corpus(directory: dir, files: files, expected: expected)
    }
}

public struct CorpusError: Error, CustomStringConvertible {
    public let description: String
    public init(_ d: String) { description = d }
}

/// Arca's parse in expect.py's canonical form.
public enum Canonical {
    public static func lines(_ file: DICOMFile) -> [String] {
        var out: [String] = []
        walk(file.meta, depth: 0, explicit: true, into: &out)
        walk(file.dataSet, depth: 0, explicit: file.transferSyntax.isExplicitVR, into: &out)
        return out
    }

    /// A dataset's lines without VRs (and without private elements when `dropPrivate`): what survives a
    /// transfer through any uncompressed syntax.
    public static func valueLines(_ ds: DataSet, dropPrivate: Bool = false) -> [String] {
        var lines: [String] = []
        let kept = dropPrivate ? DataSet(elements: ds.filter { !$0.tag.isPrivate }) : ds
        walk(kept, depth: 0, explicit: false, into: &lines)
        return lines
    }

    public static func walk(_ ds: DataSet, depth: Int, explicit: Bool, into out: inout [String]) {
        for e in ds {
            let tag = hex8(e.tag.rawValue)
            let vr = explicit ? e.vr.description : "--"
            switch e.value {
            case .bytes(let b):
                out.append("\(depth)|\(tag)|\(vr)|\(fnv(b))")
            case .sequence(let s):
                out.append("\(depth)|\(tag)|\(vr)|items=\(s.items.count)")
                for item in s.items {
                    out.append("\(depth + 1)|item")
                    walk(item.dataSet, depth: depth + 2, explicit: explicit && e.vr != .UN, into: &out)
                }
            case .fragments(let px):
                out.append("\(depth)|\(tag)|\(vr)|fragments=\(px.fragments.count + 1)")
                for f in [px.offsetTable] + px.fragments { out.append("\(depth + 1)|fragment|\(fnv(f))") }
            }
        }
    }

    public static func fnv(_ b: [UInt8]) -> String {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for x in b { h = (h ^ UInt64(x)) &* 0x100_0000_01b3 }
        let s = String(h, radix: 16)
        return "\(b.count):" + String(repeating: "0", count: 16 - s.count) + s
    }

    static func hex8(_ v: UInt32) -> String {
        let s = String(v, radix: 16)
        return String(repeating: "0", count: 8 - s.count) + s
    }
}
