import Archive
import DICOM
import DICOMNetwork
import NIOCore
import NIOPosix

/// Sends stored instances to a peer: the bytes as stored when the peer accepted their transfer syntax,
/// re-encoded between uncompressed syntaxes otherwise. Reads run on the thread pool, a few MB per trip (one
/// trip costs 0.1–0.25 ms on these machines, so not one per PDU).
struct InstanceTransfer: Sendable {
    let source: any InstanceSource
    let threadPool: NIOThreadPool

    static let readPiece = 4 << 20

    /// Transfer syntaxes an instance stored in `stored` can be sent in, best first.
    static func sendable(from stored: String) -> [String] {
        var out = [stored]
        if canConvert(from: stored, to: UpperLayerUID.explicitVRLittleEndian) { out.append(UpperLayerUID.explicitVRLittleEndian) }
        if canConvert(from: stored, to: UpperLayerUID.implicitVRLittleEndian) { out.append(UpperLayerUID.implicitVRLittleEndian) }
        var seen = Set<String>()
        return out.filter { seen.insert($0).inserted }
    }

    /// Re-encoding between the uncompressed syntaxes keeps every value (deflated output is not written).
    static func canConvert(from stored: String, to target: String) -> Bool {
        if stored == target { return true }
        guard let s = TransferSyntax(uid: stored), let t = TransferSyntax(uid: target) else { return false }
        return !s.isEncapsulated && !t.isEncapsulated && !t.isDeflated
    }

    /// The context of `contexts` to send `instance` on: its stored syntax first, else one it converts to.
    static func context(for instance: ArchivedInstance, among contexts: [AcceptedPresentationContext]) -> AcceptedPresentationContext? {
        let candidates = contexts.filter { $0.abstractSyntax == instance.sopClassUID }
        for ts in sendable(from: instance.transferSyntaxUID) {
            if let c = candidates.first(where: { $0.transferSyntax == ts }) { return c }
        }
        return nil
    }

    /// A producer of `instance`'s dataset encoded in `target`.
    func producer(for instance: ArchivedInstance, in target: String) async throws -> DataSetProducer {
        let source = self.source
        let reader = try await threadPool.runIfActive { SendableReader(try source.open(instance.location)) }
        if reader.value.transferSyntax.uid == target {
            let pool = threadPool
            return { maxChunk, emit in
                while true {
                    let piece = try await pool.runIfActive { try reader.value.readChunk(maxLength: Self.readPiece) }
                    if piece.isEmpty { return }
                    var buffer = ByteBuffer(bytes: piece)
                    while let chunk = buffer.readSlice(length: min(maxChunk, buffer.readableBytes)), chunk.readableBytes > 0 {
                        try await emit(chunk)
                    }
                }
            }
        }
        guard Self.canConvert(from: reader.value.transferSyntax.uid, to: target), let syntax = TransferSyntax(uid: target) else {
            throw DIMSEError("cannot convert \(instance.sopInstanceUID) from \(reader.value.transferSyntax.uid) to \(target)")
        }
        let bytes = try await threadPool.runIfActive { () -> [UInt8] in
            var all: [UInt8] = []
            while true {
                let piece = try reader.value.readChunk(maxLength: Self.readPiece)
                if piece.isEmpty { break }
                all += piece
            }
            return try DataSetWriter.encode(try decodeDataSet(all, syntax: reader.value.transferSyntax), syntax: syntax)
        }
        return { maxChunk, emit in
            var start = 0
            repeat {
                let end = min(bytes.count, start + maxChunk)
                try await emit(ByteBuffer(bytes: bytes[start..<end]))
                start = end
            } while start < bytes.count
        }
    }
}

/// A stored instance's reader handed between the task and the pool threads that read it, one at a time.
final class SendableReader: @unchecked Sendable {
    let value: any StoredInstanceReader
    init(_ value: any StoredInstanceReader) { self.value = value }
}

/// A bare dataset (no preamble or meta) in a known syntax.
func decodeDataSet(_ bytes: [UInt8], syntax: TransferSyntax) throws -> DataSet {
    var parser = DataSetParser(transferSyntax: syntax)
    var builder = DataSetBuilder()
    try parser.feed(bytes, to: &builder)
    try parser.finish(&builder)
    return builder.dataSet
}
