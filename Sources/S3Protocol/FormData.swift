/// The head of one part of a multipart/form-data body: its field name and, for a file, the file's name.
public struct FormPartHead: Sendable, Equatable {
    public var name: String
    public var filename: String?
    public var contentType: String?

    public init(name: String, filename: String? = nil, contentType: String? = nil) {
        self.name = name
        self.filename = filename
        self.contentType = contentType
    }
}

/// An incremental multipart/form-data parser (RFC 7578 on RFC 2046's framing). Bytes are appended as they
/// arrive and events pulled one at a time, so a file part streams through without being held: only a delimiter's
/// length of it is kept back in case a delimiter straddles two reads. Whatever the input, what it keeps between
/// reads (`retainedBytes`) stays within `maxRetained`: a preamble, a part's head or padding beyond its bound fails.
public struct FormDataParser: Sendable {
    public enum Event: Sendable, Equatable {
        case part(FormPartHead)
        /// Bytes of the current part's body, in order.
        case data([UInt8])
        case partEnd
        /// The closing delimiter: nothing after it matters.
        case end
    }

    enum State {
        case preamble
        case afterDelimiter
        case headers
        case body
        case partEnded
        case epilogue
    }

    /// Bounds that keep a hostile body from growing memory: a part's header block and the preamble.
    public static let maxHeaderBlock = 16 * 1024
    static let maxPreamble = 64 * 1024
    static let maxPadding = 1024
    /// The most input kept once `next` has returned nil: an unfinished header block (a partial delimiter, padding or
    /// preamble tail is shorter).
    public static let maxRetained = maxHeaderBlock + 3

    let dashBoundary: [UInt8]
    /// CRLF, `--`, boundary: what ends a part's body.
    let delimiter: [UInt8]
    var buffer: [UInt8] = []
    var start = 0
    /// Bytes dropped from the front of `buffer` so far.
    var dropped = 0
    var state = State.preamble
    /// Where the search for the end of the current header block goes on (an offset in the whole input), so a head
    /// arriving in small reads is not scanned again from its start for each read.
    var headerScanned = 0

    /// `boundary` from the Content-Type; RFC 2046 allows 1 to 70 characters.
    public init(boundary: String) throws(S3Error) {
        guard (1...70).contains(boundary.utf8.count) else {
            throw S3Error(.malformedPOSTRequest, "The multipart boundary must be 1 to 70 characters long.")
        }
        dashBoundary = Array("--".utf8) + Array(boundary.utf8)
        delimiter = [13, 10] + dashBoundary
    }

    /// The boundary parameter of a `multipart/form-data` Content-Type; nil for any other type.
    public static func boundary(contentType: String) -> String? {
        let parameters = contentType.split(separator: ";", omittingEmptySubsequences: false)
        guard let type = parameters.first, type.trimmingSpaces().lowercased() == "multipart/form-data" else { return nil }
        for parameter in parameters.dropFirst() {
            let pair = parameter.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard pair.count == 2, pair[0].trimmingSpaces().lowercased() == "boundary" else { continue }
            var value = pair[1].trimmingSpaces()
            if value.count >= 2, value.hasPrefix("\""), value.hasSuffix("\"") { value = value.dropFirst().dropLast() }
            return value.isEmpty ? nil : String(value)
        }
        return nil
    }

    public mutating func append(_ bytes: UnsafeRawBufferPointer) {
        if start > 0, start >= buffer.count / 2 {
            buffer.removeFirst(start)
            dropped += start
            start = 0
        }
        buffer.append(contentsOf: bytes)
    }

    public var isFinished: Bool { state == .epilogue }

    /// Bytes of input the events so far account for: everything up to the end of the last event.
    public var consumedBytes: Int { dropped + start }

    /// Bytes of input held that no event has accounted for yet.
    public var retainedBytes: Int { buffer.count - start }

    /// The next event, or nil when more input is needed.
    public mutating func next() throws(S3Error) -> Event? {
        while true {
            switch state {
            case .preamble:
                // The first delimiter opens the body or follows a line break; anything before it is ignored.
                if dropped == 0 && start == 0 {
                    let available = min(buffer.count, dashBoundary.count)
                    if buffer[0..<available].elementsEqual(dashBoundary[0..<available]) {
                        guard available == dashBoundary.count else { return nil }
                        start = dashBoundary.count
                        state = .afterDelimiter
                        continue
                    }
                }
                guard let found = find(delimiter, from: start) else {
                    // Keep what could be the start of a delimiter; refuse an endless preamble.
                    start = max(start, buffer.count - delimiter.count + 1)
                    if dropped + buffer.count > Self.maxPreamble { throw malformed("No multipart boundary in the body.") }
                    return nil
                }
                start = found + delimiter.count
                state = .afterDelimiter
            case .afterDelimiter:
                // `--` closes the body; otherwise optional whitespace (transport padding) and a line break.
                var index = start
                while index < buffer.count, buffer[index] == 32 || buffer[index] == 9 { index += 1 }
                if index - start > Self.maxPadding { throw malformed("Too much padding after a multipart boundary.") }
                guard index + 2 <= buffer.count else { return nil }
                if index == start, buffer[index] == 45, buffer[index + 1] == 45 {
                    start = buffer.count
                    state = .epilogue
                    return .end
                }
                guard buffer[index] == 13, buffer[index + 1] == 10 else { throw malformed("A multipart boundary is not followed by a line break.") }
                start = index + 2
                state = .headers
            case .headers:
                let end: Int
                let next: Int
                if buffer.count - start >= 2, buffer[start] == 13, buffer[start + 1] == 10 {
                    (end, next) = (start, start + 2)
                } else if let found = find([13, 10, 13, 10], from: max(start, headerScanned - dropped)) {
                    (end, next) = (found, found + 4)
                } else {
                    // Beyond the bound plus a partial terminator, the block is too long however it continues.
                    if buffer.count - start > Self.maxHeaderBlock + 3 { throw malformed("A part's headers are too long.") }
                    headerScanned = dropped + max(start, buffer.count - 3)
                    return nil
                }
                guard end - start <= Self.maxHeaderBlock else { throw malformed("A part's headers are too long.") }
                let head = try Self.parseHead(buffer[start..<end])
                start = next
                state = .body
                return .part(head)
            case .body:
                if let found = find(delimiter, from: start) {
                    let data = Array(buffer[start..<found])
                    start = found + delimiter.count
                    state = .partEnded
                    if !data.isEmpty { return .data(data) }
                    continue
                }
                // Everything but a possible partial delimiter at the end can go.
                let safeEnd = buffer.count - (delimiter.count - 1)
                guard safeEnd > start else { return nil }
                let data = Array(buffer[start..<safeEnd])
                start = safeEnd
                return .data(data)
            case .partEnded:
                state = .afterDelimiter
                return .partEnd
            case .epilogue:
                start = buffer.count
                return nil
            }
        }
    }

    /// The input ended: fails unless the closing delimiter was seen.
    public func finish() throws(S3Error) {
        guard state == .epilogue else { throw malformed("The multipart body ended before its closing boundary.") }
    }

    private func malformed(_ message: String) -> S3Error { S3Error(.malformedPOSTRequest, message) }

    /// The first occurrence of `pattern` at or after `from`, scanning for its first byte.
    private func find(_ pattern: [UInt8], from: Int) -> Int? {
        let count = buffer.count
        let length = pattern.count
        guard count - from >= length else { return nil }
        return buffer.withUnsafeBufferPointer { bytes -> Int? in
            pattern.withUnsafeBufferPointer { needle -> Int? in
                let first = needle[0]
                var index = from
                let last = count - length
                while index <= last {
                    if bytes[index] == first {
                        var matched = 1
                        while matched < length, bytes[index + matched] == needle[matched] { matched += 1 }
                        if matched == length { return index }
                    }
                    index += 1
                }
                return nil
            }
        }
    }

    /// Reads a part's Content-Disposition (`form-data; name="..."; filename="..."`) and Content-Type.
    static func parseHead(_ block: ArraySlice<UInt8>) throws(S3Error) -> FormPartHead {
        guard let text = String(validating: block, as: UTF8.self) else {
            throw S3Error(.malformedPOSTRequest, "A part's headers are not valid UTF-8.")
        }
        var name: String?
        var filename: String?
        var contentType: String?
        for line in text.split(separator: "\r\n", omittingEmptySubsequences: true) {
            guard let colon = line.firstIndex(of: ":") else { throw S3Error(.malformedPOSTRequest, "A part header has no colon.") }
            let field = line[..<colon].trimmingSpaces().lowercased()
            let value = line[line.index(after: colon)...].trimmingSpaces()
            switch field {
            case "content-disposition":
                let parameters = try dispositionParameters(value)
                name = parameters["name"]
                filename = parameters["filename"]
            case "content-type":
                contentType = String(value)
            default:
                continue
            }
        }
        guard let name else { throw S3Error(.malformedPOSTRequest, "A form part has no name.") }
        return FormPartHead(name: name, filename: filename, contentType: contentType)
    }

    /// `form-data; name="a"; filename="b"`: parameter names lowercased, quoted values unescaped.
    static func dispositionParameters(_ value: Substring) throws(S3Error) -> [String: String] {
        var result: [String: String] = [:]
        var characters = value.unicodeScalars[...]
        // The disposition type, then `; name=value` pairs.
        while let first = characters.first, first != ";" { characters = characters.dropFirst() }
        while characters.first == ";" {
            characters = characters.dropFirst()
            while characters.first == " " || characters.first == "\t" { characters = characters.dropFirst() }
            var parameter = ""
            while let c = characters.first, c != "=", c != ";" {
                parameter.unicodeScalars.append(c)
                characters = characters.dropFirst()
            }
            guard characters.first == "=" else { continue }
            characters = characters.dropFirst()
            var parameterValue = ""
            if characters.first == "\"" {
                characters = characters.dropFirst()
                var closed = false
                while let c = characters.first {
                    characters = characters.dropFirst()
                    if c == "\"" {
                        closed = true
                        break
                    }
                    if c == "\\", let escaped = characters.first {
                        characters = characters.dropFirst()
                        parameterValue.unicodeScalars.append(escaped)
                    } else {
                        parameterValue.unicodeScalars.append(c)
                    }
                }
                guard closed else { throw S3Error(.malformedPOSTRequest, "A quoted Content-Disposition value is not closed.") }
                while let c = characters.first, c != ";" { characters = characters.dropFirst() }
            } else {
                while let c = characters.first, c != ";" {
                    parameterValue.unicodeScalars.append(c)
                    characters = characters.dropFirst()
                }
                parameterValue = String(Substring(parameterValue).trimmingSpaces())
            }
            result[String(Substring(parameter).trimmingSpaces()).lowercased()] = parameterValue
        }
        return result
    }
}

extension Substring {
    func trimmingSpaces() -> Substring {
        var result = self
        while let c = result.first, c == " " || c == "\t" { result = result.dropFirst() }
        while let c = result.last, c == " " || c == "\t" { result = result.dropLast() }
        return result
    }
}
