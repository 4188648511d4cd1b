import Foundation

/// Who is calling, as SIMPLE authentication sees it: the access key named in the request, unverified.
public enum SimpleIdentity {
    /// Extracts the user from `Authorization`:
    /// - SigV4: `AWS4-HMAC-SHA256 Credential=<user>/<date>/..., SignedHeaders=..., Signature=...`
    /// - SigV2: `AWS <user>:<signature>`
    /// Returns nil when there is no header; throws AuthorizationHeaderMalformed when it cannot be read.
    public static func user(authorization: String?, query: QueryParameters) throws(S3Error) -> String? {
        if let header = authorization {
            let trimmed = header.trimming(" ")
            if trimmed.isEmpty { throw malformed() }
            if trimmed.hasPrefix("AWS ") {
                let rest = trimmed.dropFirst(4)
                guard let colon = rest.firstIndex(of: ":") else { throw malformed() }
                let user = String(rest[..<colon]).trimming(" ")
                guard !user.isEmpty else { throw malformed() }
                return user
            }
            guard let start = endOfFirst("Credential=", in: trimmed) else { throw malformed() }
            let credential = trimmed[start...].prefix { $0 != "," && $0 != " " }
            guard let slash = credential.firstIndex(of: "/") else { throw malformed() }
            let user = String(credential[..<slash]).trimming(" ")
            guard !user.isEmpty else { throw malformed() }
            return user
        }
        // Presigned URLs name the user in the query.
        if let credential = query["X-Amz-Credential"] {
            guard let slash = credential.firstIndex(of: "/"), slash != credential.startIndex else { throw malformed() }
            return String(credential[..<slash])
        }
        if let key = query["AWSAccessKeyId"], !key.isEmpty { return key }
        return nil
    }

    /// Where the first `needle` (ASCII) in `text` ends, matched byte-wise as the signature parser reads the header;
    /// a plain loop, which costs a fraction of a generic or Foundation string search on every request.
    static func endOfFirst(_ needle: StaticString, in text: String) -> String.Index? {
        let pattern = UnsafeBufferPointer(start: needle.utf8Start, count: needle.utf8CodeUnitCount)
        let bytes = text.utf8
        var index = bytes.startIndex
        while index != bytes.endIndex {
            var probe = index
            var matched = 0
            while matched < pattern.count, probe != bytes.endIndex, bytes[probe] == pattern[matched] {
                matched += 1
                probe = bytes.index(after: probe)
            }
            if matched == pattern.count { return probe }
            index = bytes.index(after: index)
        }
        return nil
    }

    private static func malformed() -> S3Error {
        S3Error(.authorizationHeaderMalformed, "The authorization header you provided is invalid.")
    }
}
