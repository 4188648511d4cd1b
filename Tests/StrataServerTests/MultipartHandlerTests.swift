import Crypto
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import S3Protocol
import StrataConfig
import StrataStore
import Testing

@testable import StrataServer

/// MultipartHandlers: uploads created, parts sent and copied, listed, completed and aborted, against the in-memory
/// store's simple uploads.
@Suite struct MultipartHandlerTests {
    static func create(_ client: any TestClientProtocol, _ key: String, headers: HTTPFields = [:]) async throws -> String {
        let created = try await client.execute(uri: "/mem/\(key)?uploads", method: .post, headers: headers)
        return try #require(created.text("UploadId"))
    }

    static func complete(_ parts: [(Int, String)]) -> ByteBuffer {
        let entries = parts.map { "<Part><PartNumber>\($0.0)</PartNumber><ETag>\($0.1)</ETag></Part>" }
        return ByteBuffer(string: "<CompleteMultipartUpload>" + entries.joined() + "</CompleteMultipartUpload>")
    }

    @Test func anUploadFromCreateToComplete() async throws {
        let storage = InMemoryStorage()
        try await InMemoryS3.test(storage) { client in
            try await client.execute(uri: "/mem", method: .put)
            let created = try await client.execute(uri: "/mem/big?uploads", method: .post, headers: [.contentType: "text/csv"])
            #expect(created.document?.name == "InitiateMultipartUploadResult")
            #expect(created.text("Bucket") == "mem" && created.text("Key") == "big")
            let id = try #require(created.text("UploadId"))
            var etags: [(Int, String)] = []
            for (number, text) in [(1, "first,"), (2, "second")] {
                let part = try await client.execute(uri: "/mem/big?partNumber=\(number)&uploadId=\(id)", method: .put, body: ByteBuffer(string: text))
                #expect(part.headers[.eTag] == "\"\(Insecure.md5Hex(text))\"")
                etags.append((number, try #require(part.headers[.eTag])))
            }
            let done = try await client.execute(uri: "/mem/big?uploadId=\(id)", method: .post, body: Self.complete(etags))
            #expect(done.status == .ok && done.document?.name == "CompleteMultipartUploadResult")
            #expect(done.text("Location") == "http://localhost/mem/big")
            #expect(done.text("Bucket") == "mem" && done.text("Key") == "big" && done.text("ETag")?.hasSuffix("-2\"") == true)
            let object = try await client.execute(uri: "/mem/big", method: .get)
            #expect(String(buffer: object.body) == "first,second" && object.headers[.contentType] == "text/csv")
            #expect(try await client.execute(uri: "/mem/big?uploadId=\(id)", method: .get).errorCode == "NoSuchUpload")
        }
    }

    @Test func createMultipartUploadStatesItsChecksum() async throws {
        try await InMemoryS3.test { client in
            try await client.execute(uri: "/mem", method: .put)
            let crc = fields(["x-amz-checksum-algorithm": "CRC32"])
            let created = try await client.execute(uri: "/mem/k?uploads", method: .post, headers: crc)
            #expect(created.header("x-amz-checksum-algorithm") == "CRC32" && created.header("x-amz-checksum-type") == "COMPOSITE")
            let unknown = fields(["x-amz-checksum-algorithm": "MD4"])
            #expect(try await client.execute(uri: "/mem/k?uploads", method: .post, headers: unknown).errorCode == "InvalidRequest")
            let badType = fields(["x-amz-checksum-algorithm": "CRC32", "x-amz-checksum-type": "PARTIAL"])
            #expect(try await client.execute(uri: "/mem/k?uploads", method: .post, headers: badType).errorCode == "InvalidRequest")
        }
    }

    @Test func partsAreListedAndCopied() async throws {
        try await InMemoryS3.test { client in
            try await client.execute(uri: "/mem", method: .put)
            try await client.execute(uri: "/mem/src", method: .put, body: ByteBuffer(string: "copied"))
            let id = try await Self.create(client, "k")
            try await client.execute(uri: "/mem/k?partNumber=1&uploadId=\(id)", method: .put, body: ByteBuffer(string: "one"))
            let copy = try await client.execute(
                uri: "/mem/k?partNumber=2&uploadId=\(id)",
                method: .put,
                headers: fields(["x-amz-copy-source": "/mem/src"])
            )
            #expect(copy.document?.name == "CopyPartResult" && copy.text("ETag") == "\"\(Insecure.md5Hex("copied"))\"")
            let listed = try await client.execute(uri: "/mem/k?uploadId=\(id)", method: .get)
            #expect(listed.text("UploadId") == id && listed.text("Initiator", "ID") == "anonymous" && listed.text("Owner", "ID") == "anonymous")
            #expect(listed.document?.children("Part").map { $0.child("Size")?.text } == ["3", "6"])
            #expect(listed.text("IsTruncated") == "false")
            let page = try await client.execute(uri: "/mem/k?uploadId=\(id)&max-parts=1", method: .get)
            #expect(page.document?.children("Part").count == 1 && page.text("IsTruncated") == "true")
            #expect(page.text("NextPartNumberMarker") == "1" && page.text("MaxParts") == "1")
        }
    }

    @Test func uploadsAreListedAndAborted() async throws {
        try await InMemoryS3.test { client in
            try await client.execute(uri: "/mem", method: .put)
            let first = try await Self.create(client, "logs/a")
            _ = try await Self.create(client, "data/b")
            let listed = try await client.execute(uri: "/mem?uploads&prefix=logs/", method: .get)
            #expect(listed.document?.name == "ListMultipartUploadsResult" && listed.text("Prefix") == "logs/")
            #expect(listed.document?.children("Upload").map { $0.child("UploadId")?.text } == [first])
            #expect(listed.text("Upload", "Key") == "logs/a" && listed.text("Upload", "Initiator", "ID") == "anonymous")
            #expect(try await client.execute(uri: "/mem/logs/a?uploadId=\(first)", method: .delete).status == .noContent)
            #expect(try await client.execute(uri: "/mem/logs/a?uploadId=\(first)", method: .delete).errorCode == "NoSuchUpload")
            #expect(try await client.execute(uri: "/mem?uploads", method: .get).document?.children("Upload").count == 1)
        }
    }

    @Test func completeRefusesWhatItCannotJoin() async throws {
        try await InMemoryS3.test { client in
            try await client.execute(uri: "/mem", method: .put)
            let id = try await Self.create(client, "k")
            try await client.execute(uri: "/mem/k?partNumber=1&uploadId=\(id)", method: .put, body: ByteBuffer(string: "x"))
            #expect(try await client.execute(uri: "/mem/k?uploadId=\(id)", method: .post).errorCode == "MalformedXML")
            let wrong = try await client.execute(uri: "/mem/k?uploadId=\(id)", method: .post, body: Self.complete([(1, "\"00\"")]))
            #expect(wrong.status == .badRequest && wrong.errorCode == "InvalidPart")
            #expect(try await client.execute(uri: "/mem/k", method: .head).status == .notFound)
        }
    }

    /// With keepalive the answer is under way before the store finishes: a refusal arrives as a document in a 200.
    @Test func completeWithKeepaliveSendsTheOutcomeInTheBody() async throws {
        try await InMemoryS3.test(properties: [(Keys.completeKeepalive.name, "true")]) { client in
            try await client.execute(uri: "/mem", method: .put)
            let id = try await Self.create(client, "k")
            let part = try await client.execute(uri: "/mem/k?partNumber=1&uploadId=\(id)", method: .put, body: ByteBuffer(string: "x"))
            let wrong = try await client.execute(uri: "/mem/k?uploadId=\(id)", method: .post, body: Self.complete([(1, "\"00\"")]))
            #expect(wrong.status == .ok && wrong.errorCode == "InvalidPart")
            let etag = try #require(part.headers[.eTag])
            let done = try await client.execute(uri: "/mem/k?uploadId=\(id)", method: .post, body: Self.complete([(1, etag)]))
            #expect(done.status == .ok && done.document?.name == "CompleteMultipartUploadResult")
        }
    }
}
