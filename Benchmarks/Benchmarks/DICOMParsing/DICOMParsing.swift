import Benchmark
import DICOM

/// A CT slice as the ingest workload has them (../scripts/gen-ct.py): 512×512×16-bit, explicit VR LE, ~525 KB.
func ctSlice() -> [UInt8] {
    var ds = DataSet()
    ds.setString("ISO_IR 100", for: .specificCharacterSet, vr: .CS)
    ds.setString("1.2.840.10008.5.1.4.1.1.2", for: .sopClassUID, vr: .UI)
    ds.setString("1.2.826.0.1.3680043.10.1432.8.1.1", for: .sopInstanceUID, vr: .UI)
    ds.setString("20260115", for: .studyDate, vr: .DA)
    ds.setString("101500", for: .studyTime, vr: .TM)
    ds.setString("A1", for: .accessionNumber, vr: .SH)
    ds.setString("CT", for: .modality, vr: .CS)
    ds.setString("Bench study", for: .studyDescription, vr: .LO)
    ds.setString("Bench^Jose", for: .patientName, vr: .PN)
    ds.setString("BENCH1", for: .patientID, vr: .LO)
    ds.setString("1.2.826.0.1.3680043.10.1432.8.1", for: .studyInstanceUID, vr: .UI)
    ds.setString("1.2.826.0.1.3680043.10.1432.8.1.2", for: .seriesInstanceUID, vr: .UI)
    ds.setString("3", for: .seriesNumber, vr: .IS)
    ds.setString("1", for: .instanceNumber, vr: .IS)
    ds.setUInt16(1, for: .samplesPerPixel)
    ds.setString("MONOCHROME2", for: .photometricInterpretation, vr: .CS)
    ds.setUInt16(512, for: .rows)
    ds.setUInt16(512, for: .columns)
    ds.setUInt16(16, for: .bitsAllocated)
    ds.setUInt16(12, for: .bitsStored)
    ds.setUInt16(11, for: .highBit)
    ds.setUInt16(0, for: .pixelRepresentation)
    var rng = SystemRandomNumberGenerator()
    ds.set(Element(tag: .pixelData, vr: .OW, bytes: (0..<(512 * 512 * 2)).map { _ in UInt8.random(in: 0...255, using: &rng) }))
    return (try? DICOMFile(dataSet: ds).serialized()) ?? []
}

let benchmarks: @Sendable () -> Void = {
    let bytes = ctSlice()
    let megabytes = Double(bytes.count) / 1_000_000
    Benchmark.defaultConfiguration = .init(metrics: [.wallClock, .throughput, .mallocCountTotal], maxDuration: .seconds(3))

    Benchmark("Parse CT slice (\(bytes.count / 1024) KB, full)") { benchmark in
        for _ in benchmark.scaledIterations { blackHole(try DICOMFile.read(bytes)) }
    }
    Benchmark("Parse CT slice (header only)") { benchmark in
        for _ in benchmark.scaledIterations { blackHole(try DICOMFile.read(bytes, options: .headerOnly)) }
    }
    let file = try? DICOMFile.read(bytes)
    Benchmark("Write CT slice (\(megabytes) MB)") { benchmark in
        for _ in benchmark.scaledIterations { blackHole(try file?.serialized()) }
    }
}
