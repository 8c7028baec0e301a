/// One process among several sharing an archive takes a role (the eDCKV merger): an index that several nodes
/// share (PostgreSQL) elects across machines, where an `flock` on the shared folder cannot be trusted (a network
/// file system may not carry it).
public protocol LeaderElection: Sendable {
    /// True while this process holds `role`, taking it when free. Ask before each use: a role can be lost (the
    /// connection that held it, and another node takes it). Blocking: call from an I/O thread.
    func tryLead(_ role: String) throws -> Bool
}

extension PostgresIndex: LeaderElection {}
