/// What an eDCKV root holds, instance by instance: merged into a study, or waiting in a spool.
public enum Inventory {
    public struct Item: Sendable, Equatable {
        public enum Place: String, Sendable { case study, spool }
        public var place: Place
        public var sopInstanceUID: String
        /// The study directory, or the spooled instance's folder.
        public var path: String
    }

    /// Every instance under `path` (an eDCKV root, or one study directory).
    public static func list(_ path: String) throws -> [Item] {
        var out: [Item] = []
        let names = FS.list(path)
        if !names.isEmpty, names.allSatisfy({ $0.hasPrefix(".") || ($0.count == 66 && $0.dropFirst().first == ".") }) {
            for e in try CompositeFiles(directory: path).entries(.instance) where e.depth == 0 && e.tag == .sopInstanceUID {
                out.append(Item(place: .study, sopInstanceUID: StudyMap.uid(e), path: path))
            }
            return out
        }
        for name in names where !name.hasPrefix(".") && FS.isDirectory(path + "/" + name) {
            if name == StudyLayout.spoolFolder {
                for s in Merger(root: path).scanSpool().values.joined() {
                    guard let i = s.files.first(where: { $0.category == .instance }) else { continue }
                    // A spooled instance may be merged (and removed) while we look: then it is in its study.
                    guard let read = try? EntryFileReader.readAll(path: i.path) else { continue }
                    if let e = read.entries.first(where: { $0.depth == 0 && $0.tag == .sopInstanceUID }) {
                        out.append(Item(place: .spool, sopInstanceUID: StudyMap.uid(e), path: s.path))
                    }
                }
            } else {
                out += try list(path + "/" + name)
            }
        }
        return out
    }
}
