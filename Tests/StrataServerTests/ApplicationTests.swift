import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import S3Protocol
import StrataConfig
import StrataStore
import Testing

@testable import StrataServer

/// The real application, built by `buildApplication` on a temporary root, driven in-process through its router:
/// routing, authentication decisions, error documents and headers, without a socket.
final class TestRoot: Sendable {
    let path = NSTemporaryDirectory() + "strata-app-test-" + UUID().uuidString

    deinit { try? FileManager.default.removeItem(atPath: path) }

    func application(_ properties: [(String, String)] = [], storage: (any ObjectStorage)? = nil) throws -> StrataApplication {
        let configuration = try Configuration(
            fileProperties: [],
            environment: [:],
            commandLine: [
                (Keys.rootDir.name, path), (Keys.adminEnabled.name, "false"), (Keys.accessLog.name, "false"),
                (Keys.syncPolicy.name, "NONE"),
            ] + properties
        )
        var logger = Logger(label: "strata-test")
        logger.logLevel = .error
        return try StrataApp.buildApplication(configuration, logger: logger, storage: storage)
    }
}

func xmlCode(_ body: ByteBuffer) -> String? {
    guard let root = try? XMLDocument.parse(Array(body.readableBytesView)), root.name == "Error" else { return nil }
    return root.child("Code")?.text
}

@Suite struct SimpleModeTests {
    @Test func objectRoundTripThroughTheRouter() async throws {
        let root = TestRoot()
        let built = try root.application()
        defer { Task { await built.shutdown() } }
        try await built.s3.test(.router) { client in
            try await client.execute(uri: "/bkt", method: .put) { #expect($0.status == .ok) }
            try await client.execute(uri: "/bkt/dir/a.txt", method: .put, body: ByteBuffer(string: "hello")) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.eTag] == "\"5d41402abc4b2a76b9719d911017c592\"")
            }
            try await client.execute(uri: "/bkt/dir/a.txt", method: .get) { response in
                #expect(response.status == .ok)
                #expect(String(buffer: response.body) == "hello")
                #expect(response.headers[.contentLength] == "5")
                #expect(response.headers[values: HTTPField.Name("x-amz-request-id")!].count == 1)
            }
            try await client.execute(uri: "/bkt/dir/a.txt", method: .get, headers: [.range: "bytes=1-2"]) { response in
                #expect(response.status == .partialContent)
                #expect(String(buffer: response.body) == "el")
                #expect(response.headers[.contentRange] == "bytes 1-2/5")
            }
            try await client.execute(uri: "/bkt?list-type=2&prefix=dir/", method: .get) { response in
                #expect(String(buffer: response.body).contains("<Key>dir/a.txt</Key>"))
            }
        }
        #expect(try String(contentsOfFile: root.path + "/bkt/dir/a.txt", encoding: .utf8) == "hello")
    }

    @Test func errorsAreS3Documents() async throws {
        let root = TestRoot()
        let built = try root.application()
        defer { Task { await built.shutdown() } }
        try await built.s3.test(.router) { client in
            try await client.execute(uri: "/missing/key", method: .get) { response in
                #expect(response.status == .notFound)
                #expect(xmlCode(response.body) == "NoSuchBucket")
            }
            try await client.execute(uri: "/bkt", method: .put) { #expect($0.status == .ok) }
            try await client.execute(uri: "/bkt/nope", method: .get) { #expect(xmlCode($0.body) == "NoSuchKey") }
            try await client.execute(uri: "/bkt?replication", method: .get) { response in
                #expect(response.status == .notImplemented)
                #expect(xmlCode(response.body) == "NotImplemented")
            }
            try await client.execute(uri: "/bkt/a%00b", method: .put, body: ByteBuffer(string: "x")) {
                #expect(xmlCode($0.body) == "InvalidArgument")
            }
            try await client.execute(uri: "/bkt/k", method: .get, headers: [.ifModifiedSince: "Wed, 21 Oct 9999999999999 07:28:00 GMT"]) {
                #expect($0.status == .notFound)
            }
        }
    }
}

/// Signs requests as a SigV4 client would, with Strata's own signing primitives.
struct TestSigner {
    let accessKey: String
    let secret: String

    func headers(
        method: HTTPRequest.Method,
        path: String,
        query: [(String, String)] = [],
        extra: HTTPFields = [:],
        signExtra: Bool = true
    )
        -> HTTPFields
    {
        let now = HTTPDate.iso8601(seconds: Int64(Date().timeIntervalSince1970))
        let amzDate = now.replacingOccurrences(of: "-", with: "").replacingOccurrences(of: ":", with: "").replacingOccurrences(of: ".000", with: "")
        let date = String(amzDate.prefix(8))
        var signed: [(name: String, value: String)] = [
            ("host", "localhost"), ("x-amz-content-sha256", SigV4.unsignedPayload), ("x-amz-date", amzDate),
        ]
        if signExtra { signed += extra.map { ($0.name.canonicalName, $0.value) } }
        signed.sort { $0.name < $1.name }
        let canonical = SigV4.canonicalRequest(
            method: method.rawValue,
            path: path,
            query: query.map { (name: $0.0, value: $0.1) },
            headers: signed,
            signedHeaders: signed.map(\.name),
            payloadHash: SigV4.unsignedPayload
        )
        let scope = "\(date)/us-east-1/s3/aws4_request"
        let key = SigV4.signingKey(secret: secret, date: date, region: "us-east-1", service: "s3")
        let signature = SigV4.signature(key: key, stringToSign: SigV4.stringToSign(amzDate: amzDate, scope: scope, canonicalRequest: canonical))
        var headers = extra
        headers[.authorization] =
            "AWS4-HMAC-SHA256 Credential=\(accessKey)/\(scope), SignedHeaders=\(signed.map(\.name).joined(separator: ";")), Signature=\(signature)"
        headers[HTTPField.Name("x-amz-date")!] = amzDate
        headers[HTTPField.Name("x-amz-content-sha256")!] = SigV4.unsignedPayload
        return headers
    }
}

@Suite struct SignedModeTests {
    let admin = TestSigner(accessKey: "ADMINKEY", secret: "admin-secret")
    let alice = TestSigner(accessKey: "ALICEKEY", secret: "alice-secret")
    let bob = TestSigner(accessKey: "BOBKEY", secret: "bob-secret")

    func signedApplication(_ root: TestRoot) throws -> StrataApplication {
        let built = try root.application([
            (Keys.authMode.name, "SIGV4"), (Keys.adminAccessKey.name, admin.accessKey), (Keys.adminSecretKey.name, admin.secret),
        ])
        let credentials = CredentialStore(root: root.path)
        try credentials.upsert(Credential(accessKey: alice.accessKey, secretKey: alice.secret, user: "alice"))
        try credentials.upsert(Credential(accessKey: bob.accessKey, secretKey: bob.secret, user: "bob"))
        return built
    }

    @Test func authenticationAndAuthorizationDecisions() async throws {
        let root = TestRoot()
        let built = try signedApplication(root)
        defer { Task { await built.shutdown() } }
        try await built.s3.test(.router) { client in
            try await client.execute(uri: "/alices", method: .put) { response in
                #expect(response.status == .forbidden)
                #expect(xmlCode(response.body) == "AccessDenied")
            }
            try await client.execute(uri: "/alices", method: .put, headers: alice.headers(method: .put, path: "/alices")) {
                #expect($0.status == .ok)
            }
            // A missing bucket is 404 to any signed caller; an existing one that is not yours is 403.
            try await client.execute(uri: "/nothere", method: .head, headers: bob.headers(method: .head, path: "/nothere")) {
                #expect($0.status == .notFound)
            }
            try await client.execute(uri: "/alices", method: .head, headers: bob.headers(method: .head, path: "/alices")) {
                #expect($0.status == .forbidden)
            }
            // A nested bucket needs owner rights on its parent.
            try await client.execute(uri: "/alices:sub", method: .put, headers: bob.headers(method: .put, path: "/alices:sub")) {
                #expect(xmlCode($0.body) == "AccessDenied")
            }
            #expect(!FileManager.default.fileExists(atPath: root.path + "/alices/sub"))
            // Every x-amz-* header must be signed.
            let copy: HTTPFields = [HTTPField.Name("x-amz-copy-source")!: "/alices/secret"]
            let unsigned = alice.headers(method: .put, path: "/alices/k", extra: copy, signExtra: false)
            try await client.execute(uri: "/alices/k", method: .put, headers: unsigned, body: ByteBuffer(string: "x")) { response in
                #expect(response.status == .forbidden)
                #expect(String(buffer: response.body).contains("There were headers present in the request which were not signed"))
            }
            try await client.execute(
                uri: "/alices/k",
                method: .put,
                headers: alice.headers(method: .put, path: "/alices/k"),
                body: ByteBuffer(string: "x")
            ) {
                #expect($0.status == .ok)
            }
        }
    }
}
