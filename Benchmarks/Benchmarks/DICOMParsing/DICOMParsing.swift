import Benchmark
import DICOM

/// A CT slice as the ingest workload has them (scripts/gen-ct.py): 512×512×16-bit, 12 bits stored, explicit VR
/// little endian, ~525 KB, built with the DataSet API.
func ctSlice() -> DICOMFile {
    var ds = DataSet()
    ds.setString("ISO_IR 100", for: .specificCharacterSet, vr: .CS)
    ds.setStrings(["ORIGINAL", "PRIMARY", "AXIAL"], for: .imageType, vr: .CS)
    ds.setString("1.2.840.10008.5.1.4.1.1.2", for: .sopClassUID, vr: .UI)
    ds.setString("1.2.826.0.1.3680043.10.1432.8.1.1.1", for: .sopInstanceUID, vr: .UI)
    ds.setString("20260115", for: .studyDate, vr: .DA)
    ds.setString("101500", for: .studyTime, vr: .TM)
    ds.setString("A1", for: .accessionNumber, vr: .SH)
    ds.setString("CT", for: .modality, vr: .CS)
    ds.setString("Bench study", for: .studyDescription, vr: .LO)
    ds.setString("Bench^Jose", for: .patientName, vr: .PN)
    ds.setString("BENCH1", for: .patientID, vr: .LO)
    ds.setString("19700101", for: .patientBirthDate, vr: .DA)
    ds.setString("O", for: .patientSex, vr: .CS)
    ds.setString("1.2.826.0.1.3680043.10.1432.8.1", for: .studyInstanceUID, vr: .UI)
    ds.setString("1.2.826.0.1.3680043.10.1432.8.1.2", for: .seriesInstanceUID, vr: .UI)
    ds.setString("3", for: .seriesNumber, vr: .IS)
    ds.setString("1", for: .instanceNumber, vr: .IS)
    ds.setStrings(["-125.5", "-130.25", "42.0"], for: Tag(0x0020, 0x0032), vr: .DS)  // Image Position (Patient)
    ds.setStrings(["1", "0", "0", "0", "1", "0"], for: Tag(0x0020, 0x0037), vr: .DS)  // Image Orientation (Patient)
    ds.setString("1.25", for: Tag(0x0018, 0x0050), vr: .DS)  // Slice Thickness
    ds.setUInt16(1, for: .samplesPerPixel)
    ds.setString("MONOCHROME2", for: .photometricInterpretation, vr: .CS)
    ds.setUInt16(512, for: .rows)
    ds.setUInt16(512, for: .columns)
    ds.setStrings(["0.5", "0.5"], for: Tag(0x0028, 0x0030), vr: .DS)  // Pixel Spacing
    ds.setUInt16(16, for: .bitsAllocated)
    ds.setUInt16(12, for: .bitsStored)
    ds.setUInt16(11, for: .highBit)
    ds.setUInt16(0, for: .pixelRepresentation)
    ds.setString("40", for: Tag(0x0028, 0x1050), vr: .DS)  // Window Center
    ds.setString("400", for: Tag(0x0028, 0x1051), vr: .DS)  // Window Width
    ds.setString("-1024", for: Tag(0x0028, 0x1052), vr: .DS)  // Rescale Intercept
    ds.setString("1", for: Tag(0x0028, 0x1053), vr: .DS)  // Rescale Slope
    // 12-bit noise from a fixed-seed generator (xorshift), little endian.
    var pixels = [UInt8](repeating: 0, count: 512 * 512 * 2)
    var state: UInt64 = 0x9E37_79B9_7F4A_7C15
    for i in stride(from: 0, to: pixels.count, by: 2) {
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        let v = UInt16(truncatingIfNeeded: state) & 0x0FFF
        pixels[i] = UInt8(truncatingIfNeeded: v)
        pixels[i + 1] = UInt8(truncatingIfNeeded: v >> 8)
    }
    ds.set(Element(tag: .pixelData, vr: .OW, bytes: pixels))
    return DICOMFile(dataSet: ds)
}

let benchmarks: @Sendable () -> Void = {
    let file = ctSlice()
    guard let bytes = try? file.serialized() else { fatalError("the CT slice does not serialize") }
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput, .mallocCountTotal, .peakMemoryResident],
        maxDuration: .seconds(3), maxIterations: 100_000)

    // (a) The whole file from memory: meta header, 35 elements, 512 KiB of pixel data.
    Benchmark("Parse CT slice (full, \(bytes.count) bytes)") { benchmark in
        for _ in benchmark.scaledIterations { blackHole(try DICOMFile.read(bytes)) }
    }
    // (b) Everything before the pixel data, what routing and indexing need.
    Benchmark("Parse CT slice (header only)") { benchmark in
        for _ in benchmark.scaledIterations { blackHole(try DICOMFile.read(bytes, options: .headerOnly)) }
    }
    // (a') The same file arriving in 16 KiB pieces (as PDVs do), the pixel data streamed in chunks.
    Benchmark("Parse CT slice (16 KiB pieces, streamed)") { benchmark in
        for _ in benchmark.scaledIterations {
            var parser = Part10Parser(options: ParseOptions(streamThreshold: 16 * 1024))
            var builder = DataSetBuilder()
            try bytes.withUnsafeBytes { raw in
                var i = 0
                while i < raw.count {
                    try parser.feed(UnsafeRawBufferPointer(rebasing: raw[i..<min(raw.count, i + 16 * 1024)]), to: &builder)
                    i += 16 * 1024
                }
            }
            try parser.finish(&builder)
            blackHole(builder.dataSet)
        }
    }
    // (a'') and (b') From disk, as the archive reads files (1 MiB reads; 64 KiB for header only).
    let path = "/tmp/arca-bench-ct-slice.dcm"
    if (try? FileWriter.write(bytes, to: path)) != nil {
        Benchmark("Read CT slice from disk (full)") { benchmark in
            for _ in benchmark.scaledIterations { blackHole(try DICOMFile.read(path: path)) }
        }
        Benchmark("Read CT slice from disk (header only)") { benchmark in
            for _ in benchmark.scaledIterations { blackHole(try DICOMFile.read(path: path, options: .headerOnly)) }
        }
    }
    // (c) Writing it back: meta header with its group length, then the dataset.
    Benchmark("Write CT slice (serialized)") { benchmark in
        for _ in benchmark.scaledIterations { blackHole(try file.serialized()) }
    }
}
