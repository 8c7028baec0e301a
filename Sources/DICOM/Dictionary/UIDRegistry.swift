/// The kind of a registered UID (PS3.6 Annex A "UID Type").
public enum UIDKind: String, Sendable {
    case transferSyntax, sopClass, metaSOPClass
    /// Well-known SOP Instances and well-known Frames of Reference (Talairach, ICBM ...).
    case wellKnownInstance
    case applicationContextName
    /// Coding schemes, including "DICOM UIDs as a Coding Scheme".
    case codingScheme
    case ldapOID, synchronizationFrame, serviceClass, applicationHostingModel, mappingResource, other
}

/// One registered DICOM UID.
public struct UIDEntry: Sendable, Hashable {
    public let uid: String
    public let name: String
    public let keyword: String
    public let kind: UIDKind
    public let isRetired: Bool
    /// A Storage SOP Class, i.e. one a storage SCP accepts by C-STORE. The set is pynetdicom 3.0.4's
    /// `_STORAGE_CLASSES` (170) plus, on purpose, because an archive should accept them:
    /// - the 9 non-patient object storage classes (Hanging Protocol, Color Palette, Implant Templates,
    ///   Defined Procedure Protocols, Protocol Approval, Inventory), also stored by C-STORE (PS3.4 GG/T/X/...);
    /// - the 20 retired storage classes (legacy US/NM, standalone curves/overlays/LUTs, the trial SR and VL
    ///   classes, Stored Print and Hardcopy Image Storage ...), since old data keeps arriving;
    /// - the 9 DICOS and DICONDE storage classes (registered in PS3.6, defined by NEMA DICOS / ASTM E2934).
    /// Excluded: Storage Commitment, Storage Management, the Storage Service Class UID and Media Storage
    /// Directory Storage (DICOMDIR, never sent by C-STORE; pynetdicom excludes it too). 208 in all.
    public let isStorage: Bool
}

/// The DICOM UID registry (PS3.6 Annex A), parsed lazily from GeneratedUIDRegistry.swift
/// (made by scripts/gen-dictionary.py).
public enum UIDRegistry {
    /// The entry for `uid`, ignoring trailing NUL or space padding.
    public static func entry(for uid: String) -> UIDEntry? {
        if let e = byUID[uid] { return e }
        guard let last = uid.utf8.last, last == 0 || last == 0x20 else { return nil }
        var sub = Substring(uid)
        while let c = sub.last, c == " " || c == "\0" { sub = sub.dropLast() }
        return byUID[String(sub)]
    }

    public static var transferSyntaxes: [UIDEntry] { lists.transferSyntaxes }
    public static var storageSOPClasses: [UIDEntry] { lists.storage }
    /// Every registered UID, ordered by UID components.
    public static var allEntries: [UIDEntry] { lists.all }

    public static func isStorageSOPClass(_ uid: String) -> Bool {
        entry(for: uid)?.isStorage ?? false
    }

    // MARK: - Tables

    struct Lists: Sendable {
        var all: [UIDEntry] = []
        var transferSyntaxes: [UIDEntry] = []
        var storage: [UIDEntry] = []
    }

    static let lists: Lists = {
        var l = Lists()
        DictionaryTableParser.forEachLine(table) { f in
            guard f.count >= 5 else { return }
            let flags = f[2]
            let e = UIDEntry(uid: DictionaryTableParser.string(f[0]), name: DictionaryTableParser.string(f[4]),
                             keyword: DictionaryTableParser.string(f[3]),
                             kind: UIDKind(rawValue: DictionaryTableParser.string(f[1])) ?? .other,
                             isRetired: flags.contains(UInt8(ascii: "R")),
                             isStorage: flags.contains(UInt8(ascii: "S")))
            l.all.append(e)
            if e.kind == .transferSyntax { l.transferSyntaxes.append(e) }
            if e.isStorage { l.storage.append(e) }
        }
        return l
    }()

    static let byUID: [String: UIDEntry] = {
        var d: [String: UIDEntry] = [:]
        d.reserveCapacity(lists.all.count)
        for e in lists.all { d[e.uid] = e }
        return d
    }()
}
