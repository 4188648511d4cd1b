import HTTPTypes
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import NIOHTTPTypesHTTP1
import StrataStore

/// The S3 listener's HTTP/1 connection: Hummingbird's pipeline (codec, the additional handlers, idle and quiesce
/// handling, the async channel the responder reads from) with `InlineReadHandler` just before the async channel,
/// where it can answer small GETs and HEADs on the event loop, and `SerializedResponses` just above the codec,
/// which writes those answers as one buffer.
struct S3Channel: ServerChildChannel, HTTPChannelHandler {
    typealias Value = NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>

    let responder: HTTPChannelHandler.Responder
    let configuration: HTTP1Channel.Configuration
    /// Makes each connection's inline handler; nil when nothing is answered inline.
    let inlineHandler: (@Sendable () -> InlineReadHandler)?

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        channel.eventLoop.makeCompletedFuture {
            var limits = NIOHTTPDecoderLimitConfiguration()
            limits.maxHeaderFieldSize = configuration.httpDecoder.maxHeaderFieldSize
            limits.maxHeaderListSize = configuration.httpDecoder.maxHeaderListSize
            limits.maxHeaderFieldCount = configuration.httpDecoder.maxHeaderFieldCount
            let pipeline = channel.pipeline.syncOperations
            try Self.addCodecs(pipeline, limits: limits)
            try pipeline.addHandlers(configuration.additionalChannelHandlers())
            try pipeline.addHandler(HTTPConnectionStateHandler(idleTimeout: configuration.idleTimeout.map { .init($0) }, logger: logger))
            // After the idle handler, so that requests answered inline count as activity and finish before a quiesce.
            if let inlineHandler { try pipeline.addHandler(inlineHandler()) }
            return try NIOAsyncChannel(wrappingChannelSynchronously: channel, configuration: .init(isOutboundHalfClosureEnabled: true))
        }
    }

    /// NIO's HTTP/1 server codec (without pipelining assistance, error handling or header validation), the HTTP
    /// types codec and `SerializedResponses`. The encoder is left unpaired: `SerializedResponses` frames HEAD
    /// answers instead (see there).
    static func addCodecs(_ pipeline: ChannelPipeline.SynchronousOperations, limits: NIOHTTPDecoderLimitConfiguration) throws {
        let encoder = HTTPResponseEncoder(configuration: .init())
        let decoder = HTTPRequestDecoder(leftOverBytesStrategy: .dropBytes, informationalResponseStrategy: .drop, limitConfiguration: limits)
        try pipeline.addHandlers([encoder, ByteToMessageHandler(decoder)])
        try pipeline.addHandler(HTTP1ToHTTPServerCodec(secure: false))
        try pipeline.addHandler(SerializedResponses())
    }

    func handle(value asyncChannel: Value, logger: Logger) async {
        await handleHTTP(asyncChannel: asyncChannel, logger: logger)
    }
}

/// Answers a GET or HEAD on the event loop when the responder can (`S3Responder.respondInline`), and hands every
/// other request, unchanged, to Hummingbird's async channel. A file body goes to NIO's HTTP/1 encoder as a
/// `FileRegion`, which NIO writes with `sendfile`: below the HTTP types codec, which carries only byte buffers.
///
/// Responses must leave in request order. The async channel answers its requests one after another, so a request
/// is answered inline only while the async side owes no response; once one request has gone there, every later
/// one follows it until its response has been written.
///
/// A file body's response ends (`.end` goes down the pipeline) only once the kernel has taken the whole region, as
/// a pooled response ends after its last chunk: the idle timeout, the header deadline of the next request and a
/// graceful shutdown's quiesce all start from a response's end, and must not cut a long download short. Requests
/// arriving meanwhile wait in `queued`, and no more bytes are read from the socket, until then.
final class InlineReadHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private let respond: (HTTPRequest, any Channel, _ sendsFiles: Bool) -> BufferedResponse?
    /// The HTTP types codec's context: writing through it reaches NIO's HTTP/1 encoder, which takes file regions.
    private var encoderSide: ChannelHandlerContext?
    /// Writes an answer held in memory as one serialized buffer.
    private var serializer: SerializedResponses?
    /// A GET or HEAD head held until its end arrives (it may still turn out to have a body).
    private var held: HTTPRequest?
    /// Requests handed to the async channel whose responses have not ended yet.
    private var owed = 0
    /// A file body is being sent; its response has not ended yet.
    private var sending = false
    /// Request parts that arrived while a file body was being sent, in order.
    private var queued: [HTTPRequestPart] = []
    /// A read the channel asked for while a file body was being sent.
    private var readDeferred = false

    init(respond: @escaping (HTTPRequest, any Channel, _ sendsFiles: Bool) -> BufferedResponse?) {
        self.respond = respond
    }

    func handlerAdded(context: ChannelHandlerContext) {
        encoderSide = try? context.pipeline.syncOperations.context(handlerType: HTTP1ToHTTPServerCodec.self)
        serializer = try? context.pipeline.syncOperations.handler(type: SerializedResponses.self)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        encoderSide = nil
        serializer = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if sending {
            queued.append(unwrapInboundIn(data))
            return
        }
        switch unwrapInboundIn(data) {
        case .head(let head):
            if owed == 0 && held == nil && (head.method == .get || head.method == .head) {
                held = head
                return
            }
            handOver(head, context)
        case .body:
            if let head = held {
                held = nil
                handOver(head, context)
            }
            context.fireChannelRead(data)
        case .end:
            if let head = held {
                held = nil
                if context.channel.isWritable, let answer = respond(head, context.channel, encoderSide != nil) {
                    write(answer, isHead: head.method == .head, context)
                    return
                }
                handOver(head, context)
            }
            context.fireChannelRead(data)
        }
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) { owed -= 1 }
        context.write(data, promise: promise)
    }

    func read(context: ChannelHandlerContext) {
        if sending {
            readDeferred = true
            return
        }
        context.read()
    }

    /// The file body is in the kernel's hands (or failed): the response ends, and what waited goes on.
    private func fileSent(_ result: Result<Void, any Error>, _ context: ChannelHandlerContext) {
        sending = false
        guard case .success = result else {
            queued = []
            context.close(promise: nil)
            return
        }
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        let waiting = queued
        queued = []
        // A replayed request may start another file body: the rest then queue again, in order.
        for part in waiting { channelRead(context: context, data: wrapInboundOut(part)) }
        if !waiting.isEmpty { context.fireChannelReadComplete() }
        if readDeferred && !sending {
            readDeferred = false
            context.read()
        }
    }

    private func handOver(_ head: HTTPRequest, _ context: ChannelHandlerContext) {
        owed += 1
        context.fireChannelRead(wrapInboundOut(.head(head)))
    }

    /// A file another program truncates in place while it is being sent makes `sendfile` return 0 at the new end,
    /// which NIO retries at once, forever, spinning the event loop. Once a second the file's size is checked, and
    /// the connection closed when the region now reaches past the end (the client sees a short body, as with nginx).
    private static func watchForTruncation(_ region: FileRegion, _ channel: any Channel) -> RepeatedTask {
        let end = region.endIndex
        let handle = region.fileHandle
        return channel.eventLoop.scheduleRepeatedTask(initialDelay: .seconds(1), delay: .seconds(1)) { task in
            // A descriptor already closed, or a failed fstat, counts as truncated.
            let size = (try? handle.withUnsafeFileDescriptor { Sys.size($0) }) ?? nil
            if (size ?? 0) < end {
                task.cancel()
                channel.close(promise: nil)
            }
        }
    }

    /// An answer held in memory with plain framing leaves as one buffer serialized below the HTTP types codec.
    private func announceSerialization(_ answer: BufferedResponse, isHead: Bool) {
        guard let serializer, serializer.isAvailable else { return }
        let bodyBytes: Int?
        switch answer.body {
        case .buffer(let body)?: bodyBytes = body.readableBytes
        case .file?: return
        case nil: bodyBytes = nil
        }
        if SerializedResponses.canSerialize(answer.head, bodyBytes: bodyBytes, isHead: isHead) {
            serializer.serializeNext(bodyBytes: bodyBytes ?? 0)
        }
    }

    /// Head, body and end in one flush: one buffer serialized by `SerializedResponses` for the whole answer (or
    /// NIO's encoder's head and body in one `writev` where the framing is not plain), or the head, then `sendfile`
    /// for a file and the end once it is sent.
    private func write(_ answer: BufferedResponse, isHead: Bool, _ context: ChannelHandlerContext) {
        announceSerialization(answer, isHead: isHead)
        context.write(wrapOutboundOut(.head(answer.head)), promise: nil)
        switch answer.body {
        case .buffer(let body)? where body.readableBytes > 0:
            context.write(wrapOutboundOut(.body(body)), promise: nil)
        case .file(let region)?:
            guard let encoderSide else {
                try? region.fileHandle.close()
                context.close(promise: nil)
                return
            }
            sending = true
            let handle = region.fileHandle
            let written = context.eventLoop.makePromise(of: Void.self)
            let watch = Self.watchForTruncation(region, context.channel)
            let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            written.futureResult.whenComplete { result in
                watch.cancel()
                try? handle.close()
                let (handler, context) = bound.value
                handler.fileSent(result, context)
            }
            encoderSide.writeAndFlush(NIOAny(HTTPServerResponsePart.body(.fileRegion(region))), promise: written)
            return
        case .buffer?, nil: break
        }
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }
}
