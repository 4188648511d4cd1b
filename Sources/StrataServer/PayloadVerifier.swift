import Crypto
import S3Protocol

/// Proves a request body is what was signed: the whole-body SHA-256 of a signed payload, or the chained
/// signature of every aws-chunked chunk (and of the trailers). Nothing is published unless `finish` passes.
final class PayloadVerifier: @unchecked Sendable {
    private let check: PayloadCheck
    private var bodyHash = SHA256()
    private var chunkHash = SHA256()
    private var expectedChunkSignature: String?
    private var previousSignature: String
    private var trailerLines = ""
    private var trailerSignature: String?

    init(_ check: PayloadCheck) {
        self.check = check
        if case .signedChunks(let signing) = check { previousSignature = signing.seedSignature } else { previousSignature = "" }
    }

    /// Bytes of a plainly framed body.
    func update(_ bytes: UnsafeRawBufferPointer) {
        if case .sha256 = check { bodyHash.update(bufferPointer: bytes) }
    }

    /// Raw aws-chunked bytes: a plain digest covers them as sent (framing included), the decoder's events carry the
    /// chunk signatures, and the payload bytes go to `emit`.
    func decode(_ raw: UnsafeRawBufferPointer, with decoder: inout AWSChunkedDecoder, emit: (UnsafeRawBufferPointer) -> Void) throws {
        update(raw)
        try decoder.feed(raw) { event in
            try consume(event)
            if case .data(let payload) = event { emit(payload) }
        }
    }

    /// One event of an aws-chunked body.
    func consume(_ event: AWSChunkedDecoder.Event) throws {
        guard case .signedChunks(let signing) = check else { return }
        switch event {
        case .chunkStart(let chunk):
            guard let signature = chunk.signature else {
                throw S3Error(.signatureDoesNotMatch, "A chunk of the streaming upload carries no chunk-signature.")
            }
            expectedChunkSignature = signature.lowercased()
            chunkHash = SHA256()
        case .data(let bytes):
            chunkHash.update(bufferPointer: bytes)
        case .chunkEnd:
            let hash = SigV4.hex(chunkHash.finalize())
            let computed = SigV4.signature(
                key: signing.key,
                stringToSign: SigV4.chunkStringToSign(
                    amzDate: signing.amzDate,
                    scope: signing.scope,
                    previousSignature: previousSignature,
                    chunkHash: hash
                )
            )
            guard let expected = expectedChunkSignature, SigV4.constantTimeEquals(computed, expected) else {
                throw S3Error(.signatureDoesNotMatch, "The chunk signature we calculated does not match the signature you provided.")
            }
            previousSignature = computed
        case .trailer(let name, let value):
            if name == "x-amz-trailer-signature" {
                trailerSignature = value.lowercased()
            } else {
                trailerLines += "\(name):\(value)\n"
            }
        }
    }

    func finish() throws(S3Error) {
        switch check {
        case .none:
            return
        case .sha256(let expected):
            let actual = SigV4.hex(bodyHash.finalize())
            guard actual == expected else {
                throw S3Error(
                    .xAmzContentSHA256Mismatch,
                    "The provided 'x-amz-content-sha256' header does not match what was computed.",
                    details: [("ClientComputedContentSHA256", expected), ("S3ComputedContentSHA256", actual)]
                )
            }
        case .signedChunks(let signing):
            guard signing.hasTrailer else { return }
            guard let trailerSignature else {
                throw S3Error(.signatureDoesNotMatch, "The streaming upload's trailer carries no x-amz-trailer-signature.")
            }
            let computed = SigV4.signature(
                key: signing.key,
                stringToSign: SigV4.trailerStringToSign(
                    amzDate: signing.amzDate,
                    scope: signing.scope,
                    previousSignature: previousSignature,
                    trailerHash: SigV4.sha256Hex(Array(trailerLines.utf8))
                )
            )
            guard SigV4.constantTimeEquals(computed, trailerSignature) else {
                throw S3Error(.signatureDoesNotMatch, "The trailer signature we calculated does not match the signature you provided.")
            }
        }
    }
}
