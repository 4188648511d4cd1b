import NIOCore
import S3Protocol

/// A body of unknown length, written to an anonymous temporary file in its bucket so that it can be sent on with
/// its length declared (an upstream PUT needs one). Memory stays flat; the file vanishes with this value.
public struct SpooledPayload: PayloadSource {
    let writer: ObjectWriter
    let io: IOPool
    let size: Int64
    let trailers: [(String, String)]

    public var length: Int64? { size }

    public func stream(_ consume: @Sendable (ByteBuffer) async throws -> Void) async throws -> [(String, String)] {
        var offset: Int64 = 0
        let file = writer.file
        while offset < size {
            let count = Int(min(Int64(FileChunks.chunkSize), size - offset))
            let position = offset
            let chunk = try await io.run { try FileChunks.read(file: file, at: position, count: count) }
            try await consume(chunk)
            offset += Int64(count)
        }
        return trailers
    }

    /// Drops the temporary file now rather than when the last copy of this value goes.
    public func discard() { writer.discard() }
}

extension LocalStorage {
    /// Spools `body` when its length is unknown; a body of known length is returned as it is.
    public func withKnownLength(_ body: any PayloadSource, bucket: String) async throws -> any PayloadSource {
        guard body.length == nil else { return body }
        let writer = try await run { store in
            let directory = try store.openBucket(bucket)
            return try ObjectWriter(store: store, directory: directory, name: ReservedNames.temporaryPrefix + "spool")
        }
        let io = io
        do {
            let trailers = try await body.stream { buffer in
                try await io.run { try buffer.withUnsafeReadableBytes { bytes throws(S3Error) in try writer.writeUnhashed(bytes) } }
            }
            return SpooledPayload(writer: writer, io: io, size: writer.bytesWritten, trailers: trailers)
        } catch {
            writer.discard()
            throw error
        }
    }
}
