import Hummingbird
import NIOCore
import S3Protocol
import StrataStore

/// Reading request bodies: small XML documents are collected with a limit; object data is streamed.
enum BodyCollector {
    /// Collects a small body (an XML document) or fails with a precise error when it is too large. A signed
    /// payload's SHA-256 is checked before the body is used.
    static func collect(_ call: S3Call, limit: Int) async throws -> [UInt8] {
        var collected: [UInt8] = []
        var rawBytes = 0
        // aws-chunked framing adds under 100 bytes per chunk; the raw limit only stops an endless stream.
        let rawLimit = 2 * limit + 65_536
        var decoder: AWSChunkedDecoder? = BodyFraming.isAWSChunked(call) ? AWSChunkedDecoder() : nil
        let verifier = PayloadVerifier(call.identity.payload)
        func tooLarge() -> S3Error { S3Error(.malformedXML, "The XML document is larger than the \(limit) bytes this request allows.") }
        for try await chunk in call.request.body {
            rawBytes += chunk.readableBytes
            guard rawBytes <= rawLimit else { throw tooLarge() }
            try chunk.withUnsafeReadableBytes { raw in
                guard decoder != nil else {
                    verifier.update(raw)
                    collected.append(contentsOf: raw)
                    return
                }
                try verifier.decode(raw, with: &decoder!) { collected.append(contentsOf: $0) }
            }
            guard collected.count <= limit else { throw tooLarge() }
        }
        call.bodyProgress.markFinished()
        try decoder?.finish()
        try verifier.finish()
        return collected
    }
}

/// How a request body is framed on the wire.
enum BodyFraming: Sendable, Equatable {
    /// The payload as is: `length` bytes, or with chunked transfer coding and no Content-Length as many as arrive.
    case plain(length: Int64?)
    /// SigV4 streaming (`aws-chunked`); `decodedLength` payload bytes inside the framing.
    case awsChunked(decodedLength: Int64)

    var payloadLength: Int64? {
        switch self {
        case .plain(let length): length
        case .awsChunked(let length): length
        }
    }

    /// Reads the framing from the headers. A streaming payload hash means aws-chunked. `Content-Encoding: aws-chunked`
    /// counts only with the decoded length beside it: SDKs also send it on plain bodies (boto3 with
    /// `ContentEncoding='gzip, aws-chunked'`), which AWS stores as they are. It cannot change what was signed either
    /// way: a plain digest is always checked against the raw bytes on the wire.
    static func isAWSChunked(_ call: S3Call) -> Bool {
        (call.header("x-amz-content-sha256") ?? "").hasPrefix("STREAMING-")
            || ((call.header("content-encoding") ?? "").lowercased().contains("aws-chunked") && call.header("x-amz-decoded-content-length") != nil)
    }

    /// AWS's limit for one PutObject or UploadPart body; larger objects are uploaded in parts.
    static let maxPayloadLength: Int64 = 5 << 30

    static func tooLarge(_ length: Int64) -> S3Error {
        S3Error(.entityTooLarge, details: [("ProposedSize", "\(length)"), ("MaxSizeAllowed", "\(maxPayloadLength)")])
    }

    static func of(_ call: S3Call) throws(S3Error) -> BodyFraming {
        let framing = try declared(call)
        if let length = framing.payloadLength, length > maxPayloadLength { throw tooLarge(length) }
        return framing
    }

    private static func declared(_ call: S3Call) throws(S3Error) -> BodyFraming {
        if isAWSChunked(call) {
            guard let raw = call.header("x-amz-decoded-content-length") else { throw S3Error(.missingContentLength) }
            guard let decoded = DecimalNumber.parse(raw, in: 0...Int64.max) else {
                throw S3Error(.invalidArgument, "x-amz-decoded-content-length must be a non-negative integer.")
            }
            return .awsChunked(decodedLength: decoded)
        }
        guard let raw = call.header("content-length") else {
            // HTTP/1.1 chunked transfer coding (curl -T -, streaming clients): the length is known at the end.
            if call.header("transfer-encoding")?.lowercased().contains("chunked") == true { return .plain(length: nil) }
            throw S3Error(.missingContentLength)
        }
        guard let length = DecimalNumber.parse(raw, in: 0...Int64.max) else {
            throw S3Error(.invalidArgument, "Content-Length must be a non-negative integer.")
        }
        return .plain(length: length)
    }
}

/// A request's object bytes as the store consumes them: batches of about 1 MiB, aws-chunked framing removed,
/// the declared length and every signature over the body checked before `stream` returns.
struct RequestPayload: PayloadSource {
    static let batchSize = 1 << 20

    let call: S3Call
    let framing: BodyFraming

    var length: Int64? { framing.payloadLength }

    /// Fails with IncompleteBody when the client sends fewer bytes than declared and with InvalidRequest when it
    /// sends more. Returns the aws-chunked trailers (empty for plain bodies).
    func stream(_ consume: @Sendable (ByteBuffer) async throws -> Void) async throws -> [(String, String)] {
        // Room for the read that crosses the batch size (NIO reads at most 64 KiB), so a batch never regrows.
        var buffers = BatchBuffers(capacity: Self.batchSize + (64 << 10))
        var pending = buffers.next()
        var received: Int64 = 0
        var decoder: AWSChunkedDecoder? = if case .awsChunked = framing { AWSChunkedDecoder() } else { nil }
        let verifier = PayloadVerifier(call.identity.payload)
        // Without a declared length, AWS's single-request limit bounds the body instead.
        let declared = framing.payloadLength
        let limit = declared ?? BodyFraming.maxPayloadLength
        do {
            for try await chunk in call.request.body {
                if decoder != nil {
                    try chunk.withUnsafeReadableBytes { raw in try verifier.decode(raw, with: &decoder!) { pending.writeBytes($0) } }
                    received = decoder!.decodedLength
                } else {
                    chunk.withUnsafeReadableBytes { verifier.update($0) }
                    received += Int64(chunk.readableBytes)
                    if pending.readableBytes == 0 && chunk.readableBytes >= Self.batchSize && received <= limit {
                        try await consume(chunk)
                        continue
                    }
                    var piece = chunk
                    pending.writeBuffer(&piece)
                }
                if received > limit {
                    if declared == nil { throw BodyFraming.tooLarge(received) }
                    throw S3Error(.invalidRequest, "The request body is longer than its declared length.")
                }
                if pending.readableBytes >= Self.batchSize {
                    try await consume(pending)
                    buffers.lend(pending)
                    pending = buffers.next()
                }
            }
        } catch let error as S3Error {
            throw error
        } catch {
            // The connection broke mid-body.
            throw S3Error(.incompleteBody)
        }
        call.bodyProgress.markFinished()
        try decoder?.finish()
        if pending.readableBytes > 0 { try await consume(pending) }
        guard received == declared ?? received else { throw S3Error(.incompleteBody) }
        try verifier.finish()
        return decoder?.trailers ?? []
    }
}
