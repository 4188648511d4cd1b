import Hummingbird
import NIOCore
import S3Protocol
import StrataStore

/// Reading request bodies: small XML documents are collected with a limit; object data is streamed.
enum BodyCollector {
    /// Collects a small body (an XML document) or fails with a precise error when it is too large.
    static func collect(_ request: Request, limit: Int) async throws -> [UInt8] {
        var collected: [UInt8] = []
        for try await chunk in request.body {
            guard collected.count + chunk.readableBytes <= limit else {
                throw S3Error(.malformedXML, "The XML document is larger than the \(limit) bytes this request allows.")
            }
            collected.append(contentsOf: chunk.readableBytesView)
        }
        return collected
    }
}

/// Streams a request body into an ObjectWriter in batches of about 1 MiB, so one upload holds at most one batch
/// in memory and each batch costs one hop to the I/O pool.
enum BodyStreamer {
    static let batchSize = 1 << 20

    /// Writes the body and returns the number of bytes received. Fails with IncompleteBody when the client sends
    /// fewer bytes than declared, and stops early with EntityTooLarge past `limit`.
    static func stream(_ request: Request, into writer: ObjectWriter, io: IOPool, declaredLength: Int64) async throws -> Int64 {
        var pending = ByteBuffer()
        var received: Int64 = 0
        do {
            for try await chunk in request.body {
                received += Int64(chunk.readableBytes)
                if received > declaredLength {
                    throw S3Error(.invalidRequest, "The request body is longer than its declared length.")
                }
                if pending.readableBytes == 0 && chunk.readableBytes >= batchSize {
                    try await flush(chunk, writer, io)
                    continue
                }
                var piece = chunk
                pending.writeBuffer(&piece)
                if pending.readableBytes >= batchSize {
                    try await flush(pending, writer, io)
                    pending = ByteBuffer()
                }
            }
        } catch let error as S3Error {
            throw error
        } catch {
            // The connection broke mid-body.
            throw S3Error(.incompleteBody)
        }
        if pending.readableBytes > 0 { try await flush(pending, writer, io) }
        guard received == declaredLength else {
            throw S3Error(.incompleteBody)
        }
        return received
    }

    private static func flush(_ buffer: ByteBuffer, _ writer: ObjectWriter, _ io: IOPool) async throws {
        try await io.run {
            try buffer.withUnsafeReadableBytes { bytes throws(S3Error) in try writer.write(bytes) }
        }
    }
}
