import HTTPTypes
import NIOCore
import NIOEmbedded
import NIOHTTP1
import NIOHTTPTypes
import NIOHTTPTypesHTTP1
import Testing

@testable import StrataServer

/// An inline answer serialized below the HTTP types codec leaves as the same bytes NIO's encoder would write, and
/// handlers above still see its head and end.
@Suite struct SerializedResponsesTests {
    /// Records the response parts that pass on their way down, as the idle and header-deadline handlers see them.
    final class PartRecorder: ChannelOutboundHandler {
        typealias OutboundIn = HTTPResponsePart
        var parts: [String] = []
        func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
            switch unwrapOutboundIn(data) {
            case .head(let head): parts.append("head \(head.status.code)")
            case .body(let body): parts.append("body \(body.readableBytes)")
            case .end: parts.append("end")
            }
            context.write(data, promise: promise)
        }
    }

    /// The server pipeline as S3Channel builds it, with a recorder where the connection handlers sit; or, as the
    /// reference, NIO's own server pipeline (its encoder paired with the decoder) without SerializedResponses.
    static func pipeline(reference: Bool) throws -> (EmbeddedChannel, SerializedResponses?, PartRecorder) {
        let channel = EmbeddedChannel()
        let recorder = PartRecorder()
        let pipeline = channel.pipeline.syncOperations
        if reference {
            try pipeline.configureHTTPServerPipeline(withPipeliningAssistance: false, withErrorHandling: false)
            try pipeline.addHandler(HTTP1ToHTTPServerCodec(secure: false))
        } else {
            try S3Channel.addCodecs(pipeline, limits: .init())
        }
        try pipeline.addHandler(recorder)
        return (channel, reference ? nil : try pipeline.handler(type: SerializedResponses.self), recorder)
    }

    /// Answers a GET with a chunked body (leaving NIO's encoder as after a pooled listing), then a `method` request
    /// with head, optional body and end, announced or not; returns every byte of the second answer.
    static func wireBytes(
        _ head: HTTPResponse,
        body: String?,
        method: String = "GET",
        announced: Bool = false,
        reference: Bool = false
    ) throws -> (String, [String]) {
        let (channel, serializer, recorder) = try pipeline(reference: reference)
        defer { _ = try? channel.finish() }
        try channel.writeInbound(ByteBuffer(string: "GET /first HTTP/1.1\r\nHost: x\r\n\r\n\(method) /second HTTP/1.1\r\nHost: x\r\n\r\n"))
        channel.write(HTTPResponsePart.head(HTTPResponse(status: .ok)), promise: nil)
        channel.write(HTTPResponsePart.body(ByteBuffer(string: "abc")), promise: nil)
        try channel.writeAndFlush(HTTPResponsePart.end(nil)).wait()
        while try channel.readOutbound(as: IOData.self) != nil {}
        recorder.parts = []

        let bodyBuffer = body.map { ByteBuffer(string: $0) }
        if announced, let serializer {
            #expect(SerializedResponses.canSerialize(head, bodyBytes: bodyBuffer?.readableBytes, isHead: method == "HEAD"))
            serializer.serializeNext(bodyBytes: bodyBuffer?.readableBytes ?? 0)
        }
        channel.write(HTTPResponsePart.head(head), promise: nil)
        if let bodyBuffer { channel.write(HTTPResponsePart.body(bodyBuffer), promise: nil) }
        try channel.writeAndFlush(HTTPResponsePart.end(nil)).wait()
        var bytes = ByteBuffer()
        while let part = try channel.readOutbound(as: IOData.self) {
            guard case .byteBuffer(var buffer) = part else {
                Issue.record("file region")
                continue
            }
            bytes.writeBuffer(&buffer)
        }
        return (String(buffer: bytes), recorder.parts)
    }

    static func object(length: Int) -> HTTPResponse {
        var fields = HTTPFields()
        fields[.contentLength] = String(length)
        fields[.eTag] = "\"900150983cd24fb0d6963f7d28e17f72\""
        fields[.contentType] = "application/octet-stream"
        fields[HTTPField.Name("x-amz-meta-colour")!] = "blue, green"
        fields[.date] = "Wed, 02 Dec 2026 15:00:00 GMT"
        return HTTPResponse(status: .ok, headerFields: fields)
    }

    @Test func getAnswerIsByteForByteWhatNIOWrites() throws {
        let head = Self.object(length: 5)
        let (serialized, seen) = try Self.wireBytes(head, body: "hello", announced: true)
        let (encoded, _) = try Self.wireBytes(head, body: "hello", reference: true)
        #expect(serialized == encoded)
        #expect(serialized.hasPrefix("HTTP/1.1 200 OK\r\n"))
        #expect(serialized.hasSuffix("\r\n\r\nhello"))
        #expect(seen == ["head 200", "body 5", "end"])
    }

    @Test func headAndBodilessAnswersMatchToo() throws {
        var notModified = HTTPResponse(status: .notModified)
        notModified.headerFields[.eTag] = "\"x\""
        notModified.headerFields[.contentLength] = "12"
        var missing = HTTPResponse(status: .notFound)
        missing.headerFields[.contentType] = "application/xml"
        missing.headerFields[.contentLength] = "0"
        for (head, body, method) in [
            (Self.object(length: 4096), nil as String?, "HEAD"),
            (notModified, nil, "GET"),
            (missing, "", "GET"),
            (missing, nil, "HEAD"),
            (HTTPResponse(status: .noContent), nil, "GET"),
        ] {
            let (serialized, seen) = try Self.wireBytes(head, body: body, method: method, announced: true)
            let (encoded, _) = try Self.wireBytes(head, body: body, method: method, reference: true)
            #expect(serialized == encoded, "\(head.status) \(method)")
            #expect(seen.first == "head \(head.status.code)" && seen.last == "end")
        }
        // No framing header on a status without a body, as NIO's encoder leaves none.
        let (serialized, _) = try Self.wireBytes(notModified, body: nil, announced: true)
        #expect(!serialized.lowercased().contains("content-length"))
    }

    @Test func headAnswersThroughTheEncoderStayBodiless() throws {
        // Pooled HEAD answers: with a length, and framed as chunked for want of one; a body written by mistake is
        // refused, and no chunked terminator follows, as with NIO's paired encoder.
        for head in [Self.object(length: 4096), HTTPResponse(status: .ok)] {
            let (bytes, _) = try Self.wireBytes(head, body: "stray", method: "HEAD")
            let (reference, _) = try Self.wireBytes(head, body: "stray", method: "HEAD", reference: true)
            #expect(bytes == reference)
            #expect(bytes.hasSuffix("\r\n\r\n") && !bytes.contains("stray") && !bytes.hasSuffix("0\r\n\r\n"))
        }
    }

    @Test func framingThatIsNotPlainIsRefused() {
        let object = Self.object(length: 5)
        #expect(!SerializedResponses.canSerialize(object, bodyBytes: 4, isHead: false))
        #expect(!SerializedResponses.canSerialize(object, bodyBytes: 5, isHead: true))
        #expect(!SerializedResponses.canSerialize(HTTPResponse(status: .ok), bodyBytes: 0, isHead: false))
        var chunked = object
        chunked.headerFields[.transferEncoding] = "chunked"
        #expect(!SerializedResponses.canSerialize(chunked, bodyBytes: 5, isHead: false))
        var bogus = object
        bogus.headerFields[.contentLength] = "-5"
        #expect(!SerializedResponses.canSerialize(bogus, bodyBytes: 5, isHead: false))
    }

    @Test func unannouncedResponsesPassThrough() throws {
        let (bytes, seen) = try Self.wireBytes(HTTPResponse(status: .ok), body: "streamed")
        let (reference, _) = try Self.wireBytes(HTTPResponse(status: .ok), body: "streamed", reference: true)
        #expect(bytes == reference && bytes.lowercased().contains("transfer-encoding: chunked"))
        #expect(seen == ["head 200", "body 8", "end"])
    }
}
