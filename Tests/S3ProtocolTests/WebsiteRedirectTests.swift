import Testing

@testable import S3Protocol

/// The website's `/dir` to `/dir/` redirect stays on this host and leads to the same index document.
@Suite struct WebsiteRedirectTests {
    @Test func locationsArePathsOnThisHost() {
        #expect(WebsiteConfiguration.directoryLocation(forKey: "docs") == "/docs/")
        #expect(WebsiteConfiguration.directoryLocation(forKey: "a/b c/d") == "/a/b%20c/d/")
        #expect(WebsiteConfiguration.directoryLocation(forKey: "/evil.example") == "/%2Fevil.example/")
        #expect(WebsiteConfiguration.directoryLocation(forKey: "///evil.example/x") == "/%2F%2F%2Fevil.example/x/")
        #expect(WebsiteConfiguration.directoryLocation(forKey: "\\evil.example") == "/%5Cevil.example/")
        #expect(WebsiteConfiguration.directoryLocation(forKey: "caf\u{E9}") == "/caf%C3%A9/")
    }

    @Test func aLocationNamesTheIndexOfTheSameKey() {
        let configuration = WebsiteConfiguration(indexSuffix: "index.html")
        for key in ["docs", "/evil.example", "//x//y", "\\evil.example", "a+b?c#d", "%2F", "caf\u{E9}"] {
            let location = WebsiteConfiguration.directoryLocation(forKey: key)
            #expect(!location.hasPrefix("//") && !location.hasPrefix("/\\"), "\(location)")
            #expect(configuration.key(forPath: location) == key + "/index.html", "\(key)")
        }
    }
}
