import HTTPTypes
import NIOCore
import NIOHTTP1
import NIOHTTPTypes

/// Writes an inline answer's head and body to the socket as one buffer, serialized here, instead of through the
/// HTTP types codec and NIO's HTTP/1 encoder: for a 4 KiB GET, converting the head to NIO's types and encoding it
/// there cost about a tenth of the server's time. Sits just above the HTTP types codec, so every handler above it
/// (idle and quiesce tracking, the header deadline, `Connection: close`) still sees the response's head and end
/// as usual; only the bytes take the short way, written from the encoder's context straight to the socket.
///
/// Only a response that `InlineReadHandler` announces with `serializeNext(bodyBytes:)` is taken, and only when its
/// framing is plain: a Content-Length and a body held in memory, or a status that has no body. Every other part
/// goes through the encoder.
///
/// The encoder is therefore not paired with the request decoder (a paired one expects a response head for every
/// request it decoded, and would frame the next response by a request already answered here). What the pairing
/// gave, this handler does instead: a response to HEAD carries no body and no chunked terminator.
final class SerializedResponses: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    /// NIO's HTTP/1 encoder's context: a write from it goes to the socket without being encoded.
    private var wire: ChannelHandlerContext?
    /// Whether each request still awaiting its response is a HEAD, oldest first.
    private var pendingIsHead = CircularBuffer<Bool>(initialCapacity: 2)
    /// The response being written answers a HEAD.
    private var answeringHead = false
    /// The next head is an announced inline answer.
    private var announced = false
    /// Room to reserve after the announced head, for its body.
    private var announcedBodyBytes = 0
    /// The announced response is being taken: its serialized head waits for the body, if there is one.
    private var taking = false
    private var pendingHead: ByteBuffer?

    func handlerAdded(context: ChannelHandlerContext) {
        wire = try? context.pipeline.syncOperations.context(handlerType: HTTPResponseEncoder.self)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        wire = nil
    }

    /// Whether the next response can be announced: the encoder is there to write under.
    var isAvailable: Bool { wire != nil }

    /// Announces that the next head written is an inline answer whose framing `canSerialize` accepted.
    func serializeNext(bodyBytes: Int) {
        announced = true
        announcedBodyBytes = bodyBytes
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .head(let request) = unwrapInboundIn(data) { pendingIsHead.append(request.method == .head) }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(let head):
            // An interim response (100 Continue) leaves its request waiting for the final one.
            if head.status.kind != .informational || head.status.code == 101 {
                answeringHead = pendingIsHead.popFirst() ?? false
            }
            guard announced, wire != nil else {
                context.write(data, promise: promise)
                return
            }
            announced = false
            taking = true
            pendingHead = Self.serialize(head, allocator: context.channel.allocator, bodyBytes: announcedBodyBytes)
            promise?.succeed()
        case .body(let body):
            if answeringHead {
                // As NIO's paired encoder does: refuse the bytes, so that the head and end stay a whole answer.
                promise?.fail(NIOHTTPResponseEncoderError.responseBodyNotAllowed)
            } else if taking, let wire {
                guard var bytes = pendingHead.take() else {
                    wire.write(NIOAny(IOData.byteBuffer(body)), promise: promise)
                    return
                }
                bytes.writeImmutableBuffer(body)
                wire.write(NIOAny(IOData.byteBuffer(bytes)), promise: promise)
            } else {
                context.write(data, promise: promise)
            }
        case .end:
            let wasTaking = taking
            taking = false
            guard wasTaking || answeringHead, let wire else {
                context.write(data, promise: promise)
                return
            }
            // A HEAD answer framed as chunked must not get the encoder's terminator: its end goes no further.
            answeringHead = false
            if let bytes = pendingHead.take() {
                wire.write(NIOAny(IOData.byteBuffer(bytes)), promise: promise)
            } else if let promise {
                // Completes in order after the bytes already written.
                wire.write(NIOAny(IOData.byteBuffer(context.channel.allocator.buffer(capacity: 0))), promise: promise)
            }
        }
    }

    /// Whether `head` with a body of `bodyBytes` (nil: no body) is framed plainly enough to be serialized here, as
    /// NIO's encoder would frame it: a body must be announced by a Content-Length of exactly its size (a HEAD
    /// answer announces the object's), and nothing may ask for chunked coding.
    static func canSerialize(_ head: HTTPResponse, bodyBytes: Int?, isHead: Bool) -> Bool {
        if head.headerFields[.transferEncoding] != nil { return false }
        if !mayHaveBody(head.status) { return true }
        guard let declared = head.headerFields[.contentLength], let length = Int(declared), length >= 0 else {
            return false
        }
        return isHead ? bodyBytes == nil : length == (bodyBytes ?? 0)
    }

    /// 1xx, 204 and 304 carry no body, and (as NIO's encoder does) no framing headers either.
    private static func mayHaveBody(_ status: HTTPResponse.Status) -> Bool {
        !(status.kind == .informational || status.code == 204 || status.code == 304)
    }

    /// The status line, the fields and the blank line, as NIO's encoder writes them for HTTP/1.1. Field values
    /// were legalized by HTTP types (no CR, LF or NUL can be in them).
    static func serialize(_ head: HTTPResponse, allocator: ByteBufferAllocator, bodyBytes: Int = 0) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: 1024 + bodyBytes)
        buffer.writeStaticString("HTTP/1.1 ")
        // HTTP types keeps every status code in 100...999: three digits.
        let code = head.status.code
        buffer.writeInteger(UInt8(truncatingIfNeeded: 48 + code / 100))
        buffer.writeInteger(UInt8(truncatingIfNeeded: 48 + code / 10 % 10))
        buffer.writeInteger(UInt8(truncatingIfNeeded: 48 + code % 10))
        buffer.writeInteger(UInt8(ascii: " "))
        buffer.writeString(head.status.reasonPhrase)
        buffer.writeStaticString("\r\n")
        let framed = mayHaveBody(head.status)
        for field in head.headerFields {
            if !framed && (field.name == .contentLength || field.name == .transferEncoding) { continue }
            buffer.writeString(field.name.rawName)
            buffer.writeStaticString(": ")
            buffer.writeString(field.value)
            buffer.writeStaticString("\r\n")
        }
        buffer.writeStaticString("\r\n")
        return buffer
    }
}
