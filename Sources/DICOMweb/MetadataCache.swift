import Archive
import DICOM
import NIOConcurrencyHelpers

/// WADO-RS metadata per instance, as JSON, kept for the instances asked for most recently: a viewer opening a
/// 500-slice series asks for its metadata once per study it shows, and a header read per instance per request
/// would cost 500 file opens each time. Keyed by location and hash, so a replaced instance is read again.
final class MetadataCache: Sendable {
    private struct State {
        var entries: [String: String] = [:]
        var order: [String] = []
    }
    private let state = NIOLockedValueBox(State())
    let capacity: Int

    init(capacity: Int = 20_000) { self.capacity = capacity }

    func json(for instance: ArchivedInstance, base: String, header: () throws -> DataSet) throws -> String {
        let key = base + "|" + instance.location + "|" + instance.hash
        if let hit = state.withLockedValue({ $0.entries[key] }) { return hit }
        var ds = try header()
        let url = "\(base)/studies/\(instance.studyInstanceUID)/series/\(instance.seriesInstanceUID)/instances/\(instance.sopInstanceUID)"
        // The header stops before the pixel data: it is named by its bulk data URI (frames in order).
        if ds[.rows] != nil {
            let vr: VR = (ds.int(.bitsAllocated) ?? 8) > 8 ? .OW : .OB
            ds.set(Element(tag: .pixelData, vr: vr, value: .fragments(EncapsulatedPixelData())))
        }
        let encoder = DICOMJSONEncoder(inlineLimit: 256) { tag in url + "/bulkdata/" + DICOMJSONEncoder.key(tag) }
        let json = encoder.encode(ds)
        state.withLockedValue { s in
            if s.entries.updateValue(json, forKey: key) == nil { s.order.append(key) }
            while s.order.count > capacity { s.entries.removeValue(forKey: s.order.removeFirst()) }
        }
        return json
    }
}
