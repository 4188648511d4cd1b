/// The fields of a browser form before its file part, collected from `FormDataParser` events before anything is
/// authenticated, so under a bound on everything they can make the server hold.
///
/// AWS bounds the form before the file at 20 KB (MaxPostPreDataLengthExceeded). Here that bound covers every byte
/// of the body up to the file's content: delimiters, part heads (the field names with them) and values. Empty parts
/// and long names count as much as values, so the number of parts is bounded too: an empty part takes at least
/// about 40 bytes, so at most some 500 fit.
public struct FormFields: Sendable {
    public static let maxPreDataBytes = 20 * 1024

    /// Lowercased names (form field names are case-insensitive) and UTF-8 values.
    public private(set) var fields: [String: String] = [:]
    /// The file part's head, once it began.
    public private(set) var file: FormPartHead?
    private var current: (name: String, value: [UInt8])?

    public init() {}

    /// Takes the parser's next event; `consumedBytes` is the parser's count after it. True once the file part began:
    /// its content follows.
    public mutating func take(_ event: FormDataParser.Event, consumedBytes: Int) throws(S3Error) -> Bool {
        guard consumedBytes <= Self.maxPreDataBytes else {
            throw S3Error(.maxPostPreDataLengthExceeded, "Your POST request fields preceding the upload file were too large.")
        }
        switch event {
        case .part(let head):
            let name = head.name.lowercased()
            if name == "file" {
                file = head
                return true
            }
            current = (name, [])
        case .data(let bytes):
            current?.value += bytes
        case .partEnd:
            guard let (name, value) = current else { break }
            current = nil
            guard let text = String(validating: value, as: UTF8.self) else {
                throw S3Error(.invalidArgument, "The form field \(name) is not valid UTF-8.", details: [("ArgumentName", name)])
            }
            guard fields[name] == nil else {
                throw S3Error(.invalidArgument, "The form field \(name) appears more than once.", details: [("ArgumentName", name)])
            }
            fields[name] = text
        case .end:
            break
        }
        return false
    }
}
