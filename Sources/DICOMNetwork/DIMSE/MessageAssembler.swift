import NIOCore

/// Turns the PDVs of an association into DIMSE messages (PS3.7 6.3.1, PS3.8 9.3.5): a command's fragments
/// are collected and decoded; a dataset's fragments are handed on as they come, never accumulated here. Pure
/// state, no I/O: the SCP session and the SCU (`ClientAssociation`) both feed it, so the rules live once.
public struct MessageAssembler: Sendable {
    /// What one PDV completes.
    public enum Event: Sendable {
        /// A complete command set. `expectsDataSet` says whether dataset fragments follow.
        case command(CommandSet, contextID: UInt8, expectsDataSet: Bool)
        /// A piece of the current message's dataset, in order; `isLast` ends the message.
        case dataSet(ByteBuffer, contextID: UInt8, isLast: Bool)
    }

    /// A stream that breaks PS3.7/PS3.8 message rules: the association is aborted with `reason`.
    public struct Violation: Error, Sendable, CustomStringConvertible {
        public let description: String
        public let reason: Abort.Reason
        init(_ description: String, reason: Abort.Reason = .unexpectedPDU) {
            self.description = description
            self.reason = reason
        }
        public var abort: Abort { Abort(source: .serviceProvider, reason: reason) }
    }

    private enum State: Sendable {
        case idle
        case command(contextID: UInt8)
        case dataSet(contextID: UInt8, received: UInt64)
    }

    private var state = State.idle
    /// The fragments of a command received so far: held here, not in `state`, so each append writes into a buffer
    /// nothing else holds (held in the state's enum, every fragment copied the whole buffer: a 64 KiB command sent
    /// as 1-byte PDVs cost gigabytes of copying).
    private var gathered = ByteBuffer()
    /// The last command set decoded, with its bytes: a C-FIND's pending answers (thousands per search) all carry
    /// the same command, which is then decoded once (decoding it per answer was a tenth of a client's CPU).
    private var lastCommand: (bytes: ByteBuffer, command: CommandSet)?
    /// A dataset that grows past this without its last fragment is a violation (a bound on what a peer can
    /// make the receiver take in one message).
    public let maxDataSetLength: UInt64

    public init(maxDataSetLength: UInt64 = .max) {
        self.maxDataSetLength = maxDataSetLength
    }

    /// Whether a message is partly received (a release or abort now leaves it incomplete).
    public var isMidMessage: Bool {
        if case .idle = state { return false }
        return true
    }

    /// The context of the dataset being received, if any.
    public var dataSetContextID: UInt8? {
        if case .dataSet(let id, _) = state { return id }
        return nil
    }

    /// Advances by one PDV; returns the event it completes, if any.
    public mutating func feed(_ pdv: PDV) throws -> Event? {
        switch state {
        case .idle where pdv.isCommand:
            return try appendCommand(pdv)
        case .command(let id) where pdv.isCommand:
            guard id == pdv.contextID else { throw Violation("command fragments on two presentation contexts (\(id), \(pdv.contextID))") }
            return try appendCommand(pdv)
        case .dataSet(let id, let received) where !pdv.isCommand:
            guard id == pdv.contextID else {
                throw Violation("dataset fragment on context \(pdv.contextID), its command was on \(id)")
            }
            let (total, overflow) = received.addingReportingOverflow(UInt64(pdv.data.readableBytes))
            guard !overflow, total <= maxDataSetLength else {
                throw Violation("dataset grows past the maximum object size (\(maxDataSetLength) bytes)", reason: .invalidPDUParameterValue)
            }
            state = pdv.isLast ? .idle : .dataSet(contextID: id, received: total)
            return .dataSet(pdv.data, contextID: id, isLast: pdv.isLast)
        case .idle, .command:
            throw Violation("dataset fragment without a command")
        case .dataSet:
            throw Violation("command fragment while a dataset was expected")
        }
    }

    /// Forgets a partly received message (after a release or abort).
    public mutating func reset() {
        state = .idle
        gathered = ByteBuffer()
    }

    private mutating func appendCommand(_ pdv: PDV) throws -> Event? {
        guard gathered.readableBytes + pdv.data.readableBytes <= CommandSet.maxEncodedLength else {
            throw Violation("command set larger than \(CommandSet.maxEncodedLength) bytes", reason: .invalidPDUParameterValue)
        }
        // A command in one fragment (nearly all) is read where it lies; fragments are gathered first.
        let bytes: ByteBuffer
        if gathered.readableBytes == 0 && pdv.isLast {
            bytes = pdv.data
        } else {
            var fragment = pdv.data
            gathered.writeBuffer(&fragment)
            guard pdv.isLast else {
                state = .command(contextID: pdv.contextID)
                return nil
            }
            bytes = gathered
            gathered = ByteBuffer()
        }
        let command: CommandSet
        if let last = lastCommand, last.bytes == bytes {
            command = last.command
        } else {
            do { command = try CommandSet.decode(bytes) } catch {
                throw Violation("\(error)", reason: .invalidPDUParameterValue)
            }
            // Kept as a copy of its own: a slice would keep the whole read buffer it came in alive, and NIO's `==`
            // takes two views of one storage with the same indices as equal without comparing their bytes.
            lastCommand = (ByteBuffer(buffer: bytes), command)
        }
        let expectsDataSet = command.hasDataSet
        state = expectsDataSet ? .dataSet(contextID: pdv.contextID, received: 0) : .idle
        return .command(command, contextID: pdv.contextID, expectsDataSet: expectsDataSet)
    }
}
