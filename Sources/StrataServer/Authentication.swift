import Foundation
import HTTPTypes
import Hummingbird
import S3Protocol
import StrataStore

/// What the body of an authenticated request must prove before it is stored.
enum PayloadCheck: Sendable {
    /// Nothing: SIMPLE mode, SigV2, or UNSIGNED-PAYLOAD.
    case none
    /// The body's SHA-256 must equal this hex digest (x-amz-content-sha256).
    case sha256(String)
    /// STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]: every chunk signature, chained from the seed.
    case signedChunks(ChunkSigning)
}

struct ChunkSigning: Sendable {
    let key: [UInt8]
    let amzDate: String
    let scope: String
    let seedSignature: String
    let hasTrailer: Bool
}

/// The caller of one request.
struct Identity: Sendable {
    var user: String
    /// The verified credential; nil in SIMPLE mode.
    var credential: Credential?
    var isAdmin: Bool
    var payload: PayloadCheck
    /// An unsigned request in SIGV4 mode: it may only read what a public canned ACL opened (and write into a
    /// public-read-write bucket), as AWS's anonymous access.
    var isAnonymousPublic = false

    static func simple(_ user: String) -> Identity { Identity(user: user, credential: nil, isAdmin: false, payload: .none) }
}

/// Verifies SigV4 (header and presigned) and SigV2 (header and presigned) signatures as S3 does.
struct Authenticator: Sendable {
    let credentials: CredentialStore
    let admin: Credential?
    let region: String
    let enforceRegion: Bool
    let clockSkewSeconds: Int64
    /// Unsigned requests act as this user on what public canned ACLs opened; nil refuses them.
    var anonymousUser: String?
    /// Temporary credentials from AssumeRoleWithWebIdentity, when the STS is on: their sealer and the roles they
    /// act under (a removed or re-created role ends its sessions).
    var sessions: SessionSealer? = nil
    var roles: STSConfigurationFile? = nil

    func lookup(_ accessKey: String, sessionToken: String? = nil, now: Int64 = Int64(Date().timeIntervalSince1970)) throws(S3Error) -> Credential {
        if let sessionToken, accessKey.hasPrefix("ASIA") { return try session(accessKey, sessionToken, now: now) }
        if let admin, admin.accessKey == accessKey { return admin }
        guard let credential = credentials.lookup(accessKey) else {
            throw S3Error(
                .invalidAccessKeyId,
                "The AWS Access Key Id you provided does not exist in our records.",
                details: [("AWSAccessKeyId", accessKey)]
            )
        }
        return credential
    }

    /// A temporary credential: the sealed token proves the key and yields its secret; the role it names gives its grants.
    private func session(_ accessKey: String, _ token: String, now: Int64) throws(S3Error) -> Credential {
        guard let sessions, let roles else { throw S3Error(.invalidToken, "This server issues no temporary credentials.") }
        let (session, secret) = try sessions.open(token: token, accessKey: accessKey)
        guard session.expires > now else { throw S3Error(.expiredToken) }
        // A role of the same ARN with another id is not the session's role (it was deleted and made again): the
        // session ended with the old one. Tokens from before roles had ids carry none and end too.
        guard let role = roles.current.role(arn: session.role), role.id == session.roleID else {
            throw S3Error(.accessDenied, "The role \(session.role) of this session no longer exists.")
        }
        var credential = Credential(accessKey: accessKey, secretKey: secret, user: "\(role.name)/\(session.sessionName)", buckets: role.grants)
        credential.sessionRole = role.arn
        return credential
    }

    func identity(_ credential: Credential, payload: PayloadCheck) -> Identity {
        Identity(user: credential.user, credential: credential, isAdmin: credential.accessKey == admin?.accessKey, payload: payload)
    }

    func authenticate(_ request: Request, _ target: S3Target, now: Int64 = Int64(Date().timeIntervalSince1970)) throws(S3Error) -> Identity {
        let q = target.query
        if let header = request.headers[.authorization] {
            if header.hasPrefix(SigV4.algorithm + " ") { return try verifyV4Header(request, target, header, now: now) }
            if header.hasPrefix("AWS ") { return try verifyV2Header(request, target, header, now: now) }
            throw S3Error(
                .invalidArgument,
                "Unsupported Authorization Type",
                details: [("ArgumentName", "Authorization"), ("ArgumentValue", header.prefix(20) + "...")]
            )
        }
        if q.has("X-Amz-Algorithm") || q.has("X-Amz-Signature") { return try verifyV4Query(request, target, now: now) }
        if q.has("AWSAccessKeyId") || q.has("Signature") { return try verifyV2Query(request, target, now: now) }
        return try anonymous(refusal: "Anonymous access is not allowed: sign the request with SigV4.")
    }

    /// An unsigned caller: the anonymous user, limited to what public canned ACLs opened; refused when there is none.
    func anonymous(refusal: String) throws(S3Error) -> Identity {
        guard let anonymousUser else { throw S3Error(.accessDenied, refusal) }
        var anonymous = Identity.simple(anonymousUser)
        anonymous.isAnonymousPublic = true
        return anonymous
    }

    // MARK: SigV4

    /// The path as signed: the request path, decoded once (canonicalisation encodes it again).
    private func signedPath(_ request: Request) throws(S3Error) -> String {
        let raw = request.head.path ?? "/"
        let path = raw.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? "/"
        guard let decoded = PercentEncoding.decode(path) else { throw S3Error(.invalidURI) }
        return decoded.isEmpty ? "/" : decoded
    }

    /// Request headers as signed. HTTP types keep Host as the `:authority` pseudo-header, so it is put back.
    private func headerPairs(_ request: Request) -> [(name: String, value: String)] {
        var pairs = request.headers.map { (name: $0.name.canonicalName, value: $0.value) }
        if let authority = request.head.authority { pairs.append((name: "host", value: authority)) }
        return pairs
    }

    private func checkScope(_ credential: SigV4Credential, amzDate: String) throws(S3Error) {
        guard amzDate.hasPrefix(credential.date) else {
            throw S3Error(
                .authorizationHeaderMalformed,
                "Invalid credential date \"\(credential.date)\". This date is not the same as X-Amz-Date: \"\(amzDate.prefix(8))\"."
            )
        }
        guard credential.service == "s3" else {
            throw S3Error(
                .authorizationHeaderMalformed,
                "The authorization header is malformed; incorrect service \"\(credential.service)\". This endpoint belongs to \"s3\"."
            )
        }
        if enforceRegion && credential.region != region {
            throw S3Error(
                .authorizationHeaderMalformed,
                "The authorization header is malformed; the region '\(credential.region)' is wrong; expecting '\(region)'",
                details: [("Region", region)]
            )
        }
    }

    private func checkSkew(_ requestTime: Int64, now: Int64) throws(S3Error) {
        if abs(requestTime - now) > clockSkewSeconds {
            throw S3Error(
                .requestTimeTooSkewed,
                "The difference between the request time and the current time is too large.",
                details: [
                    ("RequestTime", HTTPDate.iso8601(seconds: requestTime)), ("ServerTime", HTTPDate.iso8601(seconds: now)),
                    ("MaxAllowedSkewMilliseconds", "\(clockSkewSeconds * 1000)"),
                ]
            )
        }
    }

    private func mismatch(_ stringToSign: String, _ canonical: String, accessKey: String) -> S3Error {
        // The string to sign and canonical request help a client debug; the expected signature is never sent.
        S3Error(
            .signatureDoesNotMatch,
            "The request signature we calculated does not match the signature you provided. Check your key and signing method.",
            details: [("AWSAccessKeyId", accessKey), ("StringToSign", stringToSign), ("CanonicalRequest", canonical)]
        )
    }

    private func verifyV4Header(_ request: Request, _ target: S3Target, _ header: String, now: Int64) throws(S3Error) -> Identity {
        let parsed = try SigV4Credential.parse(authorization: header)
        let credential = try lookup(parsed.accessKey, sessionToken: request.headers[named: "x-amz-security-token"], now: now)
        // X-Amz-Date, or else the Date header (an HTTP date), which is signed in X-Amz-Date's form.
        let amzDate: String
        let requestTime: Int64
        if let header = request.headers[named: "x-amz-date"] {
            guard let time = SigV4.parseAmzDate(header) else {
                throw S3Error(.accessDenied, "AWS authentication requires a valid Date or x-amz-date header")
            }
            (amzDate, requestTime) = (header, time)
        } else if let header = request.headers[named: "date"], let time = HTTPDate.parse(header) {
            (amzDate, requestTime) = (SigV4.amzDate(seconds: time), time)
        } else {
            throw S3Error(.accessDenied, "AWS authentication requires a valid Date or x-amz-date header")
        }
        // The clock first: a date far off is RequestTimeTooSkewed (403) even when it also disagrees with the scope.
        try checkSkew(requestTime, now: now)
        try checkScope(parsed, amzDate: amzDate)
        guard parsed.signedHeaders.contains("host") else {
            throw S3Error(.authorizationHeaderMalformed, "The authorization header is malformed; the host header must be signed.")
        }
        try requireSigned(request, parsed.signedHeaders)
        guard let payloadHash = request.headers[named: "x-amz-content-sha256"] else {
            throw S3Error(.invalidRequest, "Missing required header for this request: x-amz-content-sha256")
        }
        let payload = try payloadCheck(payloadHash)
        let canonical = SigV4.canonicalRequest(
            method: request.method.rawValue,
            path: try signedPath(request),
            query: target.query.items,
            headers: headerPairs(request),
            signedHeaders: parsed.signedHeaders,
            payloadHash: payloadHash
        )
        let toSign = SigV4.stringToSign(amzDate: amzDate, scope: parsed.scope, canonicalRequest: canonical)
        let key = SigV4.signingKey(secret: credential.secretKey, date: parsed.date, region: parsed.region, service: parsed.service)
        guard SigV4.constantTimeEquals(SigV4.signature(key: key, stringToSign: toSign), parsed.signature) else {
            throw mismatch(toSign, canonical, accessKey: parsed.accessKey)
        }
        if case .signedChunks = payload {
            let trailer = payloadHash.hasSuffix("-TRAILER")
            return identity(
                credential,
                payload: .signedChunks(
                    ChunkSigning(key: key, amzDate: amzDate, scope: parsed.scope, seedSignature: parsed.signature, hasTrailer: trailer)
                )
            )
        }
        return identity(credential, payload: payload)
    }

    private func payloadCheck(_ hash: String) throws(S3Error) -> PayloadCheck {
        switch hash {
        case SigV4.unsignedPayload, "STREAMING-UNSIGNED-PAYLOAD-TRAILER": return .none
        case "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER":
            return .signedChunks(ChunkSigning(key: [], amzDate: "", scope: "", seedSignature: "", hasTrailer: false))
        default:
            guard hash.count == 64, hash.allSatisfy(\.isHexDigit) else {
                throw S3Error(
                    .invalidArgument,
                    "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER, "
                        + "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER or a valid sha256 value.",
                    details: [("ArgumentName", "x-amz-content-sha256"), ("ArgumentValue", hash)]
                )
            }
            return .sha256(hash.lowercased())
        }
    }

    private func verifyV4Query(_ request: Request, _ target: S3Target, now: Int64) throws(S3Error) -> Identity {
        let q = target.query
        let presigned = try PresignedV4.parse(q)
        let parsed = presigned.credential
        try checkScope(parsed, amzDate: presigned.amzDate)
        let token = q["X-Amz-Security-Token"] ?? request.headers[named: "x-amz-security-token"]
        let credential = try lookup(parsed.accessKey, sessionToken: token, now: now)
        if now > presigned.requestTime + presigned.expires {
            throw S3Error(.accessDenied, "Request has expired", details: [("X-Amz-Expires", "\(presigned.expires)")])
        }
        if presigned.requestTime - clockSkewSeconds > now { throw S3Error(.accessDenied, "Request is not valid yet") }
        try requireSigned(request, parsed.signedHeaders)
        let payloadHash = request.headers[named: "x-amz-content-sha256"] ?? SigV4.unsignedPayload
        let payload = try payloadCheck(payloadHash)
        let canonical = SigV4.canonicalRequest(
            method: request.method.rawValue,
            path: try signedPath(request),
            query: q.items.filter { $0.name != "X-Amz-Signature" },
            headers: headerPairs(request),
            signedHeaders: parsed.signedHeaders,
            payloadHash: payloadHash
        )
        let toSign = SigV4.stringToSign(amzDate: presigned.amzDate, scope: parsed.scope, canonicalRequest: canonical)
        let key = SigV4.signingKey(secret: credential.secretKey, date: parsed.date, region: parsed.region, service: parsed.service)
        guard SigV4.constantTimeEquals(SigV4.signature(key: key, stringToSign: toSign), parsed.signature) else {
            throw mismatch(toSign, canonical, accessKey: parsed.accessKey)
        }
        return identity(credential, payload: payload)
    }

    /// Every `x-amz-*` header must be signed, as AWS requires: otherwise a header added after signing could change
    /// what the request does.
    private func requireSigned(_ request: Request, _ signedHeaders: [String]) throws(S3Error) {
        let unsigned = SignatureCoverage.unsignedAmzHeaders(request.headers.lazy.map { $0.name.canonicalName }, signed: signedHeaders)
        if !unsigned.isEmpty { throw SignatureCoverage.unsignedHeadersError(unsigned) }
    }

    // MARK: SigV2

    private func rawPath(_ request: Request) -> String {
        let raw = request.head.path ?? "/"
        return raw.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? "/"
    }

    private func v2StringToSign(
        _ request: Request,
        _ target: S3Target,
        dateOrExpires: String,
        path: String? = nil,
        extraHeaders: [(name: String, value: String)] = []
    ) -> String {
        SigV2.stringToSign(
            method: request.method.rawValue,
            contentMD5: request.headers[named: "content-md5"] ?? "",
            contentType: request.headers[.contentType] ?? "",
            dateOrExpires: dateOrExpires,
            headers: headerPairs(request) + extraHeaders,
            rawPath: path ?? rawPath(request),
            query: target.query.items
        )
    }

    /// Whether `signature` signs the request. A bucket's own resource is `/bucket/` in V2 (botocore signs that for a
    /// path-style `/bucket`), so both spellings of a bucket-level path are accepted; they name the same resource.
    private func v2Matches(
        _ request: Request,
        _ target: S3Target,
        dateOrExpires: String,
        secret: String,
        signature: String,
        extraHeaders: [(name: String, value: String)] = []
    ) -> (Bool, String) {
        let toSign = v2StringToSign(request, target, dateOrExpires: dateOrExpires, extraHeaders: extraHeaders)
        if SigV4.constantTimeEquals(SigV2.signature(secret: secret, stringToSign: toSign), signature) { return (true, toSign) }
        let path = rawPath(request)
        guard target.bucket != nil, target.key == nil, !path.hasSuffix("/") else { return (false, toSign) }
        let alternative = v2StringToSign(request, target, dateOrExpires: dateOrExpires, path: path + "/", extraHeaders: extraHeaders)
        return (SigV4.constantTimeEquals(SigV2.signature(secret: secret, stringToSign: alternative), signature), toSign)
    }

    private func verifyV2Header(_ request: Request, _ target: S3Target, _ header: String, now: Int64) throws(S3Error) -> Identity {
        let authorization = try SigV2Authorization.parse(header: header)
        let accessKey = authorization.accessKey
        let signature = authorization.signature
        let credential = try lookup(accessKey, sessionToken: request.headers[named: "x-amz-security-token"], now: now)
        let amzDate = request.headers[named: "x-amz-date"]
        // A date before 1970 is no valid request date (AWS: AccessDenied, not RequestTimeTooSkewed).
        guard let dateText = amzDate ?? request.headers[named: "date"], let requestTime = HTTPDate.parse(dateText), requestTime >= 0 else {
            throw S3Error(.accessDenied, "AWS authentication requires a valid Date or x-amz-date header")
        }
        try checkSkew(requestTime, now: now)
        // With x-amz-date present, it is signed among the amz headers and the Date line stays empty.
        let (matches, toSign) = v2Matches(
            request,
            target,
            dateOrExpires: amzDate == nil ? dateText : "",
            secret: credential.secretKey,
            signature: signature
        )
        guard matches else { throw mismatch(toSign, "", accessKey: accessKey) }
        return identity(credential, payload: .none)
    }

    private func verifyV2Query(_ request: Request, _ target: S3Target, now: Int64) throws(S3Error) -> Identity {
        let presigned = try PresignedV2.parse(target.query)
        let accessKey = presigned.accessKey
        let signature = presigned.signature
        let expires = presigned.expires
        let expiresText = target.query["Expires"] ?? ""
        let token = target.query["x-amz-security-token"]
        let credential = try lookup(accessKey, sessionToken: token, now: now)
        if now > expires { throw S3Error(.accessDenied, "Request has expired", details: [("Expires", HTTPDate.iso8601(seconds: expires))]) }
        // A presigned V2 URL signs its security token as an x-amz header, then carries it in the query.
        let (matches, toSign) = v2Matches(
            request,
            target,
            dateOrExpires: expiresText,
            secret: credential.secretKey,
            signature: signature,
            extraHeaders: token.map { [(name: "x-amz-security-token", value: $0)] } ?? []
        )
        guard matches else { throw mismatch(toSign, "", accessKey: accessKey) }
        return identity(credential, payload: .none)
    }

    // MARK: Browser-form POST

    /// Verifies a form's signature over its policy: SigV4 (`x-amz-signature` with `x-amz-credential`) or SigV2
    /// (`signature` with `AWSAccessKeyId`). `fields` has lowercased names. A form without any signature field is
    /// anonymous; the caller decides whether that may write.
    func authenticateForm(_ fields: [String: String]) throws(S3Error) -> Identity? {
        let policy = fields["policy"]
        if let signature = fields["x-amz-signature"] {
            guard let policy else { throw missingField("policy") }
            guard fields["x-amz-algorithm"] == SigV4.algorithm else {
                throw S3Error(.invalidArgument, "x-amz-algorithm must be \(SigV4.algorithm).", details: [("ArgumentName", "x-amz-algorithm")])
            }
            guard let credentialText = fields["x-amz-credential"] else { throw missingField("x-amz-credential") }
            guard let amzDate = fields["x-amz-date"], SigV4.parseAmzDate(amzDate) != nil else { throw missingField("x-amz-date") }
            let (accessKey, date, scopeRegion, service) = try SigV4Credential.parseScope(credentialText)
            let parsed = SigV4Credential(
                accessKey: accessKey,
                date: date,
                region: scopeRegion,
                service: service,
                signedHeaders: [],
                signature: signature
            )
            try checkScope(parsed, amzDate: amzDate)
            let credential = try lookup(accessKey)
            let key = SigV4.signingKey(secret: credential.secretKey, date: date, region: scopeRegion, service: service)
            guard SigV4.constantTimeEquals(SigV4.signature(key: key, stringToSign: policy), signature.lowercased()) else {
                throw mismatch(policy, "", accessKey: accessKey)
            }
            return identity(credential, payload: .none)
        }
        if let accessKey = fields["awsaccesskeyid"] {
            guard let policy else { throw missingField("policy") }
            guard let signature = fields["signature"] else { throw missingField("Signature") }
            let credential = try lookup(accessKey)
            guard SigV4.constantTimeEquals(SigV2.signature(secret: credential.secretKey, stringToSign: policy), signature) else {
                throw mismatch(policy, "", accessKey: accessKey)
            }
            return identity(credential, payload: .none)
        }
        if fields["signature"] != nil || policy != nil { throw missingField(fields["signature"] != nil ? "AWSAccessKeyId" : "Signature") }
        return nil
    }

    private func missingField(_ name: String) -> S3Error {
        S3Error(.invalidArgument, "Bucket POST must contain a field named '\(name)'.", details: [("ArgumentName", name)])
    }
}
