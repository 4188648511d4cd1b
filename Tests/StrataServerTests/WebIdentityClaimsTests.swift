import Foundation
import Testing

@testable import StrataServer

/// Claims come from tokens an identity provider signed, but a provider may put any JSON number in any claim: reading
/// them never traps, and whole numbers read as the integers roles compare them with.
@Suite struct WebIdentityClaimsTests {
    static func claims(_ json: String) throws -> WebIdentityClaims {
        try JSONDecoder().decode(WebIdentityClaims.self, from: Data(json.utf8))
    }

    @Test func numbersOfEverySizeReadAsText() throws {
        let read = try Self.claims(#"{"aud": 12345, "big": 1e300, "neg": -1e300, "frac": 2.5, "edge": 999999999999999}"#)
        #expect(read.strings("aud") == ["12345"])
        #expect(read.strings("big") == [String(1e300)])
        #expect(read.strings("neg") == [String(-1e300)])
        #expect(read.strings("frac") == ["2.5"])
        #expect(read.strings("edge") == ["999999999999999"])
        #expect(read.seconds("big") == nil)
        #expect(read.seconds("aud") == 12345)
    }

    @Test func stringsListsAndOthers() throws {
        let read = try Self.claims(#"{"sub": "alice", "groups": ["a", "b"], "nested": {"x": 1}, "flag": true}"#)
        #expect(read.string("sub") == "alice")
        #expect(read.strings("groups") == ["a", "b"])
        #expect(read.strings("nested").isEmpty)
        #expect(read.strings("missing").isEmpty)
    }
}
