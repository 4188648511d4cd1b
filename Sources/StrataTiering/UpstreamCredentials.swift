import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import S3Protocol

/// The keys upstream requests are signed with.
public struct UpstreamCredentials: Sendable, Equatable {
    public var accessKey: String
    public var secretKey: String
    /// Sent (and signed) as `x-amz-security-token` with temporary credentials.
    public var sessionToken: String?

    public init(accessKey: String, secretKey: String, sessionToken: String? = nil) {
        self.accessKey = accessKey
        self.secretKey = secretKey
        self.sessionToken = sessionToken
    }
}

/// Where upstream credentials come from when they are not stored keys.
public protocol UpstreamCredentialSource: Sendable {
    func current() async throws -> UpstreamCredentials
}

/// Temporary credentials from the upstream's STS (AssumeRoleWithWebIdentity), exchanged for a web identity token
/// this server obtains itself (its own OIDC issuer's), and exchanged again five minutes before they expire: no
/// long-lived upstream secret is stored anywhere.
public actor WebIdentityCredentialSource: UpstreamCredentialSource {
    let stsEndpoint: String
    let roleArn: String
    let sessionName: String
    let token: @Sendable () throws -> String
    let http: HTTPClient
    private var cached: (credentials: UpstreamCredentials, expires: Int64)?

    public init(stsEndpoint: String, roleArn: String, sessionName: String, http: HTTPClient, token: @escaping @Sendable () throws -> String) {
        self.stsEndpoint = stsEndpoint.hasSuffix("/") ? String(stsEndpoint.dropLast()) : stsEndpoint
        self.roleArn = roleArn
        self.sessionName = sessionName
        self.http = http
        self.token = token
    }

    public func current() async throws -> UpstreamCredentials {
        let now = Int64(Date().timeIntervalSince1970)
        if let cached, cached.expires - now > 300 { return cached.credentials }
        let fresh = try await assumeRole()
        cached = fresh
        return fresh.credentials
    }

    private func assumeRole() async throws -> (credentials: UpstreamCredentials, expires: Int64) {
        let form = [
            ("Action", "AssumeRoleWithWebIdentity"), ("Version", "2011-06-15"), ("RoleArn", roleArn), ("RoleSessionName", sessionName),
            ("WebIdentityToken", try token()), ("DurationSeconds", "3600"),
        ].map { "\($0.0)=\(PercentEncoding.encode($0.1))" }.joined(separator: "&")
        var request = HTTPClientRequest(url: stsEndpoint + "/")
        request.method = .POST
        request.headers.add(name: "content-type", value: "application/x-www-form-urlencoded")
        request.body = .bytes(ByteBuffer(string: form))
        let response: HTTPClientResponse
        do {
            response = try await http.execute(request, timeout: .seconds(30))
        } catch {
            throw UpstreamError.unavailable("STS: \(error)")
        }
        let body = try await response.body.collect(upTo: 1 << 20)
        let document = try? XMLDocument.parse(Array(body.readableBytesView))
        guard response.status == .ok, let result = document?.child("AssumeRoleWithWebIdentityResult"),
            let credentials = result.child("Credentials"), let key = credentials.child("AccessKeyId")?.text,
            let secret = credentials.child("SecretAccessKey")?.text, let session = credentials.child("SessionToken")?.text,
            let expiration = credentials.child("Expiration")?.text, let expires = HTTPDate.parse(expiration)
        else {
            let code = document?.child("Error")?.child("Code")?.text ?? "HTTP \(response.status.code)"
            throw UpstreamError.status(Int(response.status.code), "AssumeRoleWithWebIdentity (\(code))")
        }
        return (UpstreamCredentials(accessKey: key, secretKey: secret, sessionToken: session), expires)
    }
}
