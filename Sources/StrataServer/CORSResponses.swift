import HTTPTypes
import Hummingbird
import S3Protocol
import StrataStore

/// The responder's side of CORS, from the bucket's rules (which BucketConfigurationHandlers keeps): browsers'
/// preflight requests, the CORS headers on every response to a request that names an Origin, and the origin check
/// of browser forms in SIMPLE mode.
extension S3Responder {
    /// SIMPLE mode takes a form's user from a form field, which any web page can fill in and a browser posts across
    /// sites without a preflight: a form that says where it comes from (`Origin`) is accepted only from an origin the
    /// bucket's CORS rules allow for POST, or one the operator lists. Requests without Origin are not browsers'.
    func requireFormOrigin(_ request: Request, bucket: String) async throws {
        guard authenticator == nil, let origin = request.headers[named: "origin"] else { return }
        if settings.simpleFormOrigins.contains(where: { $0 == "*" || $0.bytesEqual(origin) }) { return }
        if let rules = await corsRules(bucket), rules.match(origin: origin, method: "POST") != nil { return }
        throw S3Error(
            .accessDenied,
            "A browser form from \(origin) may not post here: in SIMPLE mode a form needs a CORS rule of the bucket allowing its origin "
                + "for POST (or strata.s3.auth.simple.form.origins)."
        )
    }

    /// The bucket's rules, nil when it has none (or a document that no longer parses).
    private func corsRules(_ bucket: String) async -> CORSConfiguration? {
        guard let document = try? await storage.bucketConfiguration(bucket, .cors) else { return nil }
        return try? CORSConfiguration.parse(document)
    }

    /// OPTIONS: 400 without an Origin and a requested method, 403 unless a rule allows the origin, the method and
    /// every requested header; otherwise 200 with what the rule allows.
    func preflight(_ request: Request, bucket: String) async throws -> Response {
        guard let origin = request.headers[named: "origin"], let method = request.headers[named: "access-control-request-method"] else {
            throw S3Error(.badRequest, "Insufficient information. Origin request header and Access-Control-Request-Method are needed.")
        }
        let requested = CORSConfiguration.requestedHeaders(request.headers[named: "access-control-request-headers"])
        guard let rules = await corsRules(bucket), let rule = rules.match(origin: origin, method: method, requestHeaders: requested) else {
            throw S3Error(.corsForbidden)
        }
        var headers = HTTPFields()
        for (name, value) in CORSConfiguration.headers(for: rule, origin: origin, requestHeaders: requested) { headers.set(name, value) }
        return Responses.empty(headers: headers)
    }

    /// A request from a page of another origin gets the headers that let the browser hand it the response, errors
    /// included, when a rule allows the origin and the method (the one a preflight would ask for, when given).
    func addCORSHeaders(_ response: inout Response, _ request: Request, bucket: String, origin: String) async {
        let method = request.headers[named: "access-control-request-method"] ?? request.method.rawValue
        guard let rules = await corsRules(bucket), let rule = rules.match(origin: origin, method: method) else { return }
        for (name, value) in CORSConfiguration.headers(for: rule, origin: origin) { response.headers.set(name, value) }
    }
}
