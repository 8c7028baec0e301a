/// What an eDCKV root holds, instance by instance: merged into a study, or waiting in a spool.
public enum Inventory {
    public struct Item: Sendable, Equatable {
        public enum Place: String, Sendable { case study, spool }
        public var place: Place
        public var sopInstanceUID: String
        /// The study directory, or the spooled instance's folder.
        public var path: String
    }

    /// Every instance under `path` (an eDCKV root, or one study directory); throws the first study that cannot be
    /// read.
    public static func list(_ path: String) throws -> [Item] {
        let (items, failed) = listing(path)
        if let first = failed.first { throw EDCKVError("\(first.path): \(first.error)") }
        return items
    }

    /// Every instance under `path`, and the studies that could not be read, with why: one such study made the
    /// whole listing fail, and an index rebuild then recorded no eDCKV instance at all.
    public static func listing(_ path: String) -> (items: [Item], failed: [(path: String, error: String)]) {
        var out: [Item] = [], failed: [(path: String, error: String)] = []
        let names = FS.list(path)
        if names.contains(where: { $0.count == 66 && $0.dropFirst().first == "." }) {
            do {
                for e in try CompositeFiles(directory: path).entries(.instance) where e.depth == 0 && e.tag == .sopInstanceUID {
                    out.append(Item(place: .study, sopInstanceUID: StudyMap.uid(e), path: path))
                }
            } catch {
                failed.append((path, "\(error)"))
            }
            return (out, failed)
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
                let sub = listing(path + "/" + name)
                out += sub.items
                failed += sub.failed
            }
        }
        return (out, failed)
    }
}
