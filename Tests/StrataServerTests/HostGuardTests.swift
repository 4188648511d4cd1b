import HTTPTypes
import S3Protocol
import Testing

@testable import StrataServer

/// Which Host headers a listener answers: every one beyond loopback, only loopback and allowed names on loopback.
@Suite struct HostGuardTests {
    static let loopback = HostGuard(bindHost: "127.0.0.1", allowedHosts: ["files.example.test", "[fd00::7]:99", "Upper.Example.Test."])

    static func admits(_ hostGuard: HostGuard, _ authority: String?, fields: HTTPFields = [:]) -> Bool {
        hostGuard.refusal(authority: authority, fields: fields) == nil
    }

    @Test func authoritiesAreSplitIntoLowercasedHostNames() {
        #expect(HostName.parse("LocalHost:39999") == "localhost")
        #expect(HostName.parse("localhost.") == "localhost")
        #expect(HostName.parse("127.0.0.1") == "127.0.0.1")
        #expect(HostName.parse("[::1]:8080") == "::1")
        #expect(HostName.parse("[::1]") == "::1")
        #expect(HostName.parse("host:") == "host")
        for malformed in ["", ":80", "[::1", "[::1]x", "[::1]:8o", "a:b:c", "host:123456", "[]:1"] {
            #expect(HostName.parse(malformed) == nil, "\(malformed)")
        }
    }

    @Test func loopbackNames() {
        for name in ["localhost", "a.b.localhost", "127.0.0.1", "127.255.3.4", "::1", "0:0:0:0:0:0:0:1", "::ffff:127.0.0.2"] {
            #expect(HostName.isLoopback(name), "\(name)")
        }
        for name in ["localhost.evil.example", "evillocalhost", "128.0.0.1", "127.1", "0.0.0.0", "::", "::2", "::ffff:10.0.0.1", "127.0.0.1.nip.io"] {
            #expect(!HostName.isLoopback(name), "\(name)")
        }
    }

    @Test func aLoopbackListenerAnswersLoopbackAndAllowedNamesOnly() {
        let guarded = Self.loopback
        for authority in [
            "localhost:39999", "127.0.0.1:39999", "[::1]:39999", "app.localhost", "files.example.test:80", "FILES.example.test", "[fd00::7]",
            "upper.example.test",
        ] {
            #expect(Self.admits(guarded, authority), "\(authority)")
        }
        #expect(Self.admits(guarded, nil))  // HTTP/1.0 without Host: never a browser
        for authority in ["evil.example", "evil.example:39999", "127.0.0.1.evil.example", "files.example.test.evil.example", "", "[::2]"] {
            #expect(!Self.admits(guarded, authority), "\(authority)")
        }
        let second: HTTPFields = [HTTPField.Name("host")!: "evil.example"]
        #expect(!Self.admits(guarded, "127.0.0.1", fields: second))
        #expect(guarded.refusal(authority: "evil.example", fields: [:])?.contains("strata.proxy.web.allowed.hosts") == true)
    }

    @Test func beyondLoopbackOrWithAStarEveryHostIsAnswered() {
        for hostGuard in [
            HostGuard(bindHost: "0.0.0.0", allowedHosts: []), HostGuard(bindHost: "10.1.2.3", allowedHosts: []),
            HostGuard(bindHost: "localhost", allowedHosts: ["a", "*"]), HostGuard.open,
        ] {
            #expect(Self.admits(hostGuard, "evil.example"))
            #expect(Self.admits(hostGuard, "127.0.0.1", fields: [HTTPField.Name("host")!: "x"]))
        }
        for bind in ["localhost", "127.0.0.1", "127.3.2.1", "::1"] {
            #expect(!Self.admits(HostGuard(bindHost: bind, allowedHosts: []), "evil.example"), "\(bind)")
        }
    }
}
