import Foundation
import HTTPTypes
import Hummingbird

/// The scheme and authority a client used to reach this server: the request's own, or what a reverse proxy in
/// front of it says (`Forwarded`, RFC 7239, else `X-Forwarded-Proto`, `-Host` and `-Port`). Answers name their
/// URLs with it (Retrieve URL, BulkDataURI), and a page's `Origin` is compared with it.
struct PublicOrigin: Equatable {
    var scheme: String
    var authority: String

    init(_ request: Request) {
        scheme = "http"
        authority = request.head.authority ?? "localhost"
        func header(_ name: String) -> String? { HTTPField.Name(name).flatMap { request.headers[$0] } }
        if let forwarded = header("Forwarded") {
            for part in forwarded.split(separator: ",").first?.split(separator: ";") ?? [] {
                let kv = part.split(separator: "=", maxSplits: 1).map { String($0).trimmed }
                guard kv.count == 2 else { continue }
                let v = kv[1].trimmingCharacters(in: CharacterSet(charactersIn: "\""))
                if kv[0].lowercased() == "proto" { scheme = v }
                if kv[0].lowercased() == "host" { authority = v }
            }
        } else {
            if let p = header("X-Forwarded-Proto") { scheme = p }
            if let h = header("X-Forwarded-Host")?.split(separator: ",").first.map({ String($0).trimmed }) {
                authority = h
                // nginx's `$host` drops the port; `X-Forwarded-Port` says it.
                if Self.split(Substring(h)).port == nil, let port = header("X-Forwarded-Port").flatMap({ Int($0.trimmed) }) {
                    authority = h + ":" + String(port)
                }
            }
        }
    }

    /// Whether a page's `Origin` (`scheme://host[:port]`) is this server as `request` reached it: the public
    /// origin or the request's own authority, host names compared in lower case without a trailing dot, a
    /// missing port taken as the scheme's default.
    static func isSame(_ origin: String, as request: Request) -> Bool {
        guard let schemeEnd = origin.range(of: "://") else { return false }
        let scheme = origin[..<schemeEnd.lowerBound].lowercased()
        let (host, port) = split(origin[schemeEnd.upperBound...])
        let wanted = port ?? defaultPort(scheme)
        let public_ = PublicOrigin(request)
        var candidates = [(split(Substring(public_.authority)), public_.scheme.lowercased())]
        if let own = request.head.authority { candidates.append((split(Substring(own)), scheme)) }
        return candidates.contains { candidate, candidateScheme in
            candidate.host == host && (candidate.port ?? defaultPort(candidateScheme)) == wanted
        }
    }

    static func defaultPort(_ scheme: String) -> Int { scheme == "https" ? 443 : 80 }

    /// A host (lower case, no trailing dot; an IPv6 address keeps its brackets) and its port when written.
    static func split(_ authority: Substring) -> (host: String, port: Int?) {
        var host = authority
        var port: Int?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { return (authority.lowercased(), nil) }
            host = authority[...close]
            let rest = authority[authority.index(after: close)...]
            if rest.hasPrefix(":") { port = Int(rest.dropFirst()) }
        } else if let colon = authority.lastIndex(of: ":") {
            host = authority[..<colon]
            port = Int(authority[authority.index(after: colon)...])
        }
        var name = host.lowercased()
        if name.hasSuffix(".") { name.removeLast() }
        return (name, port)
    }
}
