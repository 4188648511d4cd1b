import Glibc
import HTTPTypes
import Hummingbird
import S3Protocol
import StrataConfig

/// A defence against DNS rebinding. A page on evil.example whose name the attacker re-points at 127.0.0.1 reaches a
/// listener bound to loopback with `Host: evil.example`, and the browser lets the page read the answers (same
/// origin). A listener bound to loopback therefore answers only requests whose `Host` is a loopback name
/// (`localhost`, `*.localhost`, `127.x.y.z`, `[::1]`), a name in `strata.proxy.web.allowed.hosts` or
/// `strata.proxy.web.hostname`. Listeners bound beyond loopback are reached by whatever names their operators give
/// them and are unaffected. A request without `Host` (HTTP/1.0) is answered: browsers always send one.
struct HostGuard: Sendable {
    /// Names admitted besides loopback names (lowercased, without port or brackets); nil admits every Host.
    private let allowed: Set<String>?

    static let open = HostGuard(allowed: nil)
    private static let secondHost = HTTPField.Name("host")!

    private init(allowed: Set<String>?) { self.allowed = allowed }

    /// The guard of a listener bound to `bindHost`: open beyond loopback, or when the allowed hosts include `*`.
    init(bindHost: String, _ configuration: Configuration) {
        var names = Set(configuration.string(Keys.allowedHosts).split(separator: ",").map { String($0).trimmingSpaces() })
        names.insert(configuration.string(Keys.webHostname))
        self.init(bindHost: bindHost, allowedHosts: names)
    }

    init(bindHost: String, allowedHosts: Set<String>) {
        guard StrataApp.isLoopback(bindHost), !allowedHosts.contains("*") else {
            self.init(allowed: nil)
            return
        }
        self.init(allowed: Set(allowedHosts.compactMap(HostName.parse)))
    }

    /// Why `request` is refused, or nil when it is answered.
    func refusal(_ request: Request) -> String? {
        refusal(authority: request.head.authority, fields: request.headers)
    }

    func refusal(authority: String?, fields: HTTPFields) -> String? {
        guard let allowed else { return nil }
        // The first Host header is the authority; any other is left among the fields, and RFC 9112 forbids two.
        if fields[Self.secondHost] != nil { return "A request may carry only one Host header." }
        guard let authority else { return nil }
        if let name = HostName.parse(authority), HostName.isLoopback(name) || allowed.contains(name) { return nil }
        return "This listener is bound to loopback and, against DNS rebinding, answers only requests whose Host is a loopback "
            + "name (localhost, 127.0.0.1, [::1]) or a name in strata.proxy.web.allowed.hosts; Host \(authority) is neither."
    }
}

extension S3Responder {
    /// The S3 error answer to a request whose Host the listener does not answer, or nil. Nothing else runs for it; a
    /// body it declared is not read, so the connection closes.
    func refusingForeignHost(_ request: Request, _ record: RequestRecord) -> Response? {
        guard let message = settings.hostGuard.refusal(request) else { return nil }
        var record = record
        record.operation = "ForeignHostRefused"
        var response = Responses.error(S3Error(.accessDenied, message), requestID: record.requestID, resource: "/", isHead: request.method == .head)
        if Self.declaresBody(request) { response.headers[.connection] = "close" }
        finish(&response.headers, status: response.status, record)
        return response
    }
}

/// The admin listener's guard: a refused request gets the API's JSON error and reaches no route.
struct HostGuardMiddleware: RouterMiddleware {
    typealias Context = S3RequestContext
    let hostGuard: HostGuard

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if let message = hostGuard.refusal(request) { return AdminAPI.failure(AdminAPI.Failure(status: .forbidden, message: message)) }
        return try await next(request, context)
    }
}
