import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import S3Protocol

/// AssumeRoleWithWebIdentity on the S3 listener (`POST /` with a form body, or `GET /?Action=...`): a token from a
/// trusted identity provider becomes temporary credentials with exactly the grants of the role its claims match.
struct STSService: Sendable {
    let configuration: STSConfigurationFile
    let verifier: WebIdentityVerifier
    let sealer: SessionSealer

    static let namespace = "https://sts.amazonaws.com/doc/2011-06-15/"

    /// An STS call: the service endpoint with an `Action` parameter, in the query or in a form body.
    static func isSTSRequest(_ request: Request, _ target: S3Target) -> Bool {
        guard target.bucket == nil else { return false }
        if target.query.has("Action") { return true }
        return request.method == .post && (request.headers[.contentType] ?? "").lowercased().hasPrefix("application/x-www-form-urlencoded")
    }

    func handle(_ request: Request, _ target: S3Target, requestID: String) async -> Response {
        do {
            let parameters = try await Self.parameters(request, target)
            guard parameters["Action"] == "AssumeRoleWithWebIdentity" else {
                throw STSError(
                    code: "InvalidAction",
                    message: "Could not find operation \(parameters["Action"] ?? "") for version 2011-06-15",
                    status: 400
                )
            }
            return Responses.xml(try await assumeRole(parameters, requestID: requestID))
        } catch let error as STSError {
            return Self.error(error, requestID: requestID)
        } catch {
            return Self.error(STSError.validation("The request could not be read."), requestID: requestID)
        }
    }

    /// Query parameters, or the form body's (at most 64 KiB).
    static func parameters(_ request: Request, _ target: S3Target) async throws -> [String: String] {
        var parameters: [String: String] = [:]
        for item in target.query.items { parameters[item.name] = item.value }
        guard request.method == .post else { return parameters }
        var request = request
        let body = try await request.collectBody(upTo: 64 * 1024)
        // The form's rules are the query string's: the same (fuzzed) parser, splitting on bytes.
        guard let form = try? QueryParameters(raw: Substring(String(buffer: body))) else {
            throw STSError.validation("The form body contains an invalid percent-encoding.")
        }
        for item in form.items { parameters[item.name] = item.value }
        return parameters
    }

    func assumeRole(_ parameters: [String: String], requestID: String) async throws -> String {
        for name in ["RoleArn", "RoleSessionName", "WebIdentityToken"] where (parameters[name] ?? "").isEmpty {
            throw STSError(code: "MissingParameter", message: "The request must contain the parameter \(name)", status: 400)
        }
        let (roleArn, sessionName, token) = (parameters["RoleArn"]!, parameters["RoleSessionName"]!, parameters["WebIdentityToken"]!)
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_+=,.@-")
        guard (2...64).contains(sessionName.count), sessionName.allSatisfy({ allowed.contains($0) }) else {
            throw STSError.validation("RoleSessionName must be 2 to 64 letters, digits or _+=,.@-")
        }
        let now = Int64(Date().timeIntervalSince1970)
        let current = configuration.current
        let (claims, provider) = try await verifier.verify(token, configuration: current, now: now)
        guard let role = current.role(arn: roleArn), role.issuer == provider.issuer else {
            throw STSError.denied("Not authorized to perform sts:AssumeRoleWithWebIdentity")
        }
        if let claim = role.unmetCondition(claims) {
            throw STSError.denied("Not authorized to perform sts:AssumeRoleWithWebIdentity: the token's \(claim) does not match the role.")
        }
        var duration = min(3600, role.maxSessionSeconds)
        if let text = parameters["DurationSeconds"] {
            guard let seconds = DecimalNumber.parseInt(text, in: 0...Int(Int32.max)), seconds >= 900 else {
                throw STSError.validation("DurationSeconds must be at least 900.")
            }
            guard seconds <= role.maxSessionSeconds else {
                throw STSError.validation("The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")
            }
            duration = seconds
        }
        let subject = claims.string("sub") ?? ""
        let expires = now + Int64(duration)
        let issued = sealer.issue(role: role.arn, roleID: role.id, subject: subject, sessionName: sessionName, expires: expires)
        var xml = XMLWriter(root: "AssumeRoleWithWebIdentityResponse", namespace: Self.namespace)
        xml.group("AssumeRoleWithWebIdentityResult") { xml in
            xml.element("SubjectFromWebIdentityToken", subject)
            xml.element("Audience", claims.strings("aud").first(where: provider.audiences.contains) ?? "")
            xml.group("AssumedRoleUser") { xml in
                xml.element("Arn", "arn:aws:sts::000000000000:assumed-role/\(role.name)/\(sessionName)")
                xml.element("AssumedRoleId", "\(role.id):\(sessionName)")
            }
            xml.group("Credentials") { xml in
                xml.element("AccessKeyId", issued.accessKey)
                xml.element("SecretAccessKey", issued.secret)
                xml.element("SessionToken", issued.token)
                xml.element("Expiration", String(HTTPDate.iso8601(seconds: expires).prefix(19)) + "Z")
            }
            xml.element("Provider", provider.issuer)
        }
        xml.group("ResponseMetadata") { $0.element("RequestId", requestID) }
        return xml.finish()
    }

    static func error(_ error: STSError, requestID: String) -> Response {
        var xml = XMLWriter(root: "ErrorResponse", namespace: namespace)
        xml.group("Error") { xml in
            xml.element("Type", error.status >= 500 ? "Receiver" : "Sender")
            xml.element("Code", error.code)
            xml.element("Message", error.message)
        }
        xml.element("RequestId", requestID)
        return Responses.xml(xml.finish(), status: HTTPResponse.Status(code: error.status))
    }
}
