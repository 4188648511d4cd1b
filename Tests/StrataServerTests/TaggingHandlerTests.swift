import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import S3Protocol
import StrataConfig
import StrataStore
import Testing

@testable import StrataServer

/// TaggingHandlers: tag documents in and out of the store, and the `x-amz-tagging` header on writes.
@Suite struct TaggingHandlerTests {
    static func tagging(_ tags: [(String, String)]) -> ByteBuffer {
        ByteBuffer(string: "<Tagging><TagSet>" + tags.map { "<Tag><Key>\($0.0)</Key><Value>\($0.1)</Value></Tag>" }.joined() + "</TagSet></Tagging>")
    }

    @Test func objectTagsAreStoredAndAnswered() async throws {
        let storage = InMemoryStorage()
        try await InMemoryS3.test(storage) { client in
            try await client.execute(uri: "/mem", method: .put)
            try await client.execute(uri: "/mem/k", method: .put, body: ByteBuffer(string: "x"))
            let put = try await client.execute(uri: "/mem/k?tagging", method: .put, body: Self.tagging([("b", "2"), ("a", "1")]))
            #expect(put.status == .ok)
            #expect(try await storage.objectTagging(bucket: "mem", key: "k").count == 2)
            let got = try await client.execute(uri: "/mem/k?tagging", method: .get)
            // By key, whatever order they were sent in.
            #expect(got.document?.child("TagSet")?.children("Tag").compactMap { $0.child("Key")?.text } == ["a", "b"])
            #expect(try await client.execute(uri: "/mem/k?tagging", method: .delete).status == .noContent)
            #expect(try await storage.objectTagging(bucket: "mem", key: "k").isEmpty)
            #expect(try await client.execute(uri: "/mem/none?tagging", method: .get).errorCode == "NoSuchKey")
        }
    }

    @Test func objectTagDocumentsAreValidated() async throws {
        try await InMemoryS3.test { client in
            try await client.execute(uri: "/mem", method: .put)
            try await client.execute(uri: "/mem/k", method: .put, body: ByteBuffer(string: "x"))
            #expect(try await client.execute(uri: "/mem/k?tagging", method: .put).errorCode == "MissingRequestBodyError")
            let eleven = (0..<11).map { ("k\($0)", "v") }
            #expect(try await client.execute(uri: "/mem/k?tagging", method: .put, body: Self.tagging(eleven)).errorCode == "InvalidTag")
            let twice = Self.tagging([("a", "1"), ("a", "2")])
            #expect(try await client.execute(uri: "/mem/k?tagging", method: .put, body: twice).errorCode == "InvalidTag")
            let badDigest = fields(["content-md5": "1B2M2Y8AsgTpgAmY7PhCfg=="])
            let digested = try await client.execute(uri: "/mem/k?tagging", method: .put, headers: badDigest, body: Self.tagging([("a", "1")]))
            #expect(digested.errorCode == "BadDigest")
        }
    }

    @Test func bucketTagsAreStoredAndAnswered() async throws {
        let storage = InMemoryStorage()
        try await InMemoryS3.test(storage) { client in
            try await client.execute(uri: "/mem", method: .put)
            #expect(try await client.execute(uri: "/mem?tagging", method: .get).errorCode == "NoSuchTagSet")
            let put = try await client.execute(uri: "/mem?tagging", method: .put, body: Self.tagging([("team", "data")]))
            #expect(put.status == .noContent)
            #expect(try await storage.bucketTagging("mem").count == 1)
            #expect(try await client.execute(uri: "/mem?tagging", method: .get).text("TagSet", "Tag", "Value") == "data")
            #expect(try await client.execute(uri: "/mem?tagging", method: .delete).status == .noContent)
            #expect(try await client.execute(uri: "/mem?tagging", method: .get).errorCode == "NoSuchTagSet")
            #expect(try await client.execute(uri: "/nobucket?tagging", method: .put, body: Self.tagging([("a", "1")])).errorCode == "NoSuchBucket")
        }
    }

    @Test func theTaggingHeaderTagsNewObjects() async throws {
        let storage = InMemoryStorage()
        try await InMemoryS3.test(storage, properties: [(Keys.taggingHeaderMaxSize.name, "16")]) { client in
            try await client.execute(uri: "/mem", method: .put)
            let tagged = try await client.execute(
                uri: "/mem/k",
                method: .put,
                headers: fields(["x-amz-tagging": "a=1&b=2"]),
                body: ByteBuffer(string: "x")
            )
            #expect(tagged.status == .ok)
            #expect(try await storage.objectTagging(bucket: "mem", key: "k").count == 2)
            let long = fields(["x-amz-tagging": "key=" + String(repeating: "v", count: 20)])
            #expect(
                try await client.execute(uri: "/mem/l", method: .put, headers: long, body: ByteBuffer(string: "x")).errorCode == "MetadataTooLarge"
            )
            #expect(try await client.execute(uri: "/mem/l", method: .get).errorCode == "NoSuchKey")
        }
    }
}
