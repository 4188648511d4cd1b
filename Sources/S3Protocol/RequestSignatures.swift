/// Parsers for the signature parameters of presigned URLs and SigV2 headers. They take client text and return
/// bounded values or S3's error; the cryptography lives in SigV4/SigV2.
public struct PresignedV4: Sendable, Equatable {
    public var credential: SigV4Credential
    public var amzDate: String
    public var requestTime: Int64
    public var expires: Int64

    public static let maxExpiry: Int64 = 604_800

    static func queryError(_ message: String) -> S3Error { S3Error(.authorizationQueryParametersError, message) }

    /// Reads `X-Amz-Algorithm`, `-Credential`, `-Date`, `-Expires`, `-SignedHeaders` and `-Signature`.
    public static func parse(_ q: QueryParameters) throws(S3Error) -> PresignedV4 {
        guard q["X-Amz-Algorithm"] == SigV4.algorithm else { throw queryError("X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\"") }
        guard let credentialText = q["X-Amz-Credential"], let amzDate = q["X-Amz-Date"], let expiresText = q["X-Amz-Expires"],
            let signedHeadersText = q["X-Amz-SignedHeaders"], let signature = q["X-Amz-Signature"]
        else {
            throw queryError(
                "Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, "
                    + "X-Amz-SignedHeaders, and X-Amz-Expires parameters."
            )
        }
        let (accessKey, date, region, service) = try SigV4Credential.parseScope(credentialText)
        guard let requestTime = SigV4.parseAmzDate(amzDate) else {
            throw queryError("X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"")
        }
        // An expiry outside 1 s to a week refuses the URL (403, as AWS answers ceph's s3-tests), not the request's shape.
        func refused(_ message: String) -> S3Error { S3Error(.accessDenied, message) }
        guard let expires = DecimalNumber.parse(expiresText.hasPrefix("-") ? String(expiresText.dropFirst()) : expiresText, in: 0...Int64.max) else {
            throw queryError("X-Amz-Expires should be a number")
        }
        guard !expiresText.hasPrefix("-"), expires >= 1 else { throw refused("X-Amz-Expires must be non-negative") }
        guard expires <= maxExpiry else { throw refused("X-Amz-Expires must be less than a week (in seconds) that is 604800") }
        let signedHeaders = signedHeadersText.splitBytes(UInt8(ascii: ";"), omittingEmpty: true).map { $0.lowercased() }
        guard signedHeaders.contains("host") else { throw queryError("X-Amz-SignedHeaders must include the host header.") }
        guard signature.utf8.count == 64, signature.utf8.allSatisfy({ PercentEncoding.hexValue($0) != nil }) else {
            throw queryError("X-Amz-Signature must be 64 hexadecimal digits.")
        }
        let credential = SigV4Credential(
            accessKey: accessKey,
            date: date,
            region: region,
            service: service,
            signedHeaders: signedHeaders,
            signature: signature.lowercased()
        )
        return PresignedV4(credential: credential, amzDate: amzDate, requestTime: requestTime, expires: expires)
    }
}

/// `Authorization: AWS AccessKeyId:Signature`.
public struct SigV2Authorization: Sendable, Equatable {
    public var accessKey: String
    public var signature: String

    public static func parse(header: String) throws(S3Error) -> SigV2Authorization {
        guard header.hasPrefix("AWS ") else { throw S3Error(.authorizationHeaderMalformed, "The authorization header you provided is invalid.") }
        let rest = header.dropFirst(4)
        guard let colon = rest.lastIndex(of: ":"), colon != rest.startIndex, rest.index(after: colon) != rest.endIndex else {
            throw S3Error(.authorizationHeaderMalformed, "The authorization header you provided is invalid.")
        }
        return SigV2Authorization(accessKey: String(rest[..<colon]), signature: String(rest[rest.index(after: colon)...]))
    }
}

/// `?AWSAccessKeyId=...&Expires=...&Signature=...` (aws-cli v1 `presign`, s3cmd `signurl`).
public struct PresignedV2: Sendable, Equatable {
    public var accessKey: String
    public var signature: String
    /// Seconds since the epoch, within the range HTTP dates can name.
    public var expires: Int64

    public static func parse(_ q: QueryParameters) throws(S3Error) -> PresignedV2 {
        guard let accessKey = q["AWSAccessKeyId"], let expiresText = q["Expires"], let signature = q["Signature"] else {
            throw S3Error(.accessDenied, "Query-string authentication requires the Signature, Expires and AWSAccessKeyId parameters")
        }
        guard let expires = DecimalNumber.parse(expiresText, in: 0...HTTPDate.latest) else {
            throw S3Error(.accessDenied, "Invalid date (should be seconds since epoch): \(expiresText)")
        }
        return PresignedV2(accessKey: accessKey, signature: signature, expires: expires)
    }
}

/// What a signature must cover besides what its canonical form already binds.
public enum SignatureCoverage {
    /// Headers bound by other parts of the signed string: the date line and the payload-hash line.
    static let boundElsewhere: Set<String> = ["x-amz-date", "x-amz-content-sha256"]

    /// The `x-amz-*` headers of a request that are not among its signed headers. AWS refuses such a request:
    /// an unsigned `x-amz-copy-source` would otherwise turn a signed PUT into a copy of anything.
    public static func unsignedAmzHeaders(_ names: some Sequence<String>, signed: [String]) -> [String] {
        let signedSet = Set(signed)
        var missing: [String] = []
        for name in names {
            let lower = name.lowercased()
            guard lower.hasPrefix("x-amz-"), !boundElsewhere.contains(lower), !signedSet.contains(lower), !missing.contains(lower) else { continue }
            missing.append(lower)
        }
        return missing
    }

    public static func unsignedHeadersError(_ names: [String]) -> S3Error {
        S3Error(
            .accessDenied,
            "There were headers present in the request which were not signed",
            details: [("HeadersNotSigned", names.joined(separator: ", "))]
        )
    }
}

/// Decimal numbers from clients: ASCII digits only (no sign, no spaces), checked against a range, never trapping.
public enum DecimalNumber {
    public static func parse(_ text: some StringProtocol, in range: ClosedRange<Int64>) -> Int64? {
        let digits = text.utf8
        guard !digits.isEmpty else { return nil }
        var value: Int64 = 0
        for c in digits {
            guard c >= 0x30, c <= 0x39 else { return nil }
            let (times10, o1) = value.multipliedReportingOverflow(by: 10)
            let (next, o2) = times10.addingReportingOverflow(Int64(c - 0x30))
            guard !o1, !o2 else { return nil }
            value = next
        }
        return range.contains(value) ? value : nil
    }

    public static func parseInt(_ text: some StringProtocol, in range: ClosedRange<Int>) -> Int? {
        parse(text, in: Int64(range.lowerBound)...Int64(range.upperBound)).map { Int($0) }
    }
}
