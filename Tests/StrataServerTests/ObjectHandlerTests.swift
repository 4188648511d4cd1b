import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import S3Protocol
import StrataStore
import Testing

@testable import StrataServer

/// ObjectHandlers: PutObject, GetObject, HeadObject, DeleteObject, CopyObject, DeleteObjects and GetObjectAttributes
/// turn their typed arguments into storage calls and the store's answers into S3's.
@Suite struct ObjectHandlerTests {
    static func stored(_ storage: InMemoryStorage, _ key: String) async throws -> ObjectMetadata {
        try await storage.getObject(GetObjectInput(bucket: "mem", key: key, headOnly: true)).metadata
    }

    @Test func putObjectStoresWhatTheHeadersSay() async throws {
        let storage = InMemoryStorage()
        try await InMemoryS3.test(storage) { client in
            try await client.execute(uri: "/mem", method: .put)
            let headers = fields([
                "content-type": "text/csv", "x-amz-meta-origin": "test", "x-amz-acl": "public-read",
                "content-md5": Data(Insecure.MD5.hash(data: Array("a,b\n".utf8))).base64EncodedString(),
            ])
            let put = try await client.execute(uri: "/mem/data.csv", method: .put, headers: headers, body: ByteBuffer(string: "a,b\n"))
            #expect(put.status == .ok)
            #expect(put.headers[.eTag] == "\"\(Insecure.md5Hex("a,b\n"))\"")
            #expect(put.header("x-amz-version-id") == nil)
            let meta = try await Self.stored(storage, "data.csv")
            #expect(meta.contentType == "text/csv" && meta.userMetadata == ["origin": "test"] && meta.owner == "anonymous")
            // The canned ACL becomes the new object's mode: the caller's, readable by everyone.
            #expect(meta.permission?.owner == "anonymous" && meta.permission?.mode == 0o644 && meta.permission?.isPublic == true)
        }
    }

    @Test func putObjectRefusalsStoreNothing() async throws {
        try await InMemoryS3.test { client in
            try await client.execute(uri: "/mem", method: .put)
            let wrongDigest = fields(["content-md5": "1B2M2Y8AsgTpgAmY7PhCfg=="])
            #expect(
                try await client.execute(uri: "/mem/k", method: .put, headers: wrongDigest, body: ByteBuffer(string: "x")).errorCode == "BadDigest"
            )
            let badDigest = fields(["content-md5": "not base64"])
            #expect(
                try await client.execute(uri: "/mem/k", method: .put, headers: badDigest, body: ByteBuffer(string: "x")).errorCode == "InvalidDigest"
            )
            let acl = fields(["x-amz-acl": "authenticated-read"])
            #expect(try await client.execute(uri: "/mem/k", method: .put, headers: acl, body: ByteBuffer(string: "x")).errorCode == "NotImplemented")
            #expect(try await client.execute(uri: "/mem/k", method: .head).status == .notFound)
        }
    }

    @Test func getAndHeadAnswerWithTheStoredHeaders() async throws {
        try await InMemoryS3.test { client in
            try await client.execute(uri: "/mem", method: .put)
            let headers = fields(["content-type": "text/plain", "x-amz-meta-a": "1", "x-amz-tagging": "t=1&u=2"])
            try await client.execute(uri: "/mem/k", method: .put, headers: headers, body: ByteBuffer(string: "hello"))
            let get = try await client.execute(uri: "/mem/k", method: .get)
            #expect(get.status == .ok && String(buffer: get.body) == "hello")
            #expect(get.headers[.contentType] == "text/plain" && get.header("x-amz-meta-a") == "1")
            #expect(get.header("x-amz-tagging-count") == "2" && get.headers[.acceptRanges] == "bytes")
            #expect(get.headers[.lastModified] == HTTPDate.rfc1123(seconds: 1_700_000_000))
            let head = try await client.execute(uri: "/mem/k?response-content-type=application/json", method: .head)
            #expect(head.status == .ok && head.body.readableBytes == 0)
            #expect(head.headers[.contentLength] == "5" && head.headers[.contentType] == "application/json")
            let range = try await client.execute(uri: "/mem/k", method: .get, headers: [.range: "bytes=1-3"])
            #expect(range.status == .partialContent && String(buffer: range.body) == "ell")
            #expect(range.headers[.contentRange] == "bytes 1-3/5")
            #expect(try await client.execute(uri: "/mem/none", method: .get).errorCode == "NoSuchKey")
        }
    }

    @Test func deleteObjectAnswersNoContent() async throws {
        let storage = InMemoryStorage()
        try await InMemoryS3.test(storage) { client in
            try await client.execute(uri: "/mem", method: .put)
            try await client.execute(uri: "/mem/k", method: .put, body: ByteBuffer(string: "x"))
            let deleted = try await client.execute(uri: "/mem/k", method: .delete)
            #expect(deleted.status == .noContent && deleted.header("x-amz-delete-marker") == nil)
            await #expect(throws: S3Error.self) { try await Self.stored(storage, "k") }
            // The null version by its id: the store's answer names it.
            try await client.execute(uri: "/mem/k", method: .put, body: ByteBuffer(string: "x"))
            #expect(try await client.execute(uri: "/mem/k?versionId=null", method: .delete).header("x-amz-version-id") == "null")
            #expect(try await client.execute(uri: "/mem/k?versionId=nonsense", method: .delete).errorCode == "InvalidArgument")
        }
    }

    @Test func copyObjectCopiesOrReplacesMetadata() async throws {
        let storage = InMemoryStorage()
        try await InMemoryS3.test(storage) { client in
            try await client.execute(uri: "/mem", method: .put)
            try await client.execute(uri: "/mem/src", method: .put, headers: [.contentType: "text/plain"], body: ByteBuffer(string: "data"))
            let copy = try await client.execute(uri: "/mem/dst", method: .put, headers: fields(["x-amz-copy-source": "/mem/src"]))
            #expect(copy.document?.name == "CopyObjectResult")
            #expect(copy.text("ETag") == "\"\(Insecure.md5Hex("data"))\"")
            #expect(copy.text("LastModified") == HTTPDate.iso8601(seconds: 1_700_000_000))
            #expect(try await Self.stored(storage, "dst").contentType == "text/plain")
            let replace = fields(["x-amz-copy-source": "/mem/src", "x-amz-metadata-directive": "REPLACE", "content-type": "text/csv"])
            try await client.execute(uri: "/mem/dst", method: .put, headers: replace)
            #expect(try await Self.stored(storage, "dst").contentType == "text/csv")
            let onto = try await client.execute(uri: "/mem/src", method: .put, headers: fields(["x-amz-copy-source": "/mem/src"]))
            #expect(onto.errorCode == "InvalidRequest")
            #expect(
                try await client.execute(uri: "/mem/x", method: .put, headers: fields(["x-amz-copy-source": "/mem/none"])).errorCode == "NoSuchKey"
            )
        }
    }

    @Test func deleteObjectsReportsEachKey() async throws {
        try await InMemoryS3.test { client in
            try await client.execute(uri: "/mem", method: .put)
            for key in ["a", "b"] { try await client.execute(uri: "/mem/\(key)", method: .put, body: ByteBuffer(string: key)) }
            let request = "<Delete><Object><Key>a</Key></Object><Object><Key>forbidden-b</Key></Object></Delete>"
            let answer = try await client.execute(uri: "/mem?delete", method: .post, body: ByteBuffer(string: request))
            #expect(answer.document?.children("Deleted").map { $0.child("Key")?.text } == ["a"])
            #expect(answer.text("Error", "Key") == "forbidden-b" && answer.text("Error", "Code") == "AccessDenied")
            let quiet = "<Delete><Quiet>true</Quiet><Object><Key>b</Key></Object></Delete>"
            let quietAnswer = try await client.execute(uri: "/mem?delete", method: .post, body: ByteBuffer(string: quiet))
            #expect(quietAnswer.document?.name == "DeleteResult" && quietAnswer.document?.children.isEmpty == true)
            #expect(try await client.execute(uri: "/mem/b", method: .head).status == .notFound)
            let empty = try await client.execute(uri: "/mem?delete", method: .post, body: ByteBuffer(string: "<Delete></Delete>"))
            #expect(empty.errorCode == "MalformedXML")
            let badVersion = "<Delete><Object><Key>a</Key><VersionId>../x</VersionId></Object></Delete>"
            #expect(try await client.execute(uri: "/mem?delete", method: .post, body: ByteBuffer(string: badVersion)).errorCode == "InvalidArgument")
            let tooMany = "<Delete>" + String(repeating: "<Object><Key>k</Key></Object>", count: 1001) + "</Delete>"
            #expect(try await client.execute(uri: "/mem?delete", method: .post, body: ByteBuffer(string: tooMany)).errorCode == "MalformedXML")
        }
    }

    @Test func getObjectAttributesAnswersWhatIsAsked() async throws {
        try await InMemoryS3.test { client in
            try await client.execute(uri: "/mem", method: .put)
            try await client.execute(uri: "/mem/k", method: .put, body: ByteBuffer(string: "12345"))
            let asked = fields(["x-amz-object-attributes": "ETag,ObjectSize"])
            let answer = try await client.execute(uri: "/mem/k?attributes", method: .get, headers: asked)
            #expect(answer.document?.name == "GetObjectAttributesResponse")
            #expect(answer.text("ETag") == Insecure.md5Hex("12345") && answer.text("ObjectSize") == "5")
            #expect(answer.text("StorageClass") == nil && answer.text("ObjectParts") == nil)
            #expect(answer.headers[.lastModified] == HTTPDate.rfc1123(seconds: 1_700_000_000))
            let storageClass = fields(["x-amz-object-attributes": "StorageClass"])
            #expect(try await client.execute(uri: "/mem/k?attributes", method: .get, headers: storageClass).text("StorageClass") == "STANDARD")
            #expect(try await client.execute(uri: "/mem/none?attributes", method: .get, headers: asked).errorCode == "NoSuchKey")
            #expect(try await client.execute(uri: "/mem/k?attributes", method: .get).errorCode == "InvalidArgument")
        }
    }
}
