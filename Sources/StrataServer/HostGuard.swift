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
        self.init(allowed: Set(allowedHosts.compactMap(Self.hostName)))
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
        if let name = Self.hostName(authority), Self.isLoopbackName(name) || allowed.contains(name) { return nil }
        return "This listener is bound to loopback and, against DNS rebinding, answers only requests whose Host is a loopback "
            + "name (localhost, 127.0.0.1, [::1]) or a name in strata.proxy.web.allowed.hosts; Host \(authority) is neither."
    }

    /// The host of an authority (`name`, `name:port`, `[v6]:port`), lowercased, without brackets, port or a final dot;
    /// nil when it is malformed.
    static func hostName<S: StringProtocol>(_ authority: S) -> String? {
        var host = Substring(authority)
        var port: Substring = ""
        if host.hasPrefix("[") {
            guard let close = host.firstIndex(of: "]") else { return nil }
            let rest = host[host.index(after: close)...]
            guard rest.isEmpty || rest.hasPrefix(":") else { return nil }
            port = rest.dropFirst()
            host = host[host.index(after: host.startIndex)..<close]
        } else if let colon = host.firstIndex(of: ":") {
            port = host[host.index(after: colon)...]
            host = host[..<colon]
        }
        guard port.utf8.count <= 5, port.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else { return nil }
        if host.hasSuffix(".") { host = host.dropLast() }
        guard !host.isEmpty else { return nil }
        return host.lowercased()
    }

    /// `localhost` and its subdomains (RFC 6761: never resolved through DNS, so no one else can own them), IPv4
    /// literals in 127.0.0.0/8, and the IPv6 loopback address (also as an IPv4-mapped address in 127.0.0.0/8).
    static func isLoopbackName(_ name: String) -> Bool {
        if name == "localhost" || name.hasSuffix(".localhost") { return true }
        var v4 = in_addr()
        if inet_pton(AF_INET, name, &v4) == 1 { return UInt32(bigEndian: v4.s_addr) >> 24 == 127 }
        var v6 = in6_addr()
        guard inet_pton(AF_INET6, name, &v6) == 1 else { return false }
        let bytes = withUnsafeBytes(of: v6) { Array($0) }
        if bytes[0..<15].allSatisfy({ $0 == 0 }) && bytes[15] == 1 { return true }
        return bytes[0..<10].allSatisfy({ $0 == 0 }) && bytes[10] == 0xFF && bytes[11] == 0xFF && bytes[12] == 127
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
