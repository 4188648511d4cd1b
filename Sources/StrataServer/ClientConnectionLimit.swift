import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import S3Protocol
import Synchronization

/// How many connections each client IP address holds on a listener, inside the listener's global cap: one client
/// holding many unfinished request heads cannot take every slot. An IPv4-mapped IPv6 address counts as its IPv4
/// address. A connection counts from its setup until its channel closes.
final class ClientConnectionLimit: Sendable {
    /// An IP address as 16 bytes, big-endian halves; IPv4 in its IPv4-mapped IPv6 form (`::ffff:a.b.c.d`).
    struct Address: Hashable, Sendable {
        let high: UInt64
        let low: UInt64
    }

    enum Admission: Equatable {
        /// Not an IP connection (a Unix socket): not limited.
        case untracked
        case admitted(Address)
        case refused
    }

    private struct State {
        var counts: [Address: Int] = [:]
        var total = 0
    }

    let maximum: Int
    private let state = Mutex(State())
    private let refusals = Atomic<Int>(0)

    init(maximum: Int) {
        self.maximum = maximum
    }

    /// The address of a TCP peer; nil for anything else. Read from the socket address's bytes, where POSIX (Linux
    /// and the BSDs alike) puts an IPv4 address at offset 4 of `sockaddr_in` and an IPv6 one at offset 8 of
    /// `sockaddr_in6`.
    static func address(of socket: SocketAddress?) -> Address? {
        guard let socket else { return nil }
        switch socket {
        case .v4:
            return socket.withSockAddr { pointer, size in
                guard size >= 8 else { return nil }
                let raw = UnsafeRawPointer(pointer)
                return Address(high: 0, low: 0x0000_FFFF_0000_0000 | UInt64(UInt32(bigEndian: raw.loadUnaligned(fromByteOffset: 4, as: UInt32.self))))
            }
        case .v6:
            return socket.withSockAddr { pointer, size in
                guard size >= 24 else { return nil }
                let raw = UnsafeRawPointer(pointer)
                return Address(
                    high: UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self)),
                    low: UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: 16, as: UInt64.self))
                )
            }
        case .unixDomainSocket:
            return nil
        }
    }

    /// Counts a new connection from `socket`, unless its address already holds `maximum`.
    func admit(_ socket: SocketAddress?) -> Admission {
        guard let address = Self.address(of: socket) else { return .untracked }
        let admitted = state.withLock { state in
            let held = state.counts[address, default: 0]
            guard held < maximum else { return false }
            state.counts[address] = held + 1
            state.total += 1
            return true
        }
        guard admitted else {
            refusals.add(1, ordering: .relaxed)
            return .refused
        }
        return .admitted(address)
    }

    /// An admitted connection closed (or was never set up).
    func release(_ address: Address) {
        state.withLock { state in
            guard let held = state.counts[address] else { return }
            if held > 1 { state.counts[address] = held - 1 } else { state.counts.removeValue(forKey: address) }
            state.total -= 1
        }
    }

    /// Connections counted, the addresses holding them, and connections refused so far (metrics and tests).
    var usage: (connections: Int, addresses: Int, refused: Int) {
        let (connections, addresses) = state.withLock { ($0.total, $0.counts.count) }
        return (connections, addresses, refusals.load(ordering: .relaxed))
    }
}

/// A listener's connections with the per-address limit in front of `base`. An admitted connection is released when
/// its channel closes; one over the limit is answered by `RefusedConnection` and closed before a request is read.
struct ClientLimitedChannel<Base: ServerChildChannel>: ServerChildChannel {
    typealias Value = Base.Value

    let base: Base
    let limit: ClientConnectionLimit

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        let limit = self.limit
        switch limit.admit(channel.remoteAddress) {
        case .untracked:
            return base.setup(channel: channel, logger: logger)
        case .admitted(let address):
            return base.setup(channel: channel, logger: logger)
                .map { value in
                    channel.closeFuture.whenComplete { _ in limit.release(address) }
                    return value
                }
                .flatMapErrorThrowing { error in
                    // A channel whose setup failed is never registered, so never closed: release it here.
                    limit.release(address)
                    throw error
                }
        case .refused:
            // The base pipeline is built as usual (Hummingbird then serves a channel that ends at once); the refusal
            // sits in front of it, next to the socket.
            return base.setup(channel: channel, logger: logger).flatMapThrowing { value in
                try channel.pipeline.syncOperations.addHandler(RefusedConnection(), position: .first)
                return value
            }
        }
    }

    func handle(value: Value, logger: Logger) async {
        await base.handle(value: value, logger: logger)
    }
}

/// Answers a connection over its address's limit with 503 SlowDown and `Connection: close`, written straight to the
/// socket, then closes it; nothing the client sends is passed on.
///
/// The answer goes out once the first read has taken what the client sent (a client sends its request head right
/// after connecting, usually before the server accepts), or after `grace` when nothing came: closing a socket with
/// unread input would reset it, and the client would see a reset instead of the answer. SDKs back off on SlowDown
/// (and retry a reset as well). The wait is short and bounded because a refused connection holds a slot of the
/// global cap while it waits: one address opening connections as fast as the server accepts them holds at most
/// its rate times `grace` more.
final class RefusedConnection: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer

    static let grace = TimeAmount.milliseconds(20)
    private var answered = false
    private var deadline: Scheduled<Void>?

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { start(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        context.fireChannelActive()
        start(context)
    }

    func channelInactive(context: ChannelHandlerContext) {
        deadline?.cancel()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {}

    func channelReadComplete(context: ChannelHandlerContext) {
        refuse(context)
    }

    private func start(_ context: ChannelHandlerContext) {
        guard deadline == nil, !answered else { return }
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        deadline = context.eventLoop.scheduleTask(in: Self.grace) {
            let (handler, context) = bound.value
            handler.refuse(context)
        }
        context.read()
    }

    private func refuse(_ context: ChannelHandlerContext) {
        guard !answered else { return }
        answered = true
        deadline?.cancel()
        let channel = context.channel
        context.writeAndFlush(NIOAny(channel.allocator.buffer(string: Self.answer()))).whenComplete { _ in
            channel.close(promise: nil)
        }
    }

    static func answer() -> String {
        let requestID = RequestIDs.resolve(nil)
        let error = S3Error(.slowDown, "Please reduce your request rate: too many connections from your address.")
        let document = Responses.errorDocument(error, requestID: requestID, resource: "/")
        return "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/xml\r\nContent-Length: \(document.utf8.count)\r\n"
            + "Connection: close\r\nx-amz-request-id: \(requestID)\r\n\r\n" + document
    }
}
