import Archive
import DICOM
import DICOMNetwork
import Hummingbird
import Logging
import NIOCore

/// STOW-RS (PS3.18 10.5): each `application/dicom` part of a `multipart/related` body goes through the same
/// storage as a C-STORE (same durability, validation, duplicate policy, hooks), streamed as it arrives: its
/// Part-10 meta information names the SOP class, instance and syntax, the dataset bytes follow into the sink.
extension DICOMwebRoutes {
    static let stowCallingAETitle = "STOW_RS"

    /// One part being received.
    private struct Part {
        var parser = Part10Parser(options: .headerOnly)
        var header = DataSetBuilder()
        var pending: [UInt8] = []
        var sink: (any InstanceSink)?
        var failure: (reason: UInt16, comment: String)?
        var received: UInt64 = 0
        var started = false
    }

    func store(_ request: Request, study: String?) async throws -> Response {
        if let study, !UIDString.isValid(study) { throw HTTPError(.badRequest, message: "\(study.prefix(70)) is not a UID") }
        let contentType = MediaRange.contentType(request.headers[.contentType])
        guard let contentType, contentType.type == "multipart/related",
              contentType.parameters["type"].map({ $0 == "application/dicom" }) ?? true else {
            throw HTTPError(.unsupportedMediaType, message: "STOW-RS takes multipart/related; type=\"application/dicom\"")
        }
        guard let boundary = contentType.parameters["boundary"], !boundary.isEmpty, boundary.utf8.count <= 200 else {
            throw HTTPError(.badRequest, message: "multipart/related without a boundary")
        }
        var reader = MultipartReader(boundary: boundary)
        var part: Part?
        let base = Self.baseURL(request)

        // A part's commit (its flush) runs while the next parts arrive: the client does not wait between parts as
        // a C-STORE requestor waits for each response, so their flushes overlap and share the ingest's group
        // commit. The response waits for every commit; at most `stowCommitsInFlight` run at once.
        let concluded = try await withThrowingTaskGroup(of: (Int, Concluded).self) { commits -> [(Int, Concluded)] in
            var done: [(Int, Concluded)] = []
            /// The SOP Instance UIDs being committed, by part number.
            var running: [Int: String] = [:]
            var number = 0
            func collect(_ finished: (Int, Concluded)) {
                done.append(finished)
                running[finished.0] = nil
            }
            do {
                for try await chunk in request.body {
                    for event in try reader.feed(chunk) {
                        switch event {
                        case .partStart(let headers):
                            var p = Part()
                            if let type = headers["content-type"], !type.lowercased().hasPrefix("application/dicom") {
                                p.failure = (0xC000, "part of type \(type) is not application/dicom")
                            }
                            part = p
                        case .bytes(let bytes):
                            guard var p = part else { continue }
                            part = nil
                            await feed(&p, bytes)
                            part = p
                        case .partEnd:
                            guard let p = part else { continue }
                            part = nil
                            number += 1
                            switch await settle(p, study: study, base: base) {
                            case .concluded(let c):
                                done.append((number, c))
                            case .commit(let commit):
                                // A second copy of an instance in one request waits for the first: the duplicate
                                // policy then sees them in the order sent, as it did one part at a time.
                                while running.count >= Self.stowCommitsInFlight || running.values.contains(commit.sop),
                                      let finished = try await commits.next() {
                                    collect(finished)
                                }
                                let n = number
                                let logger = self.logger
                                commits.addTask { (n, await commit.run(logger)) }
                                running[n] = commit.sop
                            }
                        }
                    }
                }
                try reader.finish()
            } catch {
                // A malformed body, or a client gone: the part being received is dropped; those already whole are
                // committed (or refused) before the request ends, their tasks not cancelled midway.
                await part?.sink?.cancel()
                while try await commits.next() != nil {}
                if let failure = error as? MultipartReader.Failure { throw HTTPError(.badRequest, message: failure.description) }
                throw error
            }
            while let finished = try await commits.next() { collect(finished) }
            return done
        }
        var referenced: [DataSet] = []
        var failed: [DataSet] = []
        var studies = Set<String>()
        for (_, c) in concluded.sorted(by: { $0.0 < $1.0 }) {
            switch c {
            case .referenced(let item, let study):
                referenced.append(item)
                studies.insert(study)
            case .failed(let item):
                failed.append(item)
            }
        }
        guard !referenced.isEmpty || !failed.isEmpty else { throw HTTPError(.badRequest, message: "the body holds no part") }

        var response = DataSet()
        // Type 2 (PS3.18 Table I.1-1): present, and empty unless one study holds every instance stored.
        if studies.count == 1, let only = studies.first {
            response.setString("\(base)/studies/\(only)", for: .retrieveURL, vr: .UR)
        } else {
            response.set(Element(tag: .retrieveURL, vr: .UR, bytes: []))
        }
        if !referenced.isEmpty { response.setItems(referenced, for: .referencedSOPSequence) }
        if !failed.isEmpty { response.setItems(failed, for: .failedSOPSequence) }
        let status: HTTPResponse.Status = failed.isEmpty ? .ok : referenced.isEmpty ? .conflict : .accepted
        return Response(status: status, headers: [.contentType: "application/dicom+json"],
                        body: ResponseBody(byteBuffer: ByteBuffer(string: DICOMJSONEncoder().encode(response))))
    }

    /// Commits in flight per STOW-RS request: enough for their flushes to be shared, few enough that a request
    /// holds a bounded number of instances between received and durable.
    static let stowCommitsInFlight = 16

    /// What became of one part.
    private enum Concluded: Sendable {
        case referenced(DataSet, study: String)
        case failed(DataSet)
    }

    /// A whole part that passed its checks: its sink is finished (made durable) by `run`, off the request's path.
    private struct Commit: Sendable {
        let sink: any InstanceSink
        let item: DataSet
        let study: String
        let retrieveURL: String
        let sop: String

        func run(_ logger: Logger) async -> Concluded {
            var item = item
            let outcome = await sink.finish()
            if outcome.status.isSuccess || outcome.status.isWarning {
                item.setString(retrieveURL, for: .retrieveURL, vr: .UR)
                return .referenced(item, study: study)
            }
            item.setUInt16(outcome.status.rawValue, for: .failureReason)
            logger.notice("[STOW-RS] \(sop) refused: \(outcome.status) \(outcome.comment ?? "")")
            return .failed(item)
        }
    }

    private enum Settled {
        case concluded(Concluded)
        case commit(Commit)
    }

    /// A part that ended: refused here (nothing readable, another study than the request's…), or ready to commit.
    private func settle(_ p: Part, study: String?, base: String) async -> Settled {
        var p = p
        var item = DataSet()
        let sopClass = p.parser.meta.uid(.mediaStorageSOPClassUID) ?? p.header.dataSet.uid(.sopClassUID) ?? ""
        let sop = p.parser.meta.uid(.mediaStorageSOPInstanceUID) ?? p.header.dataSet.uid(.sopInstanceUID) ?? ""
        if !sopClass.isEmpty { item.setString(sopClass, for: .referencedSOPClassUID, vr: .UI) }
        if !sop.isEmpty { item.setString(sop, for: .referencedSOPInstanceUID, vr: .UI) }
        if p.failure == nil, !p.started { p.failure = (0xC000, "the part holds no DICOM dataset") }
        if p.failure == nil {
            do { try p.parser.finish(&p.header) } catch { p.failure = (0xC000, "unreadable dataset: \(error)") }
        }
        let instanceStudy = p.header.dataSet.uid(.studyInstanceUID) ?? ""
        if p.failure == nil, let study, instanceStudy != study {
            p.failure = (0x0110, "Study Instance UID \(instanceStudy) is not the study of the request")
        }
        if let failure = p.failure {
            await p.sink?.cancel()
            item.setUInt16(failure.reason, for: .failureReason)
            logger.notice("[STOW-RS] \(sop.isEmpty ? "a part" : sop) refused: \(failure.comment)")
            return .concluded(.failed(item))
        }
        guard let sink = p.sink else {
            item.setUInt16(0xA700, for: .failureReason)
            return .concluded(.failed(item))
        }
        let url = "\(base)/studies/\(instanceStudy)/series/\(p.header.dataSet.uid(.seriesInstanceUID) ?? "")/instances/\(sop)"
        return .commit(Commit(sink: sink, item: item, study: instanceStudy, retrieveURL: url, sop: sop))
    }

    /// A part's bytes: the meta information is read first (at most 64 KB before it ends), then the sink opens
    /// and takes the dataset, while a header-only parse keeps the attributes checked at the end.
    private func feed(_ p: inout Part, _ bytes: ByteBuffer) async {
        guard p.failure == nil else { return }
        p.received += UInt64(bytes.readableBytes)
        guard p.received <= configuration.maxObjectSize else {
            await p.sink?.cancel()
            p.sink = nil
            p.failure = (0xA700, "part larger than \(configuration.maxObjectSize) bytes")
            return
        }
        if !p.parser.isStopped {
            do {
                try bytes.withUnsafeReadableBytes { try p.parser.feed($0, to: &p.header) }
            } catch {
                await p.sink?.cancel()
                p.sink = nil
                p.failure = (0xC000, "unreadable dataset: \(error)")
                return
            }
        }
        if p.sink == nil {
            p.pending += Array(bytes.readableBytesView)
            guard let offset = p.parser.dataSetOffset, let syntax = p.parser.transferSyntax else {
                if p.pending.count > 64 * 1024 { p.failure = (0xC000, "no Part-10 meta information in the first 64 KB") }
                return
            }
            let meta = p.parser.meta
            guard let sopClass = meta.uid(.mediaStorageSOPClassUID), let sop = meta.uid(.mediaStorageSOPInstanceUID) else {
                p.failure = (0xC000, "the meta information names no SOP class or instance")
                return
            }
            guard configuration.acceptsSOPClass(sopClass) else {
                p.failure = (0x0122, "SOP class \(sopClass.prefix(64)) is not stored here")
                return
            }
            p.started = true
            let request = StoreRequest(callingAETitle: Self.stowCallingAETitle, calledAETitle: configuration.aeTitle, sopClassUID: sopClass,
                                       sopInstanceUID: sop, transferSyntax: syntax, messageID: 0)
            do {
                p.sink = try await services.storage.beginStore(request)
            } catch let refusal as StoreRefusal {
                p.failure = (refusal.outcome.status.rawValue, refusal.outcome.comment ?? "refused")
                return
            } catch {
                p.failure = (0xA700, "\(error)")
                return
            }
            let start = Int(clamping: offset)
            let rest = start < p.pending.count ? Array(p.pending[start...]) : []
            p.pending = []
            if !rest.isEmpty { await write(&p, ByteBuffer(bytes: rest)) }
            return
        }
        await write(&p, bytes)
    }

    private func write(_ p: inout Part, _ bytes: ByteBuffer) async {
        guard let sink = p.sink else { return }
        do { try await sink.write(bytes) } catch {
            await sink.cancel()
            p.sink = nil
            p.failure = (0xA700, "\(error)")
        }
    }
}
