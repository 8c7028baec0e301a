#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// New UIDs under Arca's root: root, seconds since 1970, then 63 random bits (PS3.5 9.1: ≤ 64 characters).
public enum UIDGenerator {
    public static let root = "1.2.826.0.1.3680043.10.1432.2"

    public static func make() -> String {
        var rng = SystemRandomNumberGenerator()
        return root + "." + String(time(nil)) + "." + String(rng.next() as UInt64 >> 1)
    }
}
