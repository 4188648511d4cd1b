import Foundation
import FuzzSupport
import S3Protocol

/// Web identity tokens and session tokens are read before anything is verified: CompactJWT must never trap, and
/// what it decodes must be what base64url-encoding the parts gives back.
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
    return 0
}

@main enum FuzzMain {
    static func main() { runLibFuzzer { data, size in fuzz(fuzzPointer(data), size) } }
}
