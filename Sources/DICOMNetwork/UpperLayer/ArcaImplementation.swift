/// Identity of this implementation as announced in A-ASSOCIATE-RQ/AC user information
/// (Implementation Class UID sub-item 0x52, Implementation Version Name sub-item 0x55).
public enum ArcaImplementation {
    /// Implementation Class UID (PS3.7 D.3.3.2): at most 64 characters.
    public static let classUID = "1.2.826.0.1.3680043.10.1432.1"
    /// Implementation Version Name (PS3.7 D.3.3.2): at most 16 characters.
    public static let versionName = "ARCA_010"
}
