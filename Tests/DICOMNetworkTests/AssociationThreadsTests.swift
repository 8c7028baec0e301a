import DICOMNetwork
import Logging
import NIOConcurrencyHelpers
import NIOCore
import Testing

/// `AssociationThreads`: an association alone on its event loop may block it (a C-STORE then commits there); two
/// associations on one loop, or one with several operations outstanding, may not.
@Suite struct AssociationThreadsTests {
    static let secondaryCapture = "1.2.840.10008.5.1.4.1.1.7"

    /// Records, for each C-STORE, whether the storage was told its thread is its own.
    final class ThreadRecorder: StorageService {
        let seen = NIOLockedValueBox<[String: Bool]>([:])

        func beginStore(_ request: StoreRequest) async throws -> any InstanceSink {
            seen.withLockedValue { $0[request.sopInstanceUID] = request.thread.isOwn }
            return Sink()
        }

        struct Sink: InstanceSink {
            func write(_ fragment: ByteBuffer) async throws {}
            func finish() async -> StoreOutcome { .success }
            func cancel() async {}
        }
    }

    static func server(threads: Int, window: AsyncOperationsWindow = .synchronous, _ storage: ThreadRecorder) -> DICOMServer {
        var policy = AssociationPolicy(aeTitle: "STORE_SCP", acceptedAbstractSyntaxes: [secondaryCapture])
        policy.asyncOperationsWindow = window
        var configuration = SCPConfiguration(host: "127.0.0.1", port: 0, policy: policy)
        configuration.associationThreads = threads
        return DICOMServer(configuration: configuration,
                           services: DIMSEServiceRegistry([StorageSCPService(storage: storage) { $0 == secondaryCapture }]),
                           logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() })
    }

    static func associate(_ port: Int, window: AsyncOperationsWindow? = nil,
                          _ body: (ClientAssociation) async throws -> Void) async throws {
        let request = AssociateRequest(calledAETitle: "STORE_SCP", callingAETitle: "TEST",
                                       presentationContexts: AssociateRequest.presentationContexts(abstractSyntaxes: [secondaryCapture]),
                                       asyncOperationsWindow: window)
        try await ClientAssociation.withAssociation(host: "127.0.0.1", port: port, request: request) { association in
            try await body(association)
            try await association.release()
        }
    }

    /// A C-STORE of a few bytes (the recorder reads none of them).
    static func store(_ uid: String, on association: ClientAssociation) async throws {
        let context = try #require(association.context(for: secondaryCapture))
        let answer = try await association.store(sopClassUID: secondaryCapture, sopInstanceUID: uid, contextID: context.id) { _, emit in
            try await emit(ByteBuffer(bytes: [0x08, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00]))
        }
        #expect(answer.status == .success)
    }

    static func running(_ server: DICOMServer, _ body: (Int) async throws -> Void) async throws {
        let task = Task { try await server.run() }
        defer { server.shutdown(); task.cancel() }
        try await body(try await server.waitUntilListening())
    }

    @Test func associationsOnLoopsOfTheirOwnMayBlockThem() async throws {
        let storage = ThreadRecorder()
        try await Self.running(Self.server(threads: 4, storage)) { port in
            try await Self.associate(port) { first in
                try await Self.associate(port) { second in
                    try await Self.store("1.2.3.1", on: first)
                    try await Self.store("1.2.3.2", on: second)
                }
            }
        }
        #expect(storage.seen.withLockedValue { $0 } == ["1.2.3.1": true, "1.2.3.2": true])
    }

    @Test func associationsSharingALoopNeverBlockIt() async throws {
        let storage = ThreadRecorder()
        try await Self.running(Self.server(threads: 1, storage)) { port in
            try await Self.associate(port) { first in
                try await Self.store("1.2.3.1", on: first)
                try await Self.associate(port) { second in
                    try await Self.store("1.2.3.2", on: second)
                    try await Self.store("1.2.3.3", on: first)
                }
            }
        }
        // Alone at first; then the loop had two associations.
        #expect(storage.seen.withLockedValue { $0 } == ["1.2.3.1": true, "1.2.3.2": false, "1.2.3.3": false])
    }

    @Test func aLoopIsAnAssociationsOwnAgainOnceTheOtherHasGone() async throws {
        let storage = ThreadRecorder()
        var alone = false
        try await Self.running(Self.server(threads: 1, storage)) { port in
            try await Self.associate(port) { first in
                try await Self.associate(port) { second in try await Self.store("1.2.3.1", on: second) }
                // The server counts the other association until its channel has closed and its session ended, a
                // moment after the release's answer: each store is a round trip, so a bounded number of them waits.
                for attempt in 0..<2_000 where !alone {
                    let uid = "1.2.4.\(attempt)"
                    try await Self.store(uid, on: first)
                    alone = storage.seen.withLockedValue { $0[uid] } == true
                }
            }
        }
        #expect(storage.seen.withLockedValue { $0["1.2.3.1"] } == false)
        #expect(alone, "the loop never became the remaining association's own")
    }

    @Test func anAssociationWithSeveralOperationsOutstandingNeverBlocksItsLoop() async throws {
        let storage = ThreadRecorder()
        let window = AsyncOperationsWindow(maxInvoked: 4, maxPerformed: 4)
        try await Self.running(Self.server(threads: 4, window: window, storage)) { port in
            try await Self.associate(port, window: window) { association in
                try await Self.store("1.2.3.1", on: association)
            }
        }
        #expect(storage.seen.withLockedValue { $0 } == ["1.2.3.1": false])
    }
}
