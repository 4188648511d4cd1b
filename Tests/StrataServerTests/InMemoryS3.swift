import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import S3Protocol
import StrataStore

@testable import StrataServer

/// The application over an in-memory store, driven in-process through its router: every request passes the
/// responder and the gate and reaches the handler type of its area, and nothing touches a filesystem.
enum InMemoryS3 {
    static func test(
        _ storage: InMemoryStorage = InMemoryStorage(),
        properties: [(String, String)] = [],
        _ test: @Sendable (any TestClientProtocol) async throws -> Void
    ) async throws {
        let root = TestRoot()
        let built = try root.application(properties, storage: storage)
        defer { Task { await built.shutdown() } }
        try await built.s3.test(.router, test)
    }
}

/// Request headers by name, for the `x-amz-*` ones HTTPTypes does not name.
func fields(_ pairs: KeyValuePairs<String, String>) -> HTTPFields {
    var headers = HTTPFields()
    for (name, value) in pairs { headers.append(HTTPField(name: HTTPField.Name(name)!, value: value)) }
    return headers
}

extension TestResponse {
    /// The body's XML document; nil when the body is none.
    var document: XMLElement? { try? XMLDocument.parse(Array(body.readableBytesView)) }

    /// The text of the element at `path` below the document's root (`text("Owner", "ID")`).
    func text(_ path: String...) -> String? {
        var element = document
        for name in path { element = element?.child(name) }
        return element?.text
    }

    /// The error document's code, nil for any other answer.
    var errorCode: String? { xmlCode(body) }

    func header(_ name: String) -> String? { headers[HTTPField.Name(name)!] }
}
