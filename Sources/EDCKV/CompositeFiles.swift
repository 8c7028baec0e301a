import BLAKE3
import DICOM

/// The composite files of one study directory (§4): at most one `<letter>.<blake3 hex>` per category.
public struct CompositeFiles: Sendable {
    public let directory: String
    /// Category → file name.
    public let names: [Category: String]

    public init(directory: String) throws {
        self.directory = directory
        var names: [Category: String] = [:]
        for name in FS.list(directory) where !name.hasPrefix(".") {
            let parts = name.split(separator: ".", maxSplits: 1)
            guard parts.count == 2, let c = Category(letter: parts[0]), parts[1].count == 64,
                  parts[1].allSatisfy({ $0.isHexDigit && !$0.isUppercase }) else {
                throw EDCKVError("\(directory)/\(name): not a composite file name")
            }
            guard names[c] == nil else { throw EDCKVError("\(directory): two \(c.letter) files") }
            names[c] = name
        }
        self.names = names
    }

    public func path(_ c: Category) -> String? { names[c].map { directory + "/" + $0 } }

    /// Every entry of a category (for the small ones: e, s, i, p).
    public func entries(_ c: Category) throws -> [Entry] {
        guard let p = path(c) else { return [] }
        return try EntryFileReader.readAll(path: p).entries
    }

    public func reader(_ c: Category) throws -> EntryFileReader? {
        try path(c).map { try EntryFileReader(path: $0) }
    }
}

/// The identity of the instances and series of a study, read from its entries.
struct StudyMap {
    /// Series Instance UID → stored series number.
    var seriesByUID: [String: UInt16] = [:]
    var seriesUIDByNumber: [UInt16: String] = [:]
    /// SOP Instance UID → (series, instance).
    var instanceBySOP: [String: InstanceSlot] = [:]
    var sopBySlot: [InstanceSlot: String] = [:]

    struct InstanceSlot: Hashable, Comparable {
        var series: UInt16
        var instance: UInt16
        static func < (a: Self, b: Self) -> Bool { (a.series, a.instance) < (b.series, b.instance) }
    }

    mutating func add(series uid: String, _ number: UInt16) {
        seriesByUID[uid] = number
        seriesUIDByNumber[number] = uid
    }

    mutating func add(sop: String, _ slot: InstanceSlot) {
        instanceBySOP[sop] = slot
        sopBySlot[slot] = sop
    }

    mutating func remove(sop: String) {
        if let slot = instanceBySOP.removeValue(forKey: sop) { sopBySlot[slot] = nil }
    }

    /// The series number for a series: its own if known, else the wanted one when free, else the first free
    /// artificial one.
    mutating func assignSeries(_ uid: String, wanted: UInt16) throws -> UInt16 {
        if let n = seriesByUID[uid] { return n }
        var n = wanted
        if wanted == Prefix.firstArtificial || seriesUIDByNumber[n] != nil {
            guard let free = (Prefix.firstArtificial...UInt16.max).first(where: { seriesUIDByNumber[$0] == nil }) else {
                throw EDCKVError("no free series number in the study")
            }
            n = free
        }
        add(series: uid, n)
        return n
    }

    mutating func assignInstance(_ sop: String, series: UInt16, wanted: UInt16) throws -> InstanceSlot {
        var slot = InstanceSlot(series: series, instance: wanted)
        if wanted == Prefix.firstArtificial || sopBySlot[slot] != nil {
            guard let free = (Prefix.firstArtificial...UInt16.max).first(where: { sopBySlot[InstanceSlot(series: series, instance: $0)] == nil }) else {
                throw EDCKVError("no free instance number in series \(series)")
            }
            slot.instance = free
        }
        add(sop: sop, slot)
        return slot
    }

    static func uid(_ e: Entry) -> String { UIDString.trim(String(decoding: e.value, as: UTF8.self)) }
}
