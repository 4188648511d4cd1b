import Foundation
import FuzzSupport
import S3Protocol

/// Web identity tokens and session tokens are read before anything is verified: CompactJWT must never trap, and
/// what it decodes must be what base64url-encoding the parts gives back. A verified token's claims then meet the
/// roles' wildcard patterns: the matcher must not trap either, and must agree with what a pattern means.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    for text in fuzzStrings(fuzzBytes(start, count)) {
        if let (header, payload) = CompactJWT.decode(text) {
            fuzzCheck(text.utf8.count <= CompactJWT.maxBytes, "decoded a token of \(text.utf8.count) bytes")
            _ = header["alg"] as? String
            _ = payload["iss"] as? String
        }
        for part in text.split(separator: ".", omittingEmptySubsequences: false) {
            if let data = CompactJWT.base64URLDecode(part) {
                let again = data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
                    .replacingOccurrences(of: "=", with: "")
                fuzzCheck(CompactJWT.base64URLDecode(Substring(again)) == data, "base64url round trip of \(part.debugDescription)")
            }
        }
    }
    checkWildcards(fuzzBytes(start, count))
    return 0
}

/// The input's first line is a claim, the second a pattern.
func checkWildcards(_ bytes: [UInt8]) {
    let lines = bytes.split(separator: UInt8(ascii: "\n"), maxSplits: 1, omittingEmptySubsequences: false)
    let text = String(decoding: lines[0], as: UTF8.self)
    let pattern = lines.count > 1 ? String(decoding: lines[1], as: UTF8.self) : ""
    let matched = WildcardPattern.matches(text, pattern)
    if !pattern.contains("*") { fuzzCheck(matched == (text == pattern), "a pattern without * matches only itself") }
    fuzzCheck(WildcardPattern.matches(text, "*"), "* matches \(text.debugDescription)")
    // An ASCII claim matches any pattern that keeps a prefix and a suffix of it around a star.
    let ascii = Array(text.utf8)
    if ascii.allSatisfy({ $0 < 0x80 && $0 != UInt8(ascii: "*") }) {
        let cut = ascii.isEmpty ? 0 : Int(ascii[0]) % (ascii.count + 1)
        let end = ascii.isEmpty ? 0 : cut + Int(ascii[ascii.count - 1]) % (ascii.count - cut + 1)
        let around = String(decoding: ascii[..<cut], as: UTF8.self) + "*" + String(decoding: ascii[end...], as: UTF8.self)
        fuzzCheck(WildcardPattern.matches(text, around), "\(around.debugDescription) matches \(text.debugDescription)")
    }
}

@main enum FuzzMain {
    static func main() { runLibFuzzer { data, size in fuzz(fuzzPointer(data), size) } }
}
