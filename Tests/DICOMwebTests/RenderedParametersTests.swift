import Testing

@testable import DICOMweb

/// The rendered resources' `window` parameter (PS3.18 8.3.5.1.4): center, width and an optional function.
@Suite struct RenderedParametersTests {
    @Test func windowFunctionsAsPS318SpellsThem() throws {
        #expect(try DICOMwebRoutes.window("40,400")! == (40, 400, "linear"))
        #expect(try DICOMwebRoutes.window("40,400,linear-exact")! == (40, 400, "linear_exact"))
        #expect(try DICOMwebRoutes.window("40,400,LINEAR_EXACT")! == (40, 400, "linear_exact"))
        #expect(try DICOMwebRoutes.window("-600,1500,sigmoid")! == (-600, 1500, "sigmoid"))
        #expect(try DICOMwebRoutes.window(nil) == nil)
        for bad in ["40", "40,0", "40,400,cubic", "a,b"] {
            #expect(throws: (any Error).self, "\(bad)") { try DICOMwebRoutes.window(bad) }
        }
    }
}
