import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import S3Protocol
import StrataStore
import Testing

@testable import StrataServer

/// BucketConfigurationHandlers: each document parsed, stored in its canonical form and answered as stored.
@Suite struct BucketConfigurationHandlerTests {
    static let cors =
        "<CORSConfiguration><CORSRule><AllowedMethod>GET</AllowedMethod><AllowedOrigin>https://app.example</AllowedOrigin>"
        + "<MaxAgeSeconds>60</MaxAgeSeconds></CORSRule></CORSConfiguration>"

    @Test func corsRulesAreStoredCanonically() async throws {
        let storage = InMemoryStorage()
        try await InMemoryS3.test(storage) { client in
            try await client.execute(uri: "/mem", method: .put)
            #expect(try await client.execute(uri: "/mem?cors", method: .get).errorCode == "NoSuchCORSConfiguration")
            #expect(try await client.execute(uri: "/mem?cors", method: .put, body: ByteBuffer(string: Self.cors)).status == .ok)
            let stored = try await storage.bucketConfiguration("mem", .cors).map { String(decoding: $0, as: UTF8.self) }
            // Canonical: the origin before the method, whatever order the client sent.
            #expect(stored?.contains("<AllowedOrigin>https://app.example</AllowedOrigin><AllowedMethod>GET</AllowedMethod>") == true)
            let got = try await client.execute(uri: "/mem?cors", method: .get)
            #expect(String(buffer: got.body) == stored)
            #expect(got.text("CORSRule", "MaxAgeSeconds") == "60")
            #expect(try await client.execute(uri: "/mem?cors", method: .delete).status == .noContent)
            #expect(try await storage.bucketConfiguration("mem", .cors) == nil)
            #expect(try await client.execute(uri: "/mem?cors", method: .put).errorCode == "MissingRequestBodyError")
            #expect(try await client.execute(uri: "/mem?cors", method: .put, body: ByteBuffer(string: "<Other/>")).errorCode == "MalformedXML")
            #expect(try await client.execute(uri: "/gone?cors", method: .delete).errorCode == "NoSuchBucket")
        }
    }

    @Test func websiteConfigurationIsStoredAndAnswered() async throws {
        let storage = InMemoryStorage()
        try await InMemoryS3.test(storage) { client in
            try await client.execute(uri: "/mem", method: .put)
            #expect(try await client.execute(uri: "/mem?website", method: .get).errorCode == "NoSuchWebsiteConfiguration")
            let document = "<WebsiteConfiguration><IndexDocument><Suffix>index.html</Suffix></IndexDocument></WebsiteConfiguration>"
            #expect(try await client.execute(uri: "/mem?website", method: .put, body: ByteBuffer(string: document)).status == .ok)
            #expect(try await storage.bucketConfiguration("mem", .website) != nil)
            #expect(try await client.execute(uri: "/mem?website", method: .get).text("IndexDocument", "Suffix") == "index.html")
            #expect(try await client.execute(uri: "/mem?website", method: .delete).status == .noContent)
            #expect(try await client.execute(uri: "/mem?website", method: .get).errorCode == "NoSuchWebsiteConfiguration")
        }
    }

    @Test func versioningStatusIsStoredAndAnswered() async throws {
        let storage = InMemoryStorage()
        try await InMemoryS3.test(storage) { client in
            try await client.execute(uri: "/mem", method: .put)
            let never = try await client.execute(uri: "/mem?versioning", method: .get)
            #expect(never.document?.name == "VersioningConfiguration" && never.text("Status") == nil)
            let enable = "<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>"
            #expect(try await client.execute(uri: "/mem?versioning", method: .put, body: ByteBuffer(string: enable)).status == .ok)
            #expect(try await BucketConfigurationHandlers.versioningStatus("mem", in: storage) == .enabled)
            #expect(try await client.execute(uri: "/mem?versioning", method: .get).text("Status") == "Enabled")
            let bogus = "<VersioningConfiguration><Status>Sometimes</Status></VersioningConfiguration>"
            let refused = try await client.execute(uri: "/mem?versioning", method: .put, body: ByteBuffer(string: bogus))
            #expect(refused.errorCode == "IllegalVersioningConfigurationException")
            #expect(try await BucketConfigurationHandlers.versioningStatus("mem", in: storage) == .enabled)
        }
    }
}
