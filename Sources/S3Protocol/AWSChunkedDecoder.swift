/// Incremental decoder for `aws-chunked` request bodies (SigV4 streaming uploads):
/// `hex-size[;chunk-signature=sig]\r\n data \r\n ... 0[;chunk-signature=sig]\r\n [trailer: value\r\n]* \r\n`.
/// The framing never reaches stored bytes. Chunk signatures and trailers are collected for verification.
public struct AWSChunkedDecoder: Sendable {
    public struct Chunk: Sendable, Equatable {
        public var size: Int
        public var signature: String?
    }

    enum State {
        case header
        case data(remaining: Int)
        case dataEnd
        case trailers
        case done
    }

    private var state = State.header
    private var line: [UInt8] = []
    /// Chunks seen so far (not kept: a multi-GiB upload has many).
    public private(set) var chunkCount = 0
    public private(set) var trailers: [(String, String)] = []
    public private(set) var decodedLength: Int64 = 0
    static let maxLineLength = 4096
    /// Trailers carry a checksum and a signature; these bounds keep a hostile trailer section from growing memory.
    public static let maxTrailers = 16
    public static let maxTrailerBytes = 16 * 1024
    private var trailerBytes = 0

    public init() {}

    public var isComplete: Bool {
        if case .done = state { return true }
        return false
    }

    /// What the framing yields, in order: each chunk's start, its payload bytes, its end; then the trailers.
    public enum Event {
        case chunkStart(Chunk)
        case data(UnsafeRawBufferPointer)
        case chunkEnd
        case trailer(name: String, value: String)
    }

    /// Consumes framed bytes and calls `emit` with each run of payload bytes, in order.
    public mutating func feed(_ bytes: UnsafeRawBufferPointer, emit: (UnsafeRawBufferPointer) throws -> Void) throws {
        try feed(bytes) { event in
            if case .data(let payload) = event { try emit(payload) }
        }
    }

    /// Consumes framed bytes, reporting chunk boundaries too (for signature verification).
    public mutating func feed(_ bytes: UnsafeRawBufferPointer, events emit: (Event) throws -> Void) throws {
        var i = 0
        while i < bytes.count {
            switch state {
            case .data(let remaining):
                let n = min(remaining, bytes.count - i)
                try emit(.data(UnsafeRawBufferPointer(rebasing: bytes[i..<(i + n)])))
                decodedLength += Int64(n)
                i += n
                if remaining - n == 0 {
                    state = .dataEnd
                    try emit(.chunkEnd)
                } else {
                    state = .data(remaining: remaining - n)
                }
            case .done:
                throw S3Error(.invalidRequest, "The aws-chunked body continues after its final chunk.")
            case .header, .dataEnd, .trailers:
                let byte = bytes[i]
                i += 1
                guard byte == 0x0A else {
                    line.append(byte)
                    if line.count > AWSChunkedDecoder.maxLineLength { throw malformed("a chunk header is too long") }
                    continue
                }
                if line.last == 0x0D { line.removeLast() }
                let text = line
                line = []
                try endOfLine(text, emit)
            }
        }
    }

    public func finish() throws(S3Error) {
        guard isComplete else { throw S3Error(.incompleteBody, "The aws-chunked body ended before its final chunk.") }
    }

    private mutating func endOfLine(_ text: [UInt8], _ emit: (Event) throws -> Void) throws {
        switch state {
        case .dataEnd:
            guard text.isEmpty else { throw malformed("chunk data is longer than its declared size") }
            state = .header
        case .header:
            guard let header = String(validating: text, as: UTF8.self) else { throw malformed("a chunk header is not text") }
            let parts = header.split(separator: ";", maxSplits: 1)
            guard let sizeText = parts.first.map({ $0.trimming(" ") }), (1...16).contains(sizeText.utf8.count),
                sizeText.utf8.allSatisfy({ PercentEncoding.hexValue($0) != nil }), let size = Int(sizeText, radix: 16)
            else {
                throw malformed("a chunk size is not hexadecimal")
            }
            var signature: String?
            if parts.count == 2 {
                let ext = parts[1].trimming(" ")
                guard ext.hasPrefix("chunk-signature=") else { throw malformed("unknown chunk extension") }
                signature = String(ext.dropFirst("chunk-signature=".count))
            }
            let chunk = Chunk(size: size, signature: signature)
            chunkCount += 1
            try emit(.chunkStart(chunk))
            if size == 0 {
                try emit(.chunkEnd)
                state = .trailers
            } else {
                state = .data(remaining: size)
            }
        case .trailers:
            if text.isEmpty {
                state = .done
                return
            }
            trailerBytes += text.count + 2
            guard trailers.count < Self.maxTrailers, trailerBytes <= Self.maxTrailerBytes else { throw malformed("the trailer section is too large") }
            guard let trailer = String(validating: text, as: UTF8.self), let colon = trailer.firstIndex(of: ":") else {
                throw malformed("a trailer is not 'name:value'")
            }
            let name = String(trailer[..<colon]).trimming(" ").lowercased()
            let value = String(trailer[trailer.index(after: colon)...]).trimming(" ")
            trailers.append((name, value))
            try emit(.trailer(name: name, value: value))
        case .data, .done:
            break
        }
    }

    private func malformed(_ why: String) -> S3Error {
        S3Error(.invalidRequest, "The aws-chunked request body is malformed: \(why).")
    }
}

extension Substring {
    func trimming(_ c: Character) -> String { String(self).trimming(c) }
}
