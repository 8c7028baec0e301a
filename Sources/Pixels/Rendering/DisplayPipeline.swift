import DICOM
import Foundation

/// A window: centre and width of the VOI LUT function (PS3.3 C.11.2.1.2).
public struct Window: Sendable, Equatable {
    public var center: Double
    public var width: Double
    public var function: VOIFunction

    public init(center: Double, width: Double, function: VOIFunction = .linear) {
        self.center = center
        self.width = width
        self.function = function
    }
}

public enum VOIFunction: String, Sendable, Equatable {
    case linear = "LINEAR"
    case linearExact = "LINEAR_EXACT"
    case sigmoid = "SIGMOID"
}

/// What turns a monochrome frame's stored values into grey levels: the Modality LUT (rescale or LUT
/// sequence), the VOI LUT (a window, a VOI LUT sequence, or the frame's own range), the Presentation LUT
/// Shape and MONOCHROME1's inversion. Built once per frame; `lut` then maps every stored value in one lookup.
struct GreyscalePipeline {
    enum Modality {
        case rescale(slope: Double, intercept: Double)
        case table(LookupTable)
    }

    enum VOI {
        case window(Window)
        case table(LookupTable)
    }

    var modality: Modality
    var voi: VOI?
    var inverse: Bool

    /// From the header (and, for enhanced multi-frame objects, the frame's functional groups); `window`
    /// overrides the file's VOI.
    init(dataSet ds: DataSet, frame: Int, format f: PixelFormat, window: Window?) {
        let groups = FunctionalGroups(ds, frame: frame)
        let signed = f.isSigned
        if let item = ds.items(.modalityLUTSequence).first, let lut = LookupTable(item: item, signedInput: signed) {
            modality = .table(lut)
        } else {
            let source = groups.item(.pixelValueTransformationSequence) ?? ds
            modality = .rescale(slope: source.double(.rescaleSlope) ?? 1, intercept: source.double(.rescaleIntercept) ?? 0)
        }
        if let window {
            voi = .window(window)
        } else {
            let source = groups.item(.frameVOILUTSequence) ?? ds
            let centers = source.doubles(.windowCenter), widths = source.doubles(.windowWidth)
            let function = source.string(.voiLUTFunction).flatMap { VOIFunction(rawValue: $0.trimmingSpaces) } ?? .linear
            if let c = centers.first, let w = widths.first, w > 0 || (function == .linearExact && w > 0) {
                voi = .window(Window(center: c, width: w, function: function))
            } else if let item = ds.items(.voiLUTSequence).first,
                      let lut = LookupTable(item: item, signedInput: Self.modalityOutputCanBeNegative(modality, f)) {
                voi = .table(lut)
            } else {
                voi = nil  // min/max of the frame, decided once the values are known
            }
        }
        let shape = ds.string(.presentationLUTShape)?.trimmingSpaces
        inverse = shape == "INVERSE" || (shape != "IDENTITY" && f.photometric == .monochrome1)
    }

    /// Whether the VOI LUT Descriptor's first mapped value is read as SS (PS3.3 C.11.2.1.1): it is when the
    /// Modality transform's output can be negative, as a CT's Hounsfield units are with unsigned stored values
    /// and Rescale Intercept −1024; read as US, 0xFC00 put every value below the table (one grey level).
    static func modalityOutputCanBeNegative(_ modality: Modality, _ f: PixelFormat) -> Bool {
        switch modality {
        case .table: return false  // a Modality LUT's output is unsigned
        case .rescale(let slope, let intercept):
            let bits = Double(min(max(f.bitsStored, 1), 32))
            let lowest = f.isSigned ? -pow(2, bits - 1) : 0, highest = f.isSigned ? pow(2, bits - 1) - 1 : pow(2, bits) - 1
            return min(lowest * slope + intercept, highest * slope + intercept) < 0
        }
    }

    @inline(__always)
    func modalityValue(_ stored: Int) -> Double {
        switch modality {
        case .rescale(let slope, let intercept): return Double(stored) * slope + intercept
        case .table(let lut): return Double(lut.map(stored))
        }
    }

    /// Grey level 0–255 of a modality value under the VOI (min/max window supplied when the file has none).
    @inline(__always)
    func grey(_ x: Double, fallback: Window) -> UInt8 {
        var y: Double  // 0…1
        switch voi ?? .window(fallback) {
        case .table(let lut):
            // Clamped before the conversion: a modality value from a hostile slope can be huge or not a number.
            let index = x.isNaN ? 0 : Int(max(-1e9, min(1e9, x.rounded(.down))))
            y = Double(lut.map(index)) / Double(max(1, lut.maxOutput))
        case .window(let w):
            switch w.function {
            case .linear:
                let c = w.center - 0.5, width = max(w.width, 1) - 1
                if x <= c - width / 2 { y = 0 } else if x > c + width / 2 { y = 1 } else { y = width > 0 ? (x - c) / width + 0.5 : 1 }
            case .linearExact:
                if x <= w.center - w.width / 2 { y = 0 } else if x > w.center + w.width / 2 { y = 1 } else { y = (x - w.center) / w.width + 0.5 }
            case .sigmoid:
                y = 1 / (1 + exp(-4 * (x - w.center) / w.width))
            }
        }
        if inverse { y = 1 - y }
        return UInt8(max(0, min(255, (y * 255).rounded())))
    }

    /// The window covering `minimum…maximum` (modality values): what is shown when the file sets none.
    static func minMaxWindow(_ minimum: Double, _ maximum: Double) -> Window {
        Window(center: (minimum + maximum) / 2 + 0.5, width: max(1, maximum - minimum + 1), function: .linear)
    }
}

/// The functional group items that apply to one frame of an enhanced multi-frame object: per-frame first,
/// then shared (PS3.3 C.7.6.16).
struct FunctionalGroups {
    let perFrame: DataSet?
    let shared: DataSet?

    init(_ ds: DataSet, frame: Int) {
        let frames = ds.items(.perFrameFunctionalGroupsSequence)
        perFrame = frame < frames.count ? frames[frame] : nil
        shared = ds.items(.sharedFunctionalGroupsSequence).first
    }

    func item(_ tag: Tag) -> DataSet? {
        perFrame?.items(tag).first ?? shared?.items(tag).first
    }
}
