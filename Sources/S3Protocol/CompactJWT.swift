import Foundation

/// The two readable parts of a compact JWS (`header.payload.signature`), decoded before any key is chosen: the
/// header names the algorithm and key, the payload the issuer. Nothing here is trusted until the signature is
/// verified; malformed tokens are nil.
public enum CompactJWT {
    /// A token larger than this is refused unread (identity tokens are a few kilobytes).
    public static let maxBytes = 16 * 1024

    public static func decode(_ token: String) -> (header: [String: Any], payload: [String: Any])? {
        guard token.utf8.count <= maxBytes else { return nil }
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let header = object(parts[0]), let payload = object(parts[1]) else { return nil }
        return (header, payload)
    }

    /// Base64url without padding, as JWTs spell it.
    public static func base64URLDecode(_ text: Substring) -> Data? {
        guard
            text.utf8.allSatisfy({
                $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") || (0x30...0x39).contains($0) || (0x41...0x5A).contains($0)
                    || (0x61...0x7A).contains($0)
            })
        else { return nil }
        var standard = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while standard.utf8.count % 4 != 0 { standard += "=" }
        return Data(base64Encoded: standard)
    }

    private static func object(_ part: Substring) -> [String: Any]? {
        guard let data = base64URLDecode(part) else { return nil }
        return (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
    }
}
