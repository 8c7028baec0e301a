import Archive
import DICOM
import DICOMNetwork
import NIOCore

/// Sends stored instances to a peer over DIMSE: which accepted context an instance goes on, and its dataset
/// as a `DataSetProducer` in that context's syntax (`InstanceReading` decides how).
struct InstanceTransfer: Sendable {
    let reading: InstanceReading

    /// The context of `contexts` to send `instance` on: its stored syntax first, else one it converts to.
    func context(for instance: ArchivedInstance, among contexts: [AcceptedPresentationContext]) -> AcceptedPresentationContext? {
        let candidates = contexts.filter { $0.abstractSyntax == instance.sopClassUID }
        for ts in reading.syntaxes(from: instance.transferSyntaxUID) {
            if let c = candidates.first(where: { $0.transferSyntax == ts }) { return c }
        }
        return candidates.first { reading.canConvert(from: instance.transferSyntaxUID, to: $0.transferSyntax) }
    }

    /// A producer of `instance`'s dataset encoded in `target`, cut to the peer's fragment size. The instance is
    /// opened (and converted) here, so a failure is a failed sub-operation, not a broken message.
    func producer(for instance: ArchivedInstance, in target: String) async throws -> DataSetProducer {
        let prepared = try await reading.prepare(instance, in: target)
        return { maxChunk, emit in
            try await prepared.read { piece in
                var buffer = ByteBuffer(bytes: piece)
                while buffer.readableBytes > 0, let chunk = buffer.readSlice(length: min(maxChunk, buffer.readableBytes)) {
                    try await emit(chunk)
                }
            }
        }
    }
}
