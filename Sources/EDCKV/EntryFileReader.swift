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

    public init(path: String) throws {
        self.path = path
        reader = try FileReader(path: path)
        var st = stat()
        guard stat(path, &st) == 0 else { throw FileError(path: path, operation: "stat", errno: errno) }
        fileSize = Int(st.st_size)
    }

    /// The next entry; nil at the end of the file (after the footer, if there is one).
    public func next() throws -> Entry? {
        let scanner = EntryScanner()
        while true {
            if footer != nil {
                guard position == buffer.count, try fill(1) == false else { throw EDCKVError("\(path): bytes after the footer") }
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
                if position == buffer.count, atEnd || base + position == fileSize { return nil }
                let need = buffer.withUnsafeBytes { scanner.needed(UnsafeRawBufferPointer(rebasing: $0[position...]), at: 0) }
                guard need <= fileSize - (base + position) else {
                    throw EDCKVError("\(path): entry at offset \(base + position) runs past the end of the file")
                }
                guard try fill(need) else { throw EDCKVError("\(path): truncated entry at offset \(base + position)") }
            }
        }
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
            buffer.append(contentsOf: chunk)
        }
        return true
    }

    /// Every entry of a file (for small files: spool files, tests).
    public static func readAll(path: String) throws -> (entries: [Entry], footer: Prefix?) {
        let r = try EntryFileReader(path: path)
        var out: [Entry] = []
        while let e = try r.next() { out.append(e) }
        return (out, r.footer)
    }
}
