/// An ordered collection of data elements, ascending by tag, with the character set that decodes its text
/// (its own Specific Character Set, or the one its enclosing dataset passes down to nested items).
public struct DataSet: Sendable, Equatable, RandomAccessCollection {
    public private(set) var elements: [Element]
    public var characterSet: SpecificCharacterSet

    public init(elements: [Element] = [], characterSet: SpecificCharacterSet = .default) {
        self.elements = []
        self.characterSet = characterSet
        for e in elements { self.set(e) }
    }

    /// `elements`, already in ascending tag order with no tag twice (a reader that checked it as it went).
    init(ascending elements: [Element]) {
        self.elements = elements
        characterSet = .default
        if let i = elements.firstIndex(where: { $0.tag >= .specificCharacterSet }), elements[i].tag == .specificCharacterSet {
            characterSet = SpecificCharacterSet(bytes: elements[i].bytes)
        }
    }

    public static func == (lhs: DataSet, rhs: DataSet) -> Bool { lhs.elements == rhs.elements }

    public var startIndex: Int { elements.startIndex }
    public var endIndex: Int { elements.endIndex }
    public subscript(position: Int) -> Element { elements[position] }

    /// Index of the first element whose tag is not below `tag`.
    func lowerBound(_ tag: Tag) -> Int {
        var lo = 0
        var hi = elements.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if elements[mid].tag < tag { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }

    public subscript(tag: Tag) -> Element? {
        let i = lowerBound(tag)
        return i < elements.count && elements[i].tag == tag ? elements[i] : nil
    }

    public func contains(_ tag: Tag) -> Bool { self[tag] != nil }

    /// Inserts or replaces the element with this tag, keeping the order. Appending in order is O(1).
    public mutating func set(_ element: Element) {
        if let last = elements.last, last.tag < element.tag {
            elements.append(element)
        } else {
            let i = lowerBound(element.tag)
            if i < elements.count && elements[i].tag == element.tag {
                elements[i] = element
            } else {
                elements.insert(element, at: i)
            }
        }
        // Also on the in-order append path: a group length (0008,0000) may precede it.
        if element.tag == .specificCharacterSet {
            characterSet = SpecificCharacterSet(bytes: element.bytes)
        }
    }

    @discardableResult
    public mutating func remove(_ tag: Tag) -> Element? {
        let i = lowerBound(tag)
        guard i < elements.count, elements[i].tag == tag else { return nil }
        return elements.remove(at: i)
    }

    /// Removes every element whose tag is in the range.
    public mutating func removeAll(in range: ClosedRange<Tag>) {
        elements.removeAll { range.contains($0.tag) }
    }

    /// Splits off group 0002 (file meta information) from the rest.
    public func partitionedFileMeta() -> (meta: DataSet, dataSet: DataSet) {
        var meta = DataSet()
        var rest = DataSet(characterSet: characterSet)
        for e in elements {
            if e.tag.isFileMeta { meta.elements.append(e) } else { rest.elements.append(e) }
        }
        return (meta, rest)
    }
}
