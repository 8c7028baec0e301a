import ArgumentParser

/// A peer's TCP port on the command line, 1 to 65535: an `Int` took 70000, and the connection went to 4464.
struct PortArgument: ExpressibleByArgument, CustomStringConvertible, Sendable {
    let value: Int

    init?(argument: String) {
        guard let value = Int(argument), (1...65535).contains(value) else { return nil }
        self.value = value
    }

    var description: String { String(value) }
}
