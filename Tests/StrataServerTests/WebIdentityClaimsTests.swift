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

@Suite struct STSConfigurationFileTests {
    @Test func aFarFutureModificationTimeIsJustAVersion() throws {
        let path = NSTemporaryDirectory() + "strata-sts-" + UUID().uuidString + ".json"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let document = #"{"providers": [{"issuer": "https://idp.example", "audiences": ["strata"]}], "roles": []}"#
        try Data(document.utf8).write(to: URL(fileURLWithPath: path))
        // Year 2300: its nanoseconds do not fit in Int64, which a conversion through Date and Double trapped on.
        var times = [timespec(tv_sec: 10_413_792_000, tv_nsec: 0), timespec(tv_sec: 10_413_792_000, tv_nsec: 0)]
        #expect(utimensat(AT_FDCWD, path, &times, 0) == 0)
        let file = try STSConfigurationFile(path: path)
        #expect(file.current.providers.map(\.issuer) == ["https://idp.example"])
    }
}
