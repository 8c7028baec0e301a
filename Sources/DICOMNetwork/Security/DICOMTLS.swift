import NIOCore
import NIOSSL
import X509

/// TLS for DICOM associations: the secure transport connection profiles of PS3.15 B.1 as BCP 195 (RFC 9325)
/// now defines them (PS3.15 B.9, "BCP 195 RFC 8996 TLS Profile"): TLS 1.2 or later, and in TLS 1.2 only
/// ECDHE key exchange with AEAD ciphers (AES-GCM, ChaCha20-Poly1305). TLS 1.3's suites are all AEAD and need no
/// list. The same contexts serve DIMSE (`--tls-port`), the SCU commands (`--tls`) and HTTPS.
public enum DICOMTLS {
    /// BCP 195's recommended TLS 1.2 suites, in order of preference.
    public static let bcp195CipherSuites: [NIOTLSCipher] = [
        .TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, .TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
        .TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, .TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
        .TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, .TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
    ]

    /// Server side: our certificate chain and key; with `clientCA`, a client must present a certificate
    /// issued by it (mutual TLS), otherwise the handshake fails before any DICOM byte is read.
    public static func serverConfiguration(certificate: String, key: String, clientCA: String?) throws -> TLSConfiguration {
        var tls = TLSConfiguration.makeServerConfiguration(
            certificateChain: try loadChain(certificate).map { .certificate($0) }, privateKey: .privateKey(try loadKey(key)))
        applyProfile(&tls)
        if let clientCA {
            tls.trustRoots = .certificates(try loadChain(clientCA))
            // A client is identified by its certificate's chain to our CA, not by a host name.
            tls.certificateVerification = .noHostnameVerification
        } else {
            tls.certificateVerification = .none
        }
        return tls
    }

    public static func serverContext(certificate: String, key: String, clientCA: String?) throws -> NIOSSLContext {
        try context(serverConfiguration(certificate: certificate, key: key, clientCA: clientCA))
    }

    /// Client side: the server's certificate is verified against `ca`, host names unchecked (DICOM peers are
    /// configured by address and AE title, and a site's own CA's certificates seldom name their hosts). Without
    /// `ca`, against the system's roots and with its host name (or address) checked too: any publicly trusted
    /// certificate, one issued for another site, was accepted. `certificate` and `key` are ours, for servers that
    /// require one.
    public static func clientContext(ca: String?, certificate: String?, key: String?) throws -> NIOSSLContext {
        var tls = TLSConfiguration.makeClientConfiguration()
        applyProfile(&tls)
        if let ca {
            tls.trustRoots = .certificates(try loadChain(ca))
            tls.certificateVerification = .noHostnameVerification
        } else {
            tls.certificateVerification = .fullVerification
        }
        switch (certificate, key) {
        case (let certificate?, let key?):
            tls.certificateChain = try loadChain(certificate).map { .certificate($0) }
            tls.privateKey = .privateKey(try loadKey(key))
        case (nil, nil):
            break
        default:
            throw TLSFileError("a client certificate needs its key and a key its certificate")
        }
        return try context(tls)
    }

    static func applyProfile(_ tls: inout TLSConfiguration) {
        tls.minimumTLSVersion = .tlsv12
        tls.cipherSuiteValues = bcp195CipherSuites
    }

    static func context(_ tls: TLSConfiguration) throws -> NIOSSLContext {
        do { return try NIOSSLContext(configuration: tls) } catch {
            throw TLSFileError("TLS configuration refused: \(error)")
        }
    }

    static func loadChain(_ path: String) throws -> [NIOSSLCertificate] {
        let chain: [NIOSSLCertificate]
        do { chain = try NIOSSLCertificate.fromPEMFile(path) } catch {
            throw TLSFileError("cannot read the certificate(s) in \(path): \(error)")
        }
        guard !chain.isEmpty else { throw TLSFileError("\(path) holds no PEM certificate") }
        return chain
    }

    static func loadKey(_ path: String) throws -> NIOSSLPrivateKey {
        if let problem = FilePermissions.privateKeyProblem(path) { throw TLSFileError(problem) }
        do { return try NIOSSLPrivateKey(file: path, format: .pem) } catch {
            throw TLSFileError("cannot read the private key in \(path): \(error)")
        }
    }

    /// The subject of a peer's certificate as an RFC 4514 string ("CN=modality1,O=Hospital"), which access
    /// rules match.
    public static func subject(of certificate: NIOSSLCertificate) -> String? {
        guard let der = try? certificate.toDERBytes(), let parsed = try? Certificate(derEncoded: der) else { return nil }
        return parsed.subject.description
    }

    /// The verified client certificate's subject on a TLS channel (nil without TLS or without a certificate).
    /// Only meaningful once the handshake is done, i.e. after the first decrypted byte arrived.
    public static func peerSubject(on channel: any Channel) async -> String? {
        guard let certificate = try? await channel.nioSSL_peerCertificate().get() else { return nil }
        return subject(of: certificate)
    }
}

public struct TLSFileError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
