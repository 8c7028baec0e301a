/// Who is on the other end of an association, as far as the transport can tell: its address and, on a TLS
/// association with client certificates, the certificate's subject (verified against our CA by the handshake).
public struct PeerIdentity: Sendable, Hashable {
    /// "127.0.0.1:51234", as logged.
    public var address: String
    /// The address without the port ("127.0.0.1", "::1"), which rules match.
    public var host: String?
    public var certificateSubject: String?
    public var isTLS: Bool

    public init(address: String, host: String?, certificateSubject: String? = nil, isTLS: Bool = false) {
        self.address = address
        self.host = host
        self.certificateSubject = certificateSubject
        self.isTLS = isTLS
    }
}
