import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import S3Protocol
import StrataStore
import Testing

@testable import StrataServer

/// ACLHandlers: canned ACLs (or grant lists that mean the same) become mode bits, and mode bits are answered as
/// grants.
@Suite struct ACLHandlerTests {
    static let allUsers = "http://acs.amazonaws.com/groups/global/AllUsers"
    static let authenticatedUsers = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers"

    /// The grants of an AccessControlPolicy answer, as (grantee ID or group URI, permission).
    static func grants(_ response: TestResponse) -> [String] {
        let list = response.document?.child("AccessControlList")?.children("Grant") ?? []
        return list.map { grant in
            let grantee = grant.child("Grantee")
            return (grantee?.child("ID")?.text ?? grantee?.child("URI")?.text ?? "?") + " " + (grant.child("Permission")?.text ?? "?")
        }
    }

    @Test func bucketACLsAreModeBits() async throws {
        let storage = InMemoryStorage()
        try await InMemoryS3.test(storage) { client in
            try await client.execute(uri: "/mem", method: .put)
            // The in-memory bucket starts 0777: every signed user may read and write.
            let open = try await client.execute(uri: "/mem?acl", method: .get)
            #expect(open.text("Owner", "ID") == "anonymous")
            #expect(Self.grants(open) == ["anonymous FULL_CONTROL", "\(Self.authenticatedUsers) READ", "\(Self.authenticatedUsers) WRITE"])
            let putPublic = try await client.execute(uri: "/mem?acl", method: .put, headers: fields(["x-amz-acl": "public-read"]))
            #expect(putPublic.status == .ok)
            let recorded = try await storage.pathPermissions(bucket: "mem", key: nil).directories.last
            #expect(recorded?.mode == 0o755 && recorded?.isPublic == true && recorded?.owner == "anonymous")
            #expect(Self.grants(try await client.execute(uri: "/mem?acl", method: .get)) == ["anonymous FULL_CONTROL", "\(Self.allUsers) READ"])
            try await client.execute(uri: "/mem?acl", method: .put, headers: fields(["x-amz-acl": "private"]))
            #expect(Self.grants(try await client.execute(uri: "/mem?acl", method: .get)) == ["anonymous FULL_CONTROL"])
        }
    }

    @Test func objectACLsAreModeBits() async throws {
        let storage = InMemoryStorage()
        try await InMemoryS3.test(storage) { client in
            try await client.execute(uri: "/mem", method: .put)
            try await client.execute(uri: "/mem/k", method: .put, body: ByteBuffer(string: "x"))
            let put = try await client.execute(uri: "/mem/k?acl", method: .put, headers: fields(["x-amz-acl": "public-read-write"]))
            #expect(put.status == .ok)
            let recorded = try await storage.pathPermissions(bucket: "mem", key: "k").object
            #expect(recorded?.mode == 0o666 && recorded?.isPublic == true)
            let got = try await client.execute(uri: "/mem/k?acl", method: .get)
            #expect(Self.grants(got) == ["anonymous FULL_CONTROL", "\(Self.allUsers) READ", "\(Self.allUsers) WRITE"])
            // A grant list that says public-read, as s3cmd sends it.
            let policy =
                "<AccessControlPolicy><Owner><ID>anonymous</ID></Owner><AccessControlList>"
                + "<Grant><Grantee><ID>anonymous</ID></Grantee><Permission>FULL_CONTROL</Permission></Grant>"
                + "<Grant><Grantee><URI>\(Self.allUsers)</URI></Grantee><Permission>READ</Permission></Grant>"
                + "</AccessControlList></AccessControlPolicy>"
            #expect(try await client.execute(uri: "/mem/k?acl", method: .put, body: ByteBuffer(string: policy)).status == .ok)
            #expect(try await storage.pathPermissions(bucket: "mem", key: "k").object?.mode == 0o644)
            #expect(try await client.execute(uri: "/mem/none?acl", method: .get).errorCode == "NoSuchKey")
        }
    }

    @Test func aclsWithoutModeBitsAreRefused() async throws {
        let storage = InMemoryStorage()
        try await InMemoryS3.test(storage) { client in
            try await client.execute(uri: "/mem", method: .put)
            try await client.execute(uri: "/mem/k", method: .put, body: ByteBuffer(string: "x"))
            let none = try await client.execute(uri: "/mem/k?acl", method: .put)
            #expect(none.errorCode == "NotImplemented" && none.text("Header") == "x-amz-acl")
            #expect(
                try await client.execute(uri: "/mem/k?acl", method: .put, headers: fields(["x-amz-acl": "aws-exec-read"])).errorCode
                    == "NotImplemented"
            )
            let toSomeoneElse =
                "<AccessControlPolicy><AccessControlList><Grant><Grantee><ID>bob</ID></Grantee><Permission>READ</Permission></Grant>"
                + "</AccessControlList></AccessControlPolicy>"
            #expect(try await client.execute(uri: "/mem/k?acl", method: .put, body: ByteBuffer(string: toSomeoneElse)).errorCode == "NotImplemented")
            #expect(try await client.execute(uri: "/mem/k?acl", method: .put, body: ByteBuffer(string: "<acl/>")).errorCode == "MalformedXML")
            #expect(try await storage.pathPermissions(bucket: "mem", key: "k").object?.mode == 0o666)
        }
    }
}
