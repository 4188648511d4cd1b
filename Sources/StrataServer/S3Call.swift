import HTTPTypes
import Hummingbird
import S3Protocol
import StrataStore
import Synchronization

/// Whether a request's body has been read to its end; a refusal before that closes the connection rather
/// than draining what the client may still send.
final class BodyProgress: Sendable {
    private let finished = Atomic<Bool>(false)
    var isFinished: Bool { finished.load(ordering: .relaxed) }
    func markFinished() { finished.store(true, ordering: .relaxed) }
}

/// Everything a handler needs about one S3 request.
struct S3Call: Sendable {
    let request: Request
    let target: S3Target
    let operation: S3Operation
    let requestID: String
    let identity: Identity
    let bodyProgress: BodyProgress

    var user: String { identity.user }

    var headers: HTTPFields { request.headers }
    var query: QueryParameters { target.query }
    var isHead: Bool { request.method == .head }

    func header(_ name: String) -> String? { request.headers[named: name] }

    /// `bucket` or `bucket/key`, for error Resource elements and logs.
    var resource: String {
        switch (target.bucket, target.key) {
        case (let b?, let k?): "/\(b)/\(k)"
        case (let b?, nil): "/\(b)"
        default: "/"
        }
    }
}
