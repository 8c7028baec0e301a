import DICOM
import NIOCore

/// What the SCP knows of an incoming C-STORE when its dataset starts to arrive.
public struct StoreRequest: Sendable {
    public var callingAETitle: String
    public var calledAETitle: String
    public var sopClassUID: String
    public var sopInstanceUID: String
    public var transferSyntax: TransferSyntax
    public var messageID: UInt16
    public var priority: UInt16
    public var moveOriginatorAETitle: String?
    /// The association's thread: a storage whose thread is its own (`isOwn`) commits on it rather than hopping to
    /// another thread and back.
    public var thread: AssociationThread

    public init(callingAETitle: String, calledAETitle: String, sopClassUID: String, sopInstanceUID: String,
                transferSyntax: TransferSyntax, messageID: UInt16, priority: UInt16 = 0, moveOriginatorAETitle: String? = nil,
                thread: AssociationThread = .shared) {
        self.callingAETitle = callingAETitle
        self.calledAETitle = calledAETitle
        self.sopClassUID = sopClassUID
        self.sopInstanceUID = sopInstanceUID
        self.transferSyntax = transferSyntax
        self.messageID = messageID
        self.priority = priority
        self.moveOriginatorAETitle = moveOriginatorAETitle
        self.thread = thread
    }
}

/// The answer to a C-STORE: the status sent back, with an Error Comment on failure.
public struct StoreOutcome: Sendable, Equatable {
    public var status: DIMSEStatus
    public var comment: String?
    /// Whose data it was, for the audit trail: a store's record named only the SOP class and instance, so "who
    /// sent data about this patient" had no answer.
    public var subject: Subject?

    public struct Subject: Sendable, Equatable {
        public var patientID: String
        public var studyInstanceUID: String
        public init(patientID: String, studyInstanceUID: String) {
            self.patientID = patientID
            self.studyInstanceUID = studyInstanceUID
        }
    }

    public init(status: DIMSEStatus, comment: String? = nil) {
        self.status = status
        self.comment = comment
    }

    public static let success = StoreOutcome(status: .success)
}

/// Where the SCP streams one instance's dataset, fragment by fragment, as its PDVs arrive.
/// `finish` answers only once the instance is durable (or says why it is not); `cancel` leaves nothing behind.
public protocol InstanceSink: Sendable {
    func write(_ fragment: ByteBuffer) async throws
    func finish() async -> StoreOutcome
    func cancel() async
}

/// The storage behind the SCP: the archive, eDCKV, or both.
public protocol StorageService: Sendable {
    /// Starts receiving an instance. Throwing refuses it: the thrown `StoreRefusal` (or 0xA700 for other
    /// errors) is answered once its dataset has been read and dropped.
    func beginStore(_ request: StoreRequest) async throws -> any InstanceSink
}

/// A refusal with its status, e.g. an invalid SOP Instance UID (0xC000).
public struct StoreRefusal: Error, Sendable {
    public var outcome: StoreOutcome
    public init(_ status: DIMSEStatus, _ comment: String) { outcome = StoreOutcome(status: status, comment: comment) }
}
