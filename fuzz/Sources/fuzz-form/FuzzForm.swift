import FuzzSupport
import S3Protocol

/// Browser-form uploads: FormDataParser on a body split into reads of fuzzed sizes must yield the same parts and
/// the same bytes as on the whole body at once, and never keep more than `maxRetained` bytes between reads;
/// FormFields must stop before holding more than its bound of the form before the file; PostPolicy.parse and check
/// must never trap. Layout: one byte of read size, a boundary line, then the body; the body is also parsed as a
/// policy document.
func events(_ body: [UInt8], boundary: String, readSize: Int) -> [FormDataParser.Event]? {
    guard var parser = try? FormDataParser(boundary: boundary) else { return nil }
    var result: [FormDataParser.Event] = []
    func add(_ event: FormDataParser.Event) {
        // Data may arrive in different slices; merge neighbours so that only content is compared.
        if case .data(let more) = event, case .data(let earlier)? = result.last {
            result[result.count - 1] = .data(earlier + more)
        } else {
            result.append(event)
        }
    }
    var fields: FormFields? = FormFields()
    /// Feeds the fields up to the file; what they hold never exceeds the bound on the form before the file.
    func take(_ event: FormDataParser.Event, consumedBytes: Int) {
        guard var collecting = fields else { return }
        do {
            let fileBegan = try collecting.take(event, consumedBytes: consumedBytes)
            let held = collecting.fields.reduce(0) { $0 + $1.key.utf8.count + $1.value.utf8.count }
            fuzzCheck(held <= FormFields.maxPreDataBytes, "the form's fields hold \(held) bytes")
            fields = fileBegan ? nil : collecting
        } catch {
            fields = nil
        }
    }
    var offset = 0
    repeat {
        let end = min(body.count, offset + readSize)
        body[offset..<end].withUnsafeBytes { parser.append($0) }
        offset = end
        while true {
            let next: FormDataParser.Event?
            do { next = try parser.next() } catch { return result }
            guard let event = next else { break }
            add(event)
            take(event, consumedBytes: parser.consumedBytes)
        }
        fuzzCheck(parser.retainedBytes <= FormDataParser.maxRetained, "the parser kept \(parser.retainedBytes) bytes between reads")
    } while offset < body.count
    return (try? parser.finish()) == nil ? result + [.end, .end] : result
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    var input = FuzzReader(fuzzBytes(start, count))
    let readSize = Int(input.byte()) + 1
    let boundary = String(decoding: input.field(separator: 0x0A), as: UTF8.self)
    let body = Array(input.bytes[min(input.position, input.bytes.count)...])
    if let whole = events(body, boundary: boundary, readSize: max(body.count, 1)),
        let pieces = events(body, boundary: boundary, readSize: readSize)
    {
        // A failure may surface at a different point, but the successful prefix must agree.
        let agreed = zip(whole, pieces).allSatisfy { $0 == $1 }
        fuzzCheck(agreed, "parts differ between one read and reads of \(readSize) bytes")
    }
    if let policy = try? PostPolicy.parse(body) {
        _ = policy.contentLengthRange
        _ = try? policy.check(fields: ["key": boundary, "bucket": "b", "content-type": boundary], now: 0)
    }
    _ = FormDataParser.boundary(contentType: boundary)
    return 0
}

@main enum FuzzMain {
    static func main() { runLibFuzzer { data, size in fuzz(fuzzPointer(data), size) } }
}
