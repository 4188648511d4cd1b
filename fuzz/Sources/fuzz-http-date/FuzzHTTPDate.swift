import FuzzSupport
import S3Protocol

/// HTTPDate.parse (If-Modified-Since, x-amz-date, ...) and formatting the instant it yields.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    for text in fuzzStrings(fuzzBytes(start, count)) {
        guard let seconds = HTTPDate.parse(text) else { continue }
        fuzzCheck(
            (HTTPDate.earliest...HTTPDate.latest).contains(seconds),
            "parse(\(text.debugDescription)) = \(seconds), outside years 0-9999 [\(HTTPDate.earliest), \(HTTPDate.latest)]"
        )
        let rfc = HTTPDate.rfc1123(seconds: seconds)
        let iso = HTTPDate.iso8601(seconds: seconds)
        _ = HTTPDate.iso8601(seconds: seconds, milliseconds: 999)
        // What we format, we must read back as the same instant.
        fuzzCheck(
            HTTPDate.parse(rfc) == seconds,
            "parse(\(text.debugDescription)) = \(seconds), formatted \(rfc.debugDescription), read back \(String(describing: HTTPDate.parse(rfc)))"
        )
        if let back = HTTPDate.parse(iso) {
            fuzzCheck(back == seconds, "parse(\(text.debugDescription)) = \(seconds), formatted \(iso.debugDescription), read back \(back)")
        }
    }
    return 0
}

@main enum FuzzMain {
    static func main() { runLibFuzzer { data, size in fuzz(fuzzPointer(data), size) } }
}
