import DICOM
import Foundation
import Testing
import TestSupport

/// Arca's parse of the generated corpus equals pydicom's; files round-trip byte for byte.
@Suite(.needs(.pydicom)) struct CorpusTests {
    @Test func parseEqualsPydicom() throws {
        let corpus = try Corpus.load()
        #expect(corpus.files.count >= 15)
        for url in corpus.files {
            let file = try DICOMFile.read(path: url.path)
            let ours = Canonical.lines(file)
            let theirs = corpus.expected[url.path] ?? []
            #expect(!theirs.isEmpty, "no reference for \(url.lastPathComponent)")
            #expect(ours == theirs, "\(url.lastPathComponent): \(firstDifference(ours, theirs))")
        }
    }

    @Test func roundTripIsByteIdenticalInTheSameSyntax() throws {
        let corpus = try Corpus.load()
        for url in corpus.files {
            let original = try FileReader.readAll(path: url.path)
            let file = try DICOMFile.read(original)
            let written = try file.serialized()
            #expect(written == original, "\(url.lastPathComponent): \(written.count) bytes written vs \(original.count) read")
            #expect(try DICOMFile.read(written) == file, "\(url.lastPathComponent) reads back differently")
        }
    }

    @Test func roundTripThroughEveryUncompressedSyntax() throws {
        let corpus = try Corpus.load()
        for url in corpus.files {
            let file = try DICOMFile.read(path: url.path)
            guard !file.transferSyntax.isEncapsulated else { continue }
            for syntax in TransferSyntax.uncompressed {
                var copy = file
                copy.transferSyntax = syntax
                copy.meta.setString(syntax.uid, for: .transferSyntaxUID, vr: .UI)
                let back = try DICOMFile.read(try copy.serialized())
                #expect(back.transferSyntax == syntax)
                // Implicit VR loses the VR of elements the dictionary does not know: private ones come back as
                // UN bytes, so they are compared only in the explicit syntaxes.
                let compare: (DataSet) -> [String] = { ds in
                    var lines: [String] = []
                    let kept = syntax.isExplicitVR ? ds : DataSet(elements: ds.filter { !$0.tag.isPrivate })
                    Canonical.walk(kept, depth: 0, explicit: false, into: &lines)
                    return lines
                }
                #expect(compare(back.dataSet) == compare(file.dataSet), "\(url.lastPathComponent) via \(syntax.uid)")
            }
        }
    }

    @Test func dumpShowsEveryElement() throws {
        let corpus = try Corpus.load()
        for url in corpus.files {
            let file = try DICOMFile.read(path: url.path)
            let dump = DumpFormatter().format(file)
            for line in Canonical.lines(file) {
                let parts = line.split(separator: "|")
                guard parts.count >= 2, parts[1].count == 8, parts[1].allSatisfy(\.isHexDigit) else { continue }
                let tag = "(\(parts[1].prefix(4)),\(parts[1].suffix(4)))"
                #expect(dump.contains(tag), "\(url.lastPathComponent): dump lacks \(tag)")
            }
        }
    }

    @Test func headerOnlyStopsBeforePixelData() throws {
        let corpus = try Corpus.load()
        for url in corpus.files {
            let full = try DICOMFile.read(path: url.path)
            let head = try DICOMFile.read(path: url.path, options: .headerOnly)
            #expect(head.dataSet[.pixelData] == nil)
            #expect(head.dataSet.uid(.sopInstanceUID) == full.dataSet.uid(.sopInstanceUID))
            #expect(head.dataSet.count == full.dataSet.filter { $0.tag < .pixelData }.count)
        }
    }

    private func firstDifference(_ a: [String], _ b: [String]) -> String {
        for i in 0..<max(a.count, b.count) {
            let x = i < a.count ? a[i] : "<end>", y = i < b.count ? b[i] : "<end>"
            if x != y { return "line \(i): arca \(x) vs pydicom \(y)" }
        }
        return "equal"
    }
}
