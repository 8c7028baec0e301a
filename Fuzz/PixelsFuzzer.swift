// libFuzzer target for the pixel decoders and the renderer: compiled with every Sources/DICOM and
// Sources/Pixels file as one module by Fuzz/run-pixels.sh (the codec shims linked in, AddressSanitizer on).
//
// The input's first bytes choose a transfer syntax and a small pixel format; the rest is one frame as stored.
// A thrown `PixelError` is a correct answer; a crash, a sanitizer report, a hang or another error type is a bug.
// Every 8th input is also parsed as a whole Part-10 file, and its first frame decoded and rendered.

let fuzzSyntaxes = PixelSyntax.all.map(\.uid)

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPixels(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = [UInt8](UnsafeBufferPointer(start: data, count: size))
    guard input.count >= 6 else { return 0 }
    let syntax = fuzzSyntaxes[Int(input[0]) % fuzzSyntaxes.count]
    let photometrics: [Photometric] = [.monochrome2, .monochrome1, .rgb, .ybrFull, .ybrFull422, .paletteColor, .ybrRCT]
    let photometric = photometrics[Int(input[1]) % photometrics.count]
    let bits = [1, 8, 16, 32][Int(input[2]) % 4]
    let stored = bits == 1 ? 1 : max(1, bits - Int(input[3] % 8))
    var format = PixelFormat(rows: 1 + Int(input[4] % 64), columns: 1 + Int(input[5] % 64), samplesPerPixel: photometric.samplesPerPixel,
                             bitsAllocated: bits, bitsStored: stored, highBit: stored - 1 + Int(input[3] >> 7) * (bits - stored),
                             isSigned: input[3] & 0x40 != 0, photometric: photometric, planarConfiguration: Int(input[2] >> 7))
    format.numberOfFrames = 1
    let frame = Array(input[6...])
    if (try? format.validate()) != nil {
        expectPixelError {
            let decoded = try FrameDecoder.decode(frame, format: format, syntax: syntax)
            var ds = DataSet()
            ds.setString(photometric.rawValue, for: .photometricInterpretation, vr: .CS)
            _ = try Renderer.render(decoded, dataSet: ds)
        }
    }
    if input[0] & 7 == 0 {
        expectPixelError {
            guard let file = try? DICOMFile.read(input) else { return }
            let reader = try FrameReader(dataSet: file.dataSet, meta: file.meta, transferSyntax: file.transferSyntax,
                                         limits: PixelLimits(maxFrameBytes: 1 << 26, maxFrames: 1 << 12))
            let image = try Renderer.render(reader, viewport: Viewport(width: 32, height: 32))
            _ = try image.png()
        }
    }
    return 0
}

func expectPixelError(_ body: () throws -> Void) {
    do { try body() } catch is PixelError {} catch {
        fatalError("an error that is not a PixelError: \(error)")
    }
}
