/// Why an instance could not be archived; each maps to the DIMSE status the SCP answers.
public enum ArchiveError: Error, Sendable, Equatable, CustomStringConvertible {
    /// 0xC000: a UID that cannot name a file or disagrees with the command.
    case invalidUID(String)
    /// 0xC000: the dataset cannot be parsed.
    case unreadable(String)
    /// 0xC001: a validation rule refused it.
    case rejected(String)
    /// 0x0111: the duplicate policy refused it.
    case duplicate(String)
    /// 0xA700: no space, or the index is unavailable.
    case outOfResources(String)
    /// 0xC001: an I/O error.
    case io(String)

    public var description: String {
        switch self {
        case .invalidUID(let s), .unreadable(let s), .rejected(let s), .duplicate(let s), .outOfResources(let s), .io(let s): return s
        }
    }
}
