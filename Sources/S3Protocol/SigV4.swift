import Crypto
import Foundation

/// AWS Signature Version 4 as S3 computes it. One implementation serves verification of incoming requests
/// and (later) signing of requests to an upstream S3.
public enum SigV4 {
    public static let algorithm = "AWS4-HMAC-SHA256"
    public static let unsignedPayload = "UNSIGNED-PAYLOAD"
    public static let emptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

    public static func sha256Hex(_ data: some DataProtocol) -> String { hex(SHA256.hash(data: data)) }

    public static func hex(_ bytes: some Sequence<UInt8>) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        for b in bytes {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 0xF)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func hmac(_ key: some ContiguousBytes, _ message: String) -> [UInt8] {
        Array(HMAC<SHA256>.authenticationCode(for: Array(message.utf8), using: SymmetricKey(data: key)))
    }

    /// kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request")
    public static func signingKey(secret: String, date: String, region: String, service: String) -> [UInt8] {
        let kDate = hmac(Array(("AWS4" + secret).utf8), date)
        let kRegion = hmac(kDate, region)
        let kService = hmac(kRegion, service)
        return hmac(kService, "aws4_request")
    }

    public static func signature(key: [UInt8], stringToSign: String) -> String { hex(hmac(key, stringToSign)) }

    /// `yyyyMMddTHHmmssZ` for an instant.
    public static func amzDate(seconds: Int64) -> String {
        String(HTTPDate.iso8601(seconds: seconds).unicodeScalars.filter { $0 != "-" && $0 != ":" }.prefix(15)) + "Z"
    }

    /// Parses `yyyyMMddTHHmmssZ`, the only form X-Amz-Date takes.
    public static func parseAmzDate(_ text: String) -> Int64? {
        guard text.utf8.count == 16, text.hasSuffix("Z") else { return nil }
        return HTTPDate.parse(text)
    }

    /// AWS's URI encoding: unreserved characters stay, everything else is %XX; `/` stays in paths.
    public static func uriEncode(_ text: String, encodeSlash: Bool) -> String {
        PercentEncoding.encode(text, keepSlash: !encodeSlash)
    }

    /// Collapses runs of spaces and trims, as canonical header values require.
    static func canonicalHeaderValue(_ value: String) -> String {
        var out = ""
        var lastWasSpace = false
        for c in value.trimmingCharacters(in: .whitespaces) {
            if c == " " || c == "\t" {
                if !lastWasSpace { out.append(" ") }
                lastWasSpace = true
            } else {
                out.append(c)
                lastWasSpace = false
            }
        }
        return out
    }

    /// The canonical request. `path` is the decoded path as S3 sees it (`/bucket/key`), `query` decoded pairs.
    public static func canonicalRequest(
        method: String,
        path: String,
        query: [(name: String, value: String)],
        headers: [(name: String, value: String)],
        signedHeaders: [String],
        payloadHash: String
    ) -> String {
        let canonicalURI = uriEncode(path.isEmpty ? "/" : path, encodeSlash: false)
        var pairs: [(String, String)] = query.map { item in
            (uriEncode(item.name, encodeSlash: true), uriEncode(item.value, encodeSlash: true))
        }
        pairs.sort { a, b in a.0 == b.0 ? a.1 < b.1 : a.0 < b.0 }
        let canonicalQuery = pairs.map { "\($0.0)=\($0.1)" }.joined(separator: "&")
        var canonicalHeaders = ""
        for name in signedHeaders {
            let values = headers.filter { $0.name.lowercased() == name }.map { canonicalHeaderValue($0.value) }
            canonicalHeaders += "\(name):\(values.joined(separator: ","))\n"
        }
        return [method, canonicalURI, canonicalQuery, canonicalHeaders, signedHeaders.joined(separator: ";"), payloadHash].joined(separator: "\n")
    }

    public static func stringToSign(amzDate: String, scope: String, canonicalRequest: String) -> String {
        "\(algorithm)\n\(amzDate)\n\(scope)\n\(sha256Hex(Array(canonicalRequest.utf8)))"
    }

    /// String to sign of one aws-chunked chunk, chained to the previous chunk's signature.
    public static func chunkStringToSign(amzDate: String, scope: String, previousSignature: String, chunkHash: String) -> String {
        "AWS4-HMAC-SHA256-PAYLOAD\n\(amzDate)\n\(scope)\n\(previousSignature)\n\(emptySHA256)\n\(chunkHash)"
    }

    /// String to sign of the trailing headers of a signed streaming upload.
    public static func trailerStringToSign(amzDate: String, scope: String, previousSignature: String, trailerHash: String) -> String {
        "AWS4-HMAC-SHA256-TRAILER\n\(amzDate)\n\(scope)\n\(previousSignature)\n\(trailerHash)"
    }

    /// Constant-time comparison, so response timing does not reveal how much of a guessed signature was right.
    public static func constantTimeEquals(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8)
        let y = Array(b.utf8)
        guard x.count == y.count else { return false }
        var diff: UInt8 = 0
        for i in 0..<x.count { diff |= x[i] ^ y[i] }
        return diff == 0
    }
}

/// The parts of a SigV4 `Authorization` header or presigned query.
public struct SigV4Credential: Sendable, Equatable {
    public var accessKey: String
    /// yyyyMMdd
    public var date: String
    public var region: String
    public var service: String
    public var signedHeaders: [String]
    public var signature: String

    public var scope: String { "\(date)/\(region)/\(service)/aws4_request" }

    public init(accessKey: String, date: String, region: String, service: String, signedHeaders: [String], signature: String) {
        self.accessKey = accessKey
        self.date = date
        self.region = region
        self.service = service
        self.signedHeaders = signedHeaders
        self.signature = signature
    }

    static func malformed(_ why: String) -> S3Error {
        S3Error(.authorizationHeaderMalformed, "The authorization header is malformed; \(why)")
    }

    /// Parses `Credential=AK/20130524/us-east-1/s3/aws4_request` into its parts.
    public static func parseScope(_ credential: String) throws(S3Error) -> (String, String, String, String) {
        let parts = credential.splitBytes(UInt8(ascii: "/"))
        guard parts.count >= 5, parts[parts.count - 1] == "aws4_request" else {
            throw malformed("the Credential is mal-formed; expecting \"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request\".")
        }
        let n = parts.count
        let accessKey = parts[0..<(n - 4)].joined(separator: "/")
        let date = parts[n - 4]
        guard !accessKey.isEmpty, date.utf8.count == 8, date.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else {
            throw malformed("the Credential is mal-formed; expecting \"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request\".")
        }
        return (accessKey, date, parts[n - 3], parts[n - 2])
    }

    /// `AWS4-HMAC-SHA256 Credential=..., SignedHeaders=a;b, Signature=hex`
    public static func parse(authorization header: String) throws(S3Error) -> SigV4Credential {
        guard header.hasPrefix(SigV4.algorithm + " ") else { throw malformed("the algorithm must be AWS4-HMAC-SHA256.") }
        var fields: [String: String] = [:]
        for piece in header.dropFirst(SigV4.algorithm.count + 1).splitBytes(UInt8(ascii: ","), omittingEmpty: true) {
            let trimmed = piece.trimmingCharacters(in: .whitespaces)
            guard let eq = trimmed.firstIndex(of: "=") else { throw malformed("expected Credential, SignedHeaders and Signature.") }
            fields[String(trimmed[..<eq])] = String(trimmed[trimmed.index(after: eq)...])
        }
        guard let credential = fields["Credential"], let signedHeaders = fields["SignedHeaders"], let signature = fields["Signature"],
            !signedHeaders.isEmpty, signature.utf8.count == 64, signature.utf8.allSatisfy({ PercentEncoding.hexValue($0) != nil })
        else { throw malformed("expected Credential, SignedHeaders and Signature.") }
        let (accessKey, date, region, service) = try parseScope(credential)
        return SigV4Credential(
            accessKey: accessKey,
            date: date,
            region: region,
            service: service,
            signedHeaders: signedHeaders.splitBytes(UInt8(ascii: ";"), omittingEmpty: true).map { $0.lowercased() },
            signature: signature.lowercased()
        )
    }
}

/// AWS Signature Version 2, still produced by aws-cli v1's `presign` and s3cmd's `signurl`.
public enum SigV2 {
    /// Sub-resources that take part in the V2 canonical resource.
    static let subResources: Set<String> = [
        "acl", "delete", "lifecycle", "location", "logging", "notification", "partNumber", "policy", "requestPayment", "tagging",
        "torrent", "uploadId", "uploads", "versionId", "versioning", "versions", "website", "cors", "restore",
        "response-cache-control", "response-content-disposition", "response-content-encoding", "response-content-language",
        "response-content-type", "response-expires",
    ]

    /// StringToSign = Method \n Content-MD5 \n Content-Type \n Date-or-Expires \n CanonicalizedAmzHeaders CanonicalizedResource
    public static func stringToSign(
        method: String,
        contentMD5: String,
        contentType: String,
        dateOrExpires: String,
        headers: [(name: String, value: String)],
        rawPath: String,
        query: [(name: String, value: String)]
    ) -> String {
        var amz: [String: [String]] = [:]
        for (name, value) in headers {
            let lower = name.lowercased()
            if lower.hasPrefix("x-amz-") { amz[lower, default: []].append(SigV4.canonicalHeaderValue(value)) }
        }
        let amzLines = amz.keys.sorted().map { "\($0):\(amz[$0]!.joined(separator: ","))\n" }.joined()
        let sub = query.filter { subResources.contains($0.name) }.sorted { $0.name < $1.name }
            .map { $0.value.isEmpty ? $0.name : "\($0.name)=\($0.value)" }
        let resource = rawPath + (sub.isEmpty ? "" : "?" + sub.joined(separator: "&"))
        return "\(method)\n\(contentMD5)\n\(contentType)\n\(dateOrExpires)\n\(amzLines)\(resource)"
    }

    public static func signature(secret: String, stringToSign: String) -> String {
        Data(HMAC<Insecure.SHA1>.authenticationCode(for: Array(stringToSign.utf8), using: SymmetricKey(data: Array(secret.utf8))))
            .base64EncodedString()
    }
}
