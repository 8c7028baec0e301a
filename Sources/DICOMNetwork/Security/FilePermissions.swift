#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The permission checks on files other users must not read or change, made as they are loaded so that a
/// mistake stops the start with a message, not a breach later.
public enum FilePermissions {
    /// Why `path` may not hold a private key, or nil: it must not be readable by other users. As PostgreSQL
    /// rules for its server key: 0600 (or stricter), or 0640 when root owns it (a group such as Debian's
    /// `ssl-cert` reads it). A missing file is left to the reader's own error.
    public static func privateKeyProblem(_ path: String) -> String? {
        guard let mode = mode(of: path) else { return nil }
        if let problem = ownerProblem(path, mode.owner) { return problem }
        let allowed: mode_t = mode.owner == 0 ? 0o640 : 0o600
        guard mode.bits & ~allowed & 0o077 != 0 else { return nil }
        return "\(path) is readable by other users (mode \(octal(mode.bits))): chmod 600 \(path)"
    }

    /// Why `path` may not hold settings, or nil. Never writable by other users: its hooks run as this process's
    /// user, so who may write it may run commands here. When it holds a secret (a password in the index URL),
    /// not readable by everyone either.
    public static func settingsProblem(_ path: String, holdsSecret: Bool) -> String? {
        guard let mode = mode(of: path) else { return nil }
        if let problem = ownerProblem(path, mode.owner) { return problem }
        if mode.bits & 0o022 != 0 {
            return "\(path) is writable by other users (mode \(octal(mode.bits))), and its hooks run as this user: chmod go-w \(path)"
        }
        if holdsSecret && mode.bits & 0o004 != 0 {
            return "\(path) holds the index password and is readable by every user (mode \(octal(mode.bits))): chmod o-r \(path), or give the password in PGPASSWORD"
        }
        return nil
    }

    /// Owned by another user (not root), the file is that user's to change, whatever its mode.
    static func ownerProblem(_ path: String, _ owner: uid_t) -> String? {
        let me = geteuid()
        guard owner != me && owner != 0 else { return nil }
        return "\(path) belongs to user \(owner), not to this process's user (\(me)) or root: chown it"
    }

    static func mode(of path: String) -> (bits: mode_t, owner: uid_t)? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return (info.st_mode & 0o777, info.st_uid)
    }

    static func octal(_ bits: mode_t) -> String {
        let digits = String(bits, radix: 8)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }
}
