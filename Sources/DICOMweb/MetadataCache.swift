import Archive
import DICOM
import NIOConcurrencyHelpers

/// WADO-RS metadata per instance, as JSON, kept for the instances asked for most recently: a viewer opening a
/// 500-slice series asks for its metadata once per study it shows, and a header read per instance per request
/// would cost 500 file opens each time. Keyed by location and hash, so a replaced instance is read again.
///
/// Bounded by bytes as well as by entries, and not keyed by the client's base URL: the base comes from the
/// `Forwarded` / `X-Forwarded-Host` headers, so keyed by it every new header value kept another copy of the
/// same JSON (an instance with a 50 MB text element, asked for under 20,000 hosts, was 1 TB). The JSON is kept
/// with a marker where the base goes, and the caller's base is put in on the way out.
final class MetadataCache: Sendable {
    private struct State {
        var entries: [String: String] = [:]
        var order: [String] = []
        var bytes = 0
    }
    private let state = NIOLockedValueBox(State())
    let capacity: Int
    /// The JSON kept at most, in UTF-8 bytes; one instance's larger than a sixteenth of it is not kept.
    let byteBudget: Int
    /// Where the base URL goes in the kept JSON (a text value would need U+0001 around this name to be taken
    /// for it; the control character is escaped as `\u0001` in JSON, which is what is looked for).
    static let baseMarker = "\u{1}arca-base\u{1}"
    /// The marker as the JSON encoder writes it inside a string.
    private static let quotedMarker = #"\u0001arca-base\u0001"#

    init(capacity: Int = 20_000, byteBudget: Int = 64 << 20) {
        self.capacity = capacity
        self.byteBudget = byteBudget
    }

    /// Entries and bytes kept (tests).
    var held: (entries: Int, bytes: Int) { state.withLockedValue { ($0.entries.count, $0.bytes) } }

    func json(for instance: ArchivedInstance, base: String, header: () throws -> DataSet) throws -> String {
        let key = instance.location + "|" + instance.hash
        let kept = try state.withLockedValue({ $0.entries[key] }) ?? encode(instance, header: header, key: key)
        return kept.replacingOccurrences(of: Self.quotedMarker, with: DICOMJSONEncoder.escaped(base))
    }

    private func encode(_ instance: ArchivedInstance, header: () throws -> DataSet, key: String) throws -> String {
        var ds = try header()
        let url = "\(Self.baseMarker)/studies/\(instance.studyInstanceUID)/series/\(instance.seriesInstanceUID)/instances/\(instance.sopInstanceUID)"
        // The header stops before the pixel data: it is named by its bulk data URI (frames in order).
        if ds[.rows] != nil {
            let vr: VR = (ds.int(.bitsAllocated) ?? 8) > 8 ? .OW : .OB
            ds.set(Element(tag: .pixelData, vr: vr, value: .fragments(EncapsulatedPixelData())))
        }
        let encoder = DICOMJSONEncoder(inlineLimit: 256) { tag in url + "/bulkdata/" + DICOMJSONEncoder.key(tag) }
        let json = encoder.encode(ds)
        let size = json.utf8.count
        guard size <= byteBudget / 16 else { return json }
        state.withLockedValue { s in
            if let old = s.entries.updateValue(json, forKey: key) { s.bytes -= old.utf8.count } else { s.order.append(key) }
            s.bytes += size
            while s.order.count > capacity || s.bytes > byteBudget, !s.order.isEmpty {
                if let gone = s.entries.removeValue(forKey: s.order.removeFirst()) { s.bytes -= gone.utf8.count }
            }
        }
        return json
    }
}
