import ArgumentParser
import DICOMNetwork
import NIOSSL

/// `--tls` and its files, shared by the SCU commands (echo, store, find, move, get).
struct TLSClientOptions: ParsableArguments {
    @Flag(help: "Use DICOM TLS (BCP 195 profile: TLS 1.2+, ECDHE with AEAD ciphers).") var tls = false
    @Option(name: .customLong("tls-ca"), help: "CA certificate(s) (PEM) the peer's certificate must chain to (default: the system's).")
    var tlsCA: String?
    @Option(name: .customLong("tls-certificate"), help: "Our certificate (PEM), for peers that require a client certificate.")
    var tlsCertificate: String?
    @Option(name: .customLong("tls-key"), help: "The private key (PEM) of --tls-certificate.") var tlsKey: String?

    /// nil without `--tls`.
    func context() throws -> NIOSSLContext? {
        guard tls || tlsCA != nil || tlsCertificate != nil else { return nil }
        return try DICOMTLS.clientContext(ca: tlsCA, certificate: tlsCertificate, key: tlsKey)
    }
}
