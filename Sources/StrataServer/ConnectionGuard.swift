import HTTPTypes
import NIOCore
import NIOHTTPTypes

/// Per-connection protections between the HTTP codec and the responder:
/// - `Expect: 100-continue` is answered only once the responder has authenticated and authorized the request and
///   is about to read its body (it sends `ConnectionGuard.SendContinue`), so a refused upload is never invited.
///   Neither Hummingbird nor NIO's HTTP/1 pipeline answers it at all, and botocore sends it on every upload.
/// - The request head must arrive within `headerTimeout` of the connection opening or the previous response
///   ending: a client that trickles its head byte by byte is cut off (the idle timeout alone would not, since the
///   bytes keep moving).
/// - A response carrying `Connection: close` closes the connection once it is written, so the server never drains
///   a refused request's unread body.
final class ConnectionGuard: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    /// Sent by the responder through the channel when it starts reading a request body.
    struct SendContinue: Sendable {}

    private let headerTimeout: TimeAmount
    private var expectPending = false
    private var closeAfterResponse = false
    private var headerDeadline: Scheduled<Void>?
    /// When the connection started waiting for its next request head; nil while a request is being served.
    private var waitingSince: NIODeadline?

    init(headerTimeout: TimeAmount) {
        self.headerTimeout = headerTimeout
    }

    func handlerAdded(context: ChannelHandlerContext) {
        // Reads of up to 256 KiB (NIO's default stops at 64 KiB): a large upload then arrives in a quarter of the parts,
        // each crossing to the responder's task with its own hand-off. Starting at 16 KiB (not 2 KiB) takes a small
        // PUT's head and body in one read.
        let reads = AdaptiveRecvByteBufferAllocator(minimum: 1024, initial: 16 << 10, maximum: 256 << 10)
        _ = context.channel.setOption(ChannelOptions.recvAllocator, value: reads)
        if context.channel.isActive { armHeaderDeadline(context) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        headerDeadline?.cancel()
        headerDeadline = nil
    }

    func channelActive(context: ChannelHandlerContext) {
        if waitingSince == nil { armHeaderDeadline(context) }
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        headerDeadline?.cancel()
        headerDeadline = nil
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .head(let head) = unwrapInboundIn(data) {
            // The timer stays armed (rearming per request costs two syscalls); it finds the head arrived.
            waitingSince = nil
            expectPending = head.headerFields[.expect]?.lowercased() == "100-continue"
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(let head):
            if head.status.code >= 200 {
                expectPending = false
                if head.headerFields[.connection]?.lowercased() == "close" { closeAfterResponse = true }
            }
            context.write(data, promise: promise)
        case .body:
            context.write(data, promise: promise)
        case .end:
            if closeAfterResponse {
                let written = context.writeAndFlush(data)
                written.cascade(to: promise)
                let channel = context.channel
                written.whenComplete { _ in channel.close(promise: nil) }
            } else {
                context.write(data, promise: promise)
                armHeaderDeadline(context)
            }
        }
    }

    func triggerUserOutboundEvent(context: ChannelHandlerContext, event: Any, promise: EventLoopPromise<Void>?) {
        guard event is SendContinue else {
            context.triggerUserOutboundEvent(event, promise: promise)
            return
        }
        if expectPending {
            expectPending = false
            context.writeAndFlush(wrapOutboundOut(.head(HTTPResponse(status: .continue))), promise: promise)
        } else {
            promise?.succeed(())
        }
    }

    private func armHeaderDeadline(_ context: ChannelHandlerContext) {
        waitingSince = .now()
        if headerDeadline == nil { scheduleHeaderCheck(context, at: .now() + headerTimeout) }
    }

    /// One timer per connection, moved forward only when it fires while the connection waits for a later head.
    private func scheduleHeaderCheck(_ context: ChannelHandlerContext, at deadline: NIODeadline) {
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        headerDeadline = context.eventLoop.scheduleTask(deadline: deadline) {
            let (handler, context) = loopBound.value
            handler.headerDeadline = nil
            guard let since = handler.waitingSince else { return }
            let due = since + handler.headerTimeout
            if due <= .now() {
                context.channel.close(promise: nil)
            } else {
                handler.scheduleHeaderCheck(context, at: due)
            }
        }
    }
}
