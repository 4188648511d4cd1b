import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import S3Protocol
import StrataStore
import Testing

@testable import StrataServer

/// ListingHandlers: the store's page as ListObjects (v1), ListObjectsV2 and ListObjectVersions documents.
@Suite struct ListingHandlerTests {
    static func keys(_ response: TestResponse) -> [String?] {
        response.document?.children("Contents").map { $0.child("Key")?.text } ?? []
    }

    static func bucket(_ client: any TestClientProtocol, _ keys: [String]) async throws {
        try await client.execute(uri: "/mem", method: .put)
        for key in keys { try await client.execute(uri: "/mem/\(key)", method: .put, body: ByteBuffer(string: key)) }
    }

    @Test func listObjectsV2PagesWithContinuationTokens() async throws {
        try await InMemoryS3.test { client in
            try await Self.bucket(client, ["a", "b", "c"])
            let first = try await client.execute(uri: "/mem?list-type=2&max-keys=2", method: .get)
            #expect(first.document?.name == "ListBucketResult" && first.text("Name") == "mem")
            #expect(Self.keys(first) == ["a", "b"] && first.text("KeyCount") == "2" && first.text("MaxKeys") == "2")
            #expect(first.text("IsTruncated") == "true" && first.text("Contents", "Owner") == nil)
            #expect(first.text("Contents", "Size") == "1" && first.text("Contents", "StorageClass") == "STANDARD")
            let token = try #require(first.text("NextContinuationToken"))
            let second = try await client.execute(uri: "/mem?list-type=2&max-keys=2&continuation-token=\(token)", method: .get)
            #expect(Self.keys(second) == ["c"] && second.text("ContinuationToken") == token)
            #expect(second.text("IsTruncated") == "false" && second.text("NextContinuationToken") == nil)
            let after = try await client.execute(uri: "/mem?list-type=2&start-after=a&fetch-owner=true", method: .get)
            #expect(Self.keys(after) == ["b", "c"] && after.text("StartAfter") == "a")
            // The object names no owner in memory: the bucket's is reported.
            #expect(after.text("Contents", "Owner", "ID") == "anonymous")
            #expect(try await client.execute(uri: "/none?list-type=2", method: .get).errorCode == "NoSuchBucket")
        }
    }

    @Test func listObjectsV1UsesMarkers() async throws {
        try await InMemoryS3.test { client in
            try await Self.bucket(client, ["a", "b", "c"])
            let page = try await client.execute(uri: "/mem?marker=a", method: .get)
            #expect(Self.keys(page) == ["b", "c"] && page.text("Marker") == "a" && page.text("KeyCount") == nil)
            // NextMarker only with a delimiter, as AWS.
            let truncated = try await client.execute(uri: "/mem?max-keys=1", method: .get)
            #expect(truncated.text("IsTruncated") == "true" && truncated.text("NextMarker") == nil)
            let delimited = try await client.execute(uri: "/mem?max-keys=1&delimiter=/", method: .get)
            #expect(delimited.text("NextMarker") == "a" && delimited.text("Delimiter") == "/")
        }
    }

    @Test func urlEncodingCoversKeysButNotTheV1Prefix() async throws {
        try await InMemoryS3.test { client in
            try await Self.bucket(client, ["my%20file"])
            let v2 = try await client.execute(uri: "/mem?list-type=2&encoding-type=url&prefix=my%20", method: .get)
            #expect(Self.keys(v2) == ["my%20file"] && v2.text("Prefix") == "my%20" && v2.text("EncodingType") == "url")
            let v1 = try await client.execute(uri: "/mem?encoding-type=url&prefix=my%20", method: .get)
            #expect(Self.keys(v1) == ["my%20file"] && v1.text("Prefix") == "my ")
            let plain = try await client.execute(uri: "/mem?list-type=2", method: .get)
            #expect(Self.keys(plain) == ["my file"] && plain.text("EncodingType") == nil)
        }
    }

    /// The in-memory store keeps one version per key and no delete markers: versions are listed from a real root.
    @Test func listObjectVersionsShowsVersionsAndDeleteMarkers() async throws {
        let root = TestRoot()
        let built = try root.application()
        defer { Task { await built.shutdown() } }
        try await built.s3.test(.router) { client in
            try await client.execute(uri: "/vers", method: .put)
            let enable = "<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>"
            try await client.execute(uri: "/vers?versioning", method: .put, body: ByteBuffer(string: enable))
            let first = try await client.execute(uri: "/vers/k", method: .put, body: ByteBuffer(string: "one"))
            let second = try await client.execute(uri: "/vers/k", method: .put, body: ByteBuffer(string: "two"))
            let marker = try await client.execute(uri: "/vers/k", method: .delete)
            let ids = [marker, second, first].map { $0.header("x-amz-version-id") }
            let listed = try await client.execute(uri: "/vers?versions", method: .get)
            #expect(listed.document?.name == "ListVersionsResult" && listed.text("Name") == "vers")
            let entries = listed.document?.children.filter { $0.name == "Version" || $0.name == "DeleteMarker" } ?? []
            #expect(entries.map(\.name) == ["DeleteMarker", "Version", "Version"])
            #expect(entries.map { $0.child("VersionId")?.text } == ids)
            #expect(entries.map { $0.child("IsLatest")?.text } == ["true", "false", "false"])
            #expect(entries[0].child("ETag") == nil && entries[1].child("Size")?.text == "3")
            let page = try await client.execute(uri: "/vers?versions&max-keys=1", method: .get)
            #expect(page.text("IsTruncated") == "true" && page.text("NextKeyMarker") == "k")
            #expect(page.text("NextVersionIdMarker") == ids[0] && page.text("MaxKeys") == "1")
        }
    }
}
