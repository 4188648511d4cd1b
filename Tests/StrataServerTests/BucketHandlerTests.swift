import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import S3Protocol
import StrataConfig
import StrataStore
import Testing

@testable import StrataServer

/// BucketHandlers: ListBuckets, CreateBucket, HeadBucket, DeleteBucket and GetBucketLocation.
@Suite struct BucketHandlerTests {
    /// SIMPLE mode names the user in the Authorization header.
    static func simple(_ user: String) -> HTTPFields { [.authorization: "AWS \(user):signature"] }

    @Test func listBucketsPagesTheCallersBuckets() async throws {
        try await InMemoryS3.test { client in
            for name in ["bk2", "bk1", "cc1"] { try await client.execute(uri: "/\(name)", method: .put, headers: Self.simple("alice")) }
            try await client.execute(uri: "/bobs", method: .put, headers: Self.simple("bob"))
            let all = try await client.execute(uri: "/", method: .get, headers: Self.simple("alice"))
            #expect(all.text("Owner", "ID") == "alice")
            // In byte order, and only the caller's own.
            #expect(all.document?.child("Buckets")?.children("Bucket").map { $0.child("Name")?.text } == ["bk1", "bk2", "cc1"])
            #expect(all.text("Buckets", "Bucket", "BucketRegion") == "us-east-1")
            let page = try await client.execute(uri: "/?prefix=bk&max-buckets=1", method: .get, headers: Self.simple("alice"))
            #expect(page.text("Buckets", "Bucket", "Name") == "bk1" && page.text("Prefix") == "bk")
            let token = try #require(page.text("ContinuationToken"))
            let next = try await client.execute(
                uri: "/?prefix=bk&max-buckets=1&continuation-token=\(token)",
                method: .get,
                headers: Self.simple("alice")
            )
            #expect(next.text("Buckets", "Bucket", "Name") == "bk2")
            let elsewhere = try await client.execute(uri: "/?bucket-region=eu-west-1", method: .get, headers: Self.simple("alice"))
            #expect(elsewhere.document?.child("Buckets")?.children.isEmpty == true)
        }
    }

    @Test func createBucketRecordsItsOwner() async throws {
        let storage = InMemoryStorage()
        try await InMemoryS3.test(storage) { client in
            let created = try await client.execute(uri: "/mem", method: .put, headers: Self.simple("alice"))
            #expect(created.status == .ok && created.headers[.location] == "/mem")
            #expect(try await storage.bucketOwner("mem") == "alice")
            let configuration = "<CreateBucketConfiguration><LocationConstraint>us-east-1</LocationConstraint></CreateBucketConfiguration>"
            #expect(try await client.execute(uri: "/configured", method: .put, body: ByteBuffer(string: configuration)).status == .ok)
            #expect(try await client.execute(uri: "/other", method: .put, body: ByteBuffer(string: "<Other/>")).errorCode == "MalformedXML")
            #expect(try await client.execute(uri: "/Upper", method: .put).errorCode == "InvalidBucketName")
            await #expect(throws: S3Error.self) { try await storage.headBucket("other") }
        }
    }

    @Test func headBucketAndLocationAnswerTheRegion() async throws {
        try await InMemoryS3.test(properties: [(Keys.region.name, "eu-west-1")]) { client in
            try await client.execute(uri: "/mem", method: .put)
            for (key, body) in [("a", "123"), ("b", "4567")] {
                try await client.execute(uri: "/mem/\(key)", method: .put, body: ByteBuffer(string: body))
            }
            let head = try await client.execute(uri: "/mem", method: .head)
            #expect(head.status == .ok && head.header("x-amz-bucket-region") == "eu-west-1" && head.header("x-rgw-object-count") == nil)
            // Ceph's extension counts the bucket's objects and bytes.
            let stats = try await client.execute(uri: "/mem?read-stats=true", method: .head)
            #expect(stats.header("x-rgw-object-count") == "2" && stats.header("x-rgw-bytes-used") == "7")
            let location = try await client.execute(uri: "/mem?location", method: .get)
            #expect(location.document?.name == "LocationConstraint" && location.document?.text == "eu-west-1")
            #expect(try await client.execute(uri: "/none", method: .head).status == .notFound)
        }
    }

    @Test func usEast1IsAnEmptyLocationConstraint() async throws {
        try await InMemoryS3.test { client in
            try await client.execute(uri: "/mem", method: .put)
            let location = try await client.execute(uri: "/mem?location", method: .get)
            #expect(location.document?.name == "LocationConstraint" && location.document?.text == "")
        }
    }

    @Test func deleteBucketNeedsItEmpty() async throws {
        let storage = InMemoryStorage()
        try await InMemoryS3.test(storage) { client in
            try await client.execute(uri: "/mem", method: .put)
            try await client.execute(uri: "/mem/k", method: .put, body: ByteBuffer(string: "x"))
            #expect(try await client.execute(uri: "/mem", method: .delete).errorCode == "BucketNotEmpty")
            try await client.execute(uri: "/mem/k", method: .delete)
            #expect(try await client.execute(uri: "/mem", method: .delete).status == .noContent)
            #expect(try await storage.listBuckets().isEmpty)
            #expect(try await client.execute(uri: "/mem", method: .delete).errorCode == "NoSuchBucket")
        }
    }
}
