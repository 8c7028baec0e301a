import BLAKE3
import DICOM

/// `arca dckv verify`: every composite file's name is the BLAKE3 of its bytes, keys ascend, footers name the
/// last prefix, series and instance prefixes are unique and every pixel entry belongs to an instance.
public struct Verifier {
    public struct Finding: Sendable, CustomStringConvertible {
        public var path: String
        public var problem: String
        public var description: String { "\(path): \(problem)" }
    }

    public struct Result: Sendable {
        public var studies = 0
        public var files = 0
        public var instances = 0
        public var findings: [Finding] = []
    }

    public init() {}

    /// Verifies a study directory, or every study under an eDCKV root (the spool is not a study).
    public func verify(_ path: String) -> Result {
        var result = Result()
        let names = FS.list(path)
        // A folder holding any composite file is a study, stray files and all (CompositeFiles names them): one
        // stray file made it no study, and it was skipped without a word while it could not be merged or read.
        let isStudy = names.contains { $0.count == 66 && $0.dropFirst().first == "." }
        if isStudy {
            verifyStudy(path, into: &result)
        } else {
            for name in names where !name.hasPrefix(".") && name != StudyLayout.spoolFolder && FS.isDirectory(path + "/" + name) {
                let sub = verify(path + "/" + name)
                result.studies += sub.studies
                result.files += sub.files
                result.instances += sub.instances
                result.findings += sub.findings
            }
        }
        return result
    }

    private func verifyStudy(_ dir: String, into result: inout Result) {
        result.studies += 1
        let files: CompositeFiles
        do { files = try CompositeFiles(directory: dir) } catch {
            result.findings.append(Finding(path: dir, problem: "\(error)"))
            return
        }
        var sopBySlot: [StudyMap.InstanceSlot: String] = [:]
        var seriesByNumber: [UInt16: String] = [:]
        var slotsWithPixels = Set<StudyMap.InstanceSlot>()
        for c in Category.allCases {
            guard let name = files.names[c], let path = files.path(c) else { continue }
            result.files += 1
            do {
                let reader = try EntryFileReader(path: path)
                var hasher = BLAKE3()
                var last: [UInt8]? = nil
                var count = 0
                while let e = try reader.next() {
                    var bytes: [UInt8] = []
                    e.encode(into: &bytes)
                    hasher.update(bytes)
                    count += 1
                    guard let p = e.prefix, p.category == c else {
                        result.findings.append(Finding(path: path, problem: "entry \(count) has a prefix of another category"))
                        break
                    }
                    if let l = last, !l.lexicographicallyPrecedes(e.key) {
                        result.findings.append(Finding(path: path, problem: "keys not ascending at entry \(count) (\(EntryCodec.hex(e.key)))"))
                    }
                    last = e.key
                    let slot = StudyMap.InstanceSlot(series: p.series, instance: p.instance)
                    if c == .series, e.depth == 0, e.tag == .seriesInstanceUID {
                        let uid = StudyMap.uid(e)
                        if let other = seriesByNumber[p.series], other != uid {
                            result.findings.append(Finding(path: path, problem: "series prefix \(p.series) used by two series"))
                        }
                        if seriesByNumber.values.contains(uid) && seriesByNumber[p.series] != uid {
                            result.findings.append(Finding(path: path, problem: "series \(uid) under two prefixes"))
                        }
                        seriesByNumber[p.series] = uid
                    }
                    if c == .instance, e.depth == 0, e.tag == .sopInstanceUID {
                        let uid = StudyMap.uid(e)
                        if sopBySlot[slot] != nil || sopBySlot.values.contains(uid) {
                            result.findings.append(Finding(path: path, problem: "instance \(uid) or its prefix \(p.hex) appears twice"))
                        }
                        sopBySlot[slot] = uid
                    }
                    if c == .nativePixels || c == .compressedPixels || c == .privateData { slotsWithPixels.insert(slot) }
                }
                guard let footer = reader.footer else {
                    result.findings.append(Finding(path: path, problem: "no footer"))
                    continue
                }
                if let l = last, Prefix(bytes: l) != footer {
                    result.findings.append(Finding(path: path, problem: "footer \(footer.hex) is not the last prefix"))
                }
                var tail = [UInt8(0)]
                tail += footer.bytes
                hasher.update(tail)
                let hash = BLAKE3.hex(hasher.finalize())
                if name != StudyLayout.compositeName(c, hash: hash) {
                    result.findings.append(Finding(path: path, problem: "name is not the BLAKE3 of the bytes (\(hash))"))
                }
            } catch {
                result.findings.append(Finding(path: path, problem: "\(error)"))
            }
        }
        for slot in slotsWithPixels.subtracting(sopBySlot.keys) {
            result.findings.append(Finding(path: dir, problem: "entries of instance prefix \(slot.series)/\(slot.instance) without an i entry"))
        }
        let missingSeries = Set(sopBySlot.keys.map(\.series)).subtracting(seriesByNumber.keys)
        if !missingSeries.isEmpty, files.names[.series] != nil {
            result.findings.append(Finding(path: dir, problem: "instances of series prefixes \(missingSeries.sorted()) without a series copy"))
        }
        result.instances += sopBySlot.count
    }
}
