// libFuzzer target for the DIMSE command-set decoder (PS3.7 6.3.1, 9.3, 10.3): the input is the command
// bytes a peer sends (implicit VR little endian, group 0000). Compiled into the DICOMNetwork module's
// UpperLayer and DIMSE sources by Fuzz/run-all.sh.
//
// The bytes are decoded directly and through the message assembler in command fragments whose sizes the
// input chooses (the same outcome); what decodes is read through every accessor the services use, answered
// (the response is built and encoded, as the session does for every request), and encoded back: that decodes
// to the same command. A thrown DIMSEError/Violation is a correct answer; a crash, a sanitizer report or a
// broken invariant (fatalError) is a bug.

import DICOM
import NIOCore

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzDIMSE(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = UnsafeRawBufferPointer(start: data, count: size)
    let bytes = ByteBuffer(bytes: input)

    // 1. Directly.
    let direct: CommandSet?
    do { direct = try CommandSet.decode(bytes) } catch is DIMSEError { direct = nil } catch {
        fatalError("CommandSet.decode threw something else than a DIMSEError: \(error)")
    }

    // 2. Through the assembler, in fragments: the same command (or a violation).
    var assembler = MessageAssembler(maxDataSetLength: 1 << 20)
    var seed = UInt32(truncatingIfNeeded: size) &* 2_654_435_761 | 1
    var rest = bytes
    var assembled: CommandSet?
    var expects = false
    var failed = false
    repeat {
        seed ^= seed << 13; seed ^= seed >> 17; seed ^= seed << 5
        let n = min(rest.readableBytes, 1 + Int(seed % 61))
        let fragment = rest.readSlice(length: n) ?? ByteBuffer()
        let pdv = PDV(contextID: 1, isCommand: true, isLast: rest.readableBytes == 0, data: fragment)
        do {
            if case .command(let command, _, let expectsDataSet)? = try assembler.feed(pdv) {
                assembled = command
                expects = expectsDataSet
            }
        } catch is MessageAssembler.Violation {
            failed = true
        } catch {
            fatalError("the assembler threw something else than a Violation: \(error)")
        }
    } while rest.readableBytes > 0 && !failed
    if assembled != direct { fatalError("the command decodes differently in fragments") }
    guard let command = direct else { return 0 }
    if expects != command.hasDataSet { fatalError("the assembler and the command disagree on a dataset") }
    // A dataset fragment follows a command that announces one; a command fragment is then a violation.
    if expects {
        do {
            _ = try assembler.feed(PDV(contextID: 1, isCommand: false, isLast: true, data: ByteBuffer(bytes: [1, 2])))
        } catch { fatalError("a dataset after a command that announced one was refused: \(error)") }
    }

    // 3. Every accessor a service reads.
    _ = (command.commandField, command.messageID, command.messageIDBeingRespondedTo, command.affectedSOPClassUID,
         command.affectedSOPInstanceUID, command.status, command.errorComment, command.priority,
         command.moveOriginatorAETitle, command.moveOriginatorMessageID)
    if let field = command.commandField { _ = (field.isResponse, field.response, "\(field)") }
    if let status = command.status { _ = (status.isSuccess, "\(status)") }

    // 4. The response the session sends to it encodes and decodes.
    let response = CommandSet.response(answering: command, status: .processingFailure, comment: "fuzz")
    if let encoded = try? response.encoded(), encoded.count <= CommandSet.maxEncodedLength {
        do { _ = try CommandSet.decode(ByteBuffer(bytes: encoded)) } catch {
            fatalError("our response to a command does not decode: \(error)")
        }
    }

    // 5. Encoded back, it decodes to the same command (the group length is computed anew).
    if let encoded = try? command.encoded(), encoded.count <= CommandSet.maxEncodedLength {
        do {
            var again = try CommandSet.decode(ByteBuffer(bytes: encoded))
            var original = command
            again.dataSet.remove(.commandGroupLength)
            original.dataSet.remove(.commandGroupLength)
            if again != original { fatalError("the command decodes differently after encoding") }
        } catch {
            fatalError("a command we encoded does not decode: \(error)")
        }
    }
    return 0
}
