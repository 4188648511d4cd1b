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

/// The handlers against an in-memory store: they turn S3 requests into storage calls and storage results into
/// S3 responses, whatever the store is.
@Suite struct HandlerTests {
    func application() throws -> (TestRoot, StrataApplication) {
        let root = TestRoot()
        return (root, try root.application(storage: InMemoryStorage()))
    }

    @Test func objectsThroughTheProtocol() async throws {
        let (root, built) = try application()
        defer { Task { await built.shutdown() } }
        try await built.s3.test(.router) { client in
            try await client.execute(uri: "/mem", method: .put) { #expect($0.status == .ok) }
            let headers: HTTPFields = [
                .contentType: "text/csv", HTTPField.Name("x-amz-meta-origin")!: "test", HTTPField.Name("x-amz-tagging")!: "a=1",
            ]
            try await client.execute(uri: "/mem/data.csv", method: .put, headers: headers, body: ByteBuffer(string: "a,b\n1,2\n")) {
                #expect($0.status == .ok)
                #expect($0.headers[.eTag] == "\"\(Insecure.md5Hex("a,b\n1,2\n"))\"")
            }
            try await client.execute(uri: "/mem/data.csv", method: .get) { response in
                #expect(String(buffer: response.body) == "a,b\n1,2\n")
                #expect(response.headers[.contentType] == "text/csv")
                #expect(response.headers[HTTPField.Name("x-amz-meta-origin")!] == "test")
                #expect(response.headers[HTTPField.Name("x-amz-tagging-count")!] == "1")
            }
            try await client.execute(uri: "/mem/data.csv?response-content-type=text/plain", method: .head) { response in
                #expect(response.headers[.contentType] == "text/plain")
                #expect(response.headers[.contentLength] == "8")
                #expect(response.body.readableBytes == 0)
            }
            try await client.execute(uri: "/mem/data.csv", method: .get, headers: [.range: "bytes=-4"]) { response in
                #expect(response.status == .partialContent)
                #expect(String(buffer: response.body) == "1,2\n")
            }
            try await client.execute(uri: "/mem/copy.csv", method: .put, headers: [HTTPField.Name("x-amz-copy-source")!: "/mem/data.csv"]) {
                #expect(String(buffer: $0.body).contains("<ETag>&quot;\(Insecure.md5Hex("a,b\n1,2\n"))&quot;</ETag>"))
            }
            try await client.execute(uri: "/mem?list-type=2", method: .get) { response in
                let body = String(buffer: response.body)
                #expect(body.contains("<Key>copy.csv</Key>") && body.contains("<Key>data.csv</Key>"))
                #expect(body.contains("<KeyCount>2</KeyCount>"))
            }
            let delete = "<Delete><Object><Key>copy.csv</Key></Object><Object><Key>forbidden-one</Key></Object></Delete>"
            try await client.execute(uri: "/mem?delete", method: .post, body: ByteBuffer(string: delete)) { response in
                let body = String(buffer: response.body)
                #expect(body.contains("<Deleted><Key>copy.csv</Key></Deleted>"))
                #expect(body.contains("<Error><Key>forbidden-one</Key><Code>AccessDenied</Code>"))
            }
            try await client.execute(uri: "/mem/copy.csv", method: .get) { #expect(xmlCode($0.body) == "NoSuchKey") }
        }
        // Nothing reached the filesystem.
        #expect(!FileManager.default.fileExists(atPath: root.path + "/mem"))
    }
}

extension Insecure {
    static func md5Hex(_ text: String) -> String { MD5.hash(data: Array(text.utf8)).map { String(format: "%02x", $0) }.joined() }
}
