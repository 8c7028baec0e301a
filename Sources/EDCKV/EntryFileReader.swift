import BLAKE3
import DICOM
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Entries of a file one at a time, so a composite file of any size is read with one entry in memory.
/// A length field is checked against what the file still holds before anything is allocated for it.
public final class EntryFileReader {
    public let path: String
    private let reader: FileReader
    private let fileSize: Int
    private var buffer: [UInt8] = []
    private var position = 0
    /// Bytes of the file consumed before `buffer`.
    private var base = 0
    private var atEnd = false
    /// Set once the footer has been read.
    public private(set) var footer: Prefix?
    /// Bytes of the last entry `nextKey` gave whose value is not read yet.
    private var unreadValue = 0
    /// The BLAKE3 of what was read, when asked for (`verifying`).
    private var hasher: BLAKE3?

    /// `verifying`: the file's name ends in the BLAKE3 of its bytes (`<c>.<hash>`, a spool file), checked as
    /// the entries are read, in the same pass: `next` and `nextKey` throw at the end of a file whose bytes do not
    /// have it, before they answer that it ended.
    public init(path: String, verifying: Bool = false) throws {
        self.path = path
        if verifying { hasher = BLAKE3() }
        reader = try FileReader(path: path)
        var st = stat()
        guard stat(path, &st) == 0 else { throw FileError(path: path, operation: "stat", errno: errno) }
        fileSize = Int(st.st_size)
    }

    /// The next entry; nil at the end of the file (after the footer, if there is one).
    public func next() throws -> Entry? {
        try skipValue()
        let scanner = EntryScanner()
        while true {
            if footer != nil {
                guard position == buffer.count, try fill(1) == false else { throw EDCKVError("\(path): bytes after the footer") }
                try verifyAtEnd()
                return nil
            }
            let step = try buffer.withUnsafeBytes { try scanner.next(UnsafeRawBufferPointer(rebasing: $0[position...]), at: 0) }
            switch step {
            case .entry(let e, let size):
                position += size
                return e
            case .footer(let p):
                footer = p
                position += EntryCodec.footerSize
            case .needMore:
                if position == buffer.count, atEnd || base + position == fileSize { try verifyAtEnd(); return nil }
                let need = buffer.withUnsafeBytes { scanner.needed(UnsafeRawBufferPointer(rebasing: $0[position...]), at: 0) }
                guard need <= fileSize - (base + position) else {
                    throw EDCKVError("\(path): entry at offset \(base + position) runs past the end of the file")
                }
                guard try fill(need) else { throw EDCKVError("\(path): truncated entry at offset \(base + position)") }
            }
        }
    }

    /// The next entry's key and value length, its value left to `copyValue` (or skipped by the next call): a
    /// pixel entry of any size (a 2 GB native frame) is then never held. Nil at the end of the file.
    public func nextKey() throws -> (key: [UInt8], length: Int)? {
        try skipValue()
        while true {
            if footer != nil {
                guard position == buffer.count, try fill(1) == false else { throw EDCKVError("\(path): bytes after the footer") }
                try verifyAtEnd()
                return nil
            }
            if position == buffer.count, atEnd || base + position == fileSize { try verifyAtEnd(); return nil }
            guard try fill(1) else { try verifyAtEnd(); return nil }
            let kl = Int(buffer[position])
            if kl == 0 {
                guard try fill(EntryCodec.footerSize) else { throw EDCKVError("\(path): truncated footer at offset \(base + position)") }
                guard let p = Prefix(bytes: Array(buffer[(position + 1)..<(position + EntryCodec.footerSize)])) else {
                    throw EDCKVError("\(path): bad footer prefix at offset \(base + position)")
                }
                footer = p
                position += EntryCodec.footerSize
                continue
            }
            guard EntryScanner.isValidKeyLength(kl) else {
                throw EDCKVError("\(path): bad key length \(kl) at offset \(base + position)")
            }
            guard try fill(1 + kl + 4) else { throw EDCKVError("\(path): truncated entry at offset \(base + position)") }
            let key = Array(buffer[(position + 1)..<(position + 1 + kl)])
            let lo = position + 1 + kl
            let vl = Int(buffer[lo]) | Int(buffer[lo + 1]) << 8 | Int(buffer[lo + 2]) << 16 | Int(buffer[lo + 3]) << 24
            guard vl <= fileSize - (base + lo + 4) else {
                throw EDCKVError("\(path): entry at offset \(base + position) runs past the end of the file")
            }
            guard Prefix(bytes: key) != nil else { throw EDCKVError("\(path): bad prefix at offset \(base + position)") }
            position = lo + 4
            unreadValue = vl
            return (key, vl)
        }
    }

    /// The value of the entry `nextKey` gave, in pieces of at most 1 MiB.
    public func copyValue(_ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        while unreadValue > 0 {
            if position == buffer.count {
                guard try fill(min(unreadValue, 1 << 20)) else { throw EDCKVError("\(path): truncated value at offset \(base + position)") }
            }
            let n = min(unreadValue, buffer.count - position)
            try buffer.withUnsafeBytes { try body(UnsafeRawBufferPointer(rebasing: $0[position..<(position + n)])) }
            position += n
            unreadValue -= n
        }
    }

    /// With `verifying`, once every byte was read: the name's BLAKE3 against the bytes'.
    private func verifyAtEnd() throws {
        guard var h = hasher else { return }
        hasher = nil
        let name = path.split(separator: "/").last.map(String.init) ?? ""
        let parts = name.split(separator: ".")
        guard parts.count == 2 else { return }
        guard BLAKE3.hex(h.finalize()) == parts[1] else {
            throw EDCKVError("\(path): its bytes do not have the BLAKE3 its name says (damaged, or cut short by a crash)")
        }
    }

    private func skipValue() throws {
        if unreadValue > 0 { try copyValue { _ in } }
    }

    /// Makes at least `count` unread bytes available; false at the end of the file.
    private func fill(_ count: Int) throws -> Bool {
        if position > 0 {
            buffer.removeFirst(position)
            base += position
            position = 0
        }
        while buffer.count < count {
            let chunk = try reader.readChunk(maxLength: max(count - buffer.count, 1 << 20))
            if chunk.isEmpty { atEnd = true; return false }
            hasher?.update(chunk)
            buffer.append(contentsOf: chunk)
        }
        return true
    }

    /// Every entry of a file (for small files: spool files, tests).
    public static func readAll(path: String, verifying: Bool = false) throws -> (entries: [Entry], footer: Prefix?) {
        let r = try EntryFileReader(path: path, verifying: verifying)
        var out: [Entry] = []
        while let e = try r.next() { out.append(e) }
        return (out, r.footer)
    }
}
