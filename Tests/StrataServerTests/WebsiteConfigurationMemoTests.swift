import Testing

@testable import S3Protocol
@testable import StrataServer

/// The website listener reuses a parsed configuration only while the stored document is unchanged.
@Suite struct WebsiteConfigurationMemoTests {
    static func document(_ suffix: String) -> [UInt8] {
        Array(
            "<WebsiteConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><IndexDocument><Suffix>\(suffix)</Suffix></IndexDocument></WebsiteConfiguration>"
                .utf8
        )
    }

    @Test func aChangedDocumentIsParsedAgain() throws {
        let memo = ParsedWebsiteConfigurations()
        let first = try memo.parse("site", Self.document("index.html"))
        #expect(first.indexSuffix == "index.html")
        #expect(try memo.parse("site", Self.document("index.html")) == first)
        #expect(try memo.parse("site", Self.document("home.html")).indexSuffix == "home.html")
        #expect(try memo.parse("other", Self.document("index.html")).indexSuffix == "index.html")
        #expect(throws: S3Error.self) { try memo.parse("site", Array("<WebsiteConfiguration>".utf8)) }
        #expect(try memo.parse("site", Self.document("home.html")).indexSuffix == "home.html")
    }
}
