import FuzzSupport
import S3Protocol

/// Query strings and percent-encoding: QueryParameters(raw:), PercentEncoding.decode/encode.
/// The query string split on bytes (`&`, then the first `=`), as other S3 servers split it; nil when a piece
/// does not decode. QueryParameters must agree: a combining mark after `&` or `=` must not hide it.
func referenceItems(_ raw: String) -> [[UInt8]]? {
    var out: [[UInt8]] = []
    for piece in raw.utf8.split(separator: UInt8(ascii: "&")) {
        let eq = piece.firstIndex(of: UInt8(ascii: "="))
        let name = String(decoding: eq.map { piece[..<$0] } ?? piece, as: UTF8.self)
        let value = String(decoding: eq.map { piece[piece.index(after: $0)...] } ?? piece[piece.endIndex...], as: UTF8.self)
        guard let n = PercentEncoding.decode(name, plusIsSpace: true), let v = PercentEncoding.decode(value, plusIsSpace: true) else { return nil }
        out.append(Array(n.utf8))
        out.append(Array(v.utf8))
    }
    return out
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    for text in fuzzStrings(fuzzBytes(start, count)) {
        let reference = referenceItems(text)
        let parsed = try? QueryParameters(raw: Substring(text))
        fuzzCheck(
            parsed.map { $0.items.flatMap { [Array($0.name.utf8), Array($0.value.utf8)] } } == reference,
            "QueryParameters(\(text.debugDescription)) = \(String(describing: parsed?.items)); split on bytes: \(String(describing: reference))"
        )
        if let query = parsed {
            for item in query.items {
                _ = query[item.name]
                fuzzCheck(query.has(item.name), "has(\(item.name.debugDescription)) after parsing \(text.debugDescription)")
            }
        }
        _ = try? QueryParameters(raw: nil)
        _ = try? QueryParameters(raw: Substring(text).dropFirst())
        for plusIsSpace in [false, true] {
            _ = PercentEncoding.decode(text, plusIsSpace: plusIsSpace)
            _ = PercentEncoding.decode(Substring(text).dropFirst(), plusIsSpace: plusIsSpace)
        }
        for keepSlash in [false, true] {
            let encoded = PercentEncoding.encode(text, keepSlash: keepSlash)
            fuzzCheck(encoded.utf8.allSatisfy { $0 < 0x80 }, "encode(\(text.debugDescription)) is not ASCII: \(encoded.debugDescription)")
            // Encoding then decoding gives back the same bytes, with either decoding rule.
            for plusIsSpace in [false, true] {
                let decoded = PercentEncoding.decode(encoded, plusIsSpace: plusIsSpace)
                fuzzCheck(
                    decoded.map { $0.utf8.elementsEqual(text.utf8) } ?? false,
                    "decode(encode(\(text.debugDescription))) = \(String(describing: decoded?.debugDescription))"
                )
            }
        }
        for byte in text.utf8 { _ = PercentEncoding.hexValue(byte) }
    }
    return 0
}

@main enum FuzzMain {
    static func main() { runLibFuzzer { data, size in fuzz(fuzzPointer(data), size) } }
}
