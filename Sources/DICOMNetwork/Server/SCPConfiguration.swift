import NIOCore
import NIOSSL

/// Everything the storage SCP is configured with: where it listens, how it negotiates, its limits.
public struct SCPConfiguration: Sendable {
    public var host: String
    public var port: Int
    public var policy: AssociationPolicy
    /// A dataset that grows past this without its last fragment is aborted.
    public var maxObjectSize: UInt64
    /// No A-ASSOCIATE-RQ within this time of connecting closes the connection (the ARTIM timer, PS3.8 9.1.5).
    public var artimTimeout: TimeAmount
    /// An established association that receives nothing for this long is aborted.
    public var idleTimeout: TimeAmount
    /// On shutdown, running associations get this long to finish before they are aborted.
    public var shutdownGracePeriod: TimeAmount
    /// TLS on this listener (DICOM's secure transport, usually port 2762); nil: plain TCP.
    public var tls: NIOSSLContext?
    /// Who may associate and use which service; no rules: anyone the policy accepts, for everything.
    public var access = DICOMAccessRules([])
    /// Where association, store, query and retrieve events are recorded; nil: nowhere.
    public var audit: (any AuditTrail)?
    /// The event loops the associations run on (`AssociationThreads`): up to this many associations each have a
    /// thread of their own (until churn makes two meet on one). Idle loops cost a thread and its epoll instance.
    public var associationThreads = 32

    public init(host: String = "0.0.0.0", port: Int = 11112, policy: AssociationPolicy,
                maxObjectSize: UInt64 = 4 << 30, artimTimeout: TimeAmount = .seconds(30),
                idleTimeout: TimeAmount = .seconds(600), shutdownGracePeriod: TimeAmount = .seconds(30)) {
        self.host = host
        self.port = port
        self.policy = policy
        self.maxObjectSize = maxObjectSize
        self.artimTimeout = artimTimeout
        self.idleTimeout = idleTimeout
        self.shutdownGracePeriod = shutdownGracePeriod
    }
}
