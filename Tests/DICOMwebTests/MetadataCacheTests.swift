import Archive
import DICOM
import Foundation
import Testing

@testable import DICOMweb

/// The metadata cache holds one copy of an instance's JSON whatever base URL the clients reach it by (the base
/// comes from headers a client chooses), puts each client's base in, escaped, and stays within its byte budget.
@Suite struct MetadataCacheTests {
    static func instance(_ n: Int) -> ArchivedInstance {
        ArchivedInstance(sopInstanceUID: "1.2.3.\(n)", sopClassUID: "1.2.840.10008.5.1.4.1.1.2", transferSyntaxUID: "1.2.840.10008.1.2.1",
                         location: "a/\(n).dcm", size: 1, hash: "h\(n)", studyInstanceUID: "1.2.3", seriesInstanceUID: "1.2.3.4")
    }

    /// A header with a large binary value (named by its bulk data URI) and `text` bytes of text (inline).
    static func header(text: Int = 10) -> DataSet {
        var ds = DataSet()
        ds.setString(String(repeating: "x", count: text), for: Tag(0x0032, 0x4000), vr: .LT)
        ds.set(Element(tag: Tag(0x0009, 0x1010), vr: .OB, bytes: [UInt8](repeating: 1, count: 300)))
        return ds
    }

    static func bulkDataURI(_ json: String) throws -> String? {
        let object = try JSONSerialization.jsonObject(with: Data(("[" + json + "]").utf8)) as? [[String: Any]]
        return (object?.first?["00091010"] as? [String: Any])?["BulkDataURI"] as? String
    }

    @Test func oneCopyWhateverTheBaseAndEachClientsBaseIn() throws {
        let cache = MetadataCache()
        var reads = 0
        for host in ["a.example", "b.example", "evil\"host\\", "a.example"] {
            let json = try cache.json(for: Self.instance(1), base: "http://\(host)/dicom-web") {
                reads += 1
                return Self.header()
            }
            #expect(try Self.bulkDataURI(json) == "http://\(host)/dicom-web/studies/1.2.3/series/1.2.3.4/instances/1.2.3.1/bulkdata/00091010")
        }
        #expect(reads == 1)
        #expect(cache.held.entries == 1)
    }

    @Test func staysWithinItsByteBudget() throws {
        let cache = MetadataCache(capacity: 1_000, byteBudget: 160_000)
        for n in 0..<100 {
            _ = try cache.json(for: Self.instance(n), base: "http://h/dicom-web") { Self.header(text: 5_000) }
        }
        #expect(cache.held.bytes <= 160_000 && cache.held.entries < 100 && cache.held.entries > 10)
        // An instance whose JSON alone is over a sixteenth of the budget is answered, not kept.
        let big = try cache.json(for: Self.instance(1_000), base: "http://h/dicom-web") { Self.header(text: 20_000) }
        #expect(big.utf8.count > 20_000)
        #expect(cache.held.bytes <= 160_000)
        let before = cache.held.entries
        _ = try cache.json(for: Self.instance(1_001), base: "http://h/dicom-web") { Self.header(text: 20_000) }
        #expect(cache.held.entries == before)
    }
}
