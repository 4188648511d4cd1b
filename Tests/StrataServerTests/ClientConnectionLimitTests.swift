import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOEmbedded
import Testing

@testable import StrataServer

/// The per-client-address connection limit: addresses as the limit keys them, the refusal a connection over it gets,
/// and counts that return to zero whatever way connections end.
@Suite struct ClientConnectionLimitTests {
    static func address(_ text: String, port: Int = 40000) throws -> SocketAddress {
        try SocketAddress(ipAddress: text, port: port)
    }

    @Test func ipv4AndIPv4MappedIPv6AreOneAddress() throws {
        let v4 = ClientConnectionLimit.address(of: try Self.address("192.0.2.7"))
        let mapped = ClientConnectionLimit.address(of: try Self.address("::ffff:192.0.2.7", port: 1))
        #expect(v4 != nil && v4 == mapped)
        #expect(v4 == ClientConnectionLimit.Address(high: 0, low: 0x0000_FFFF_C000_0207))
        let v6 = ClientConnectionLimit.address(of: try Self.address("2001:db8::7"))
        #expect(v6 == ClientConnectionLimit.Address(high: 0x2001_0DB8_0000_0000, low: 7))
        #expect(ClientConnectionLimit.address(of: try Self.address("::1")) != ClientConnectionLimit.address(of: try Self.address("127.0.0.1")))
        #expect(ClientConnectionLimit.address(of: try SocketAddress(unixDomainSocketPath: "/tmp/s")) == nil)
        #expect(ClientConnectionLimit.address(of: nil) == nil)
    }

    @Test func countsPerAddressAndReleases() throws {
        let limit = ClientConnectionLimit(maximum: 2)
        let first = limit.admit(try Self.address("10.0.0.1", port: 1))
        let second = limit.admit(try Self.address("::ffff:10.0.0.1", port: 2))
        #expect(limit.admit(try Self.address("10.0.0.1", port: 3)) == .refused)
        let other = limit.admit(try Self.address("10.0.0.2"))
        #expect(limit.admit(try SocketAddress(unixDomainSocketPath: "/tmp/s")) == .untracked)
        #expect(limit.usage == (3, 2, 1))
        for admission in [first, second, other] {
            guard case .admitted(let address) = admission else {
                Issue.record("not admitted: \(admission)")
                continue
            }
            limit.release(address)
        }
        #expect(limit.usage == (0, 0, 1))
        // A release of an address holding nothing is ignored: counts never go negative.
        limit.release(ClientConnectionLimit.Address(high: 0, low: 1))
        #expect(limit.usage == (0, 0, 1))
    }

    /// A listener's own channel setup: records what reaches the handlers behind the limit.
    struct Recording: ServerChildChannel {
        struct Value: ServerChildChannelValue {
            let channel: any Channel
        }
        final class Recorder: ChannelInboundHandler, Sendable {
            typealias InboundIn = ByteBuffer
            func channelRead(context: ChannelHandlerContext, data: NIOAny) {
                Issue.record("a refused connection's bytes reached the listener's pipeline")
            }
        }
        func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
            channel.eventLoop.makeCompletedFuture {
                try channel.pipeline.syncOperations.addHandler(Recorder())
                return Value(channel: channel)
            }
        }
        func handle(value: Value, logger: Logger) async {}
    }

    /// A connection from `remote` set up through the limit, then made active.
    static func connect(_ limited: ClientLimitedChannel<Recording>, from remote: String, port: Int) throws -> EmbeddedChannel {
        let channel = EmbeddedChannel()
        channel.remoteAddress = try address(remote, port: port)
        _ = try limited.setup(channel: channel, logger: Logger(label: "test")).wait()
        try channel.connect(to: try address("127.0.0.1", port: 9000)).wait()
        return channel
    }

    /// Closes a connection and runs its loop, where the channel's close future completes.
    static func close(_ channel: EmbeddedChannel) throws {
        try channel.close().wait()
        channel.embeddedEventLoop.run()
    }

    /// The connection was answered 503 SlowDown, with `Connection: close` and a well-framed document, and closed.
    static func expectSlowDown(_ channel: EmbeddedChannel) throws {
        var written = ByteBuffer()
        while var part = try channel.readOutbound(as: ByteBuffer.self) { written.writeBuffer(&part) }
        let answer = String(buffer: written)
        #expect(answer.hasPrefix("HTTP/1.1 503 Service Unavailable\r\n"))
        #expect(answer.contains("\r\nConnection: close\r\n") && answer.contains("<Code>SlowDown</Code>"))
        let parts = answer.split(separator: "\r\n\r\n", maxSplits: 1).map(String.init)
        #expect(parts.count == 2 && parts[0].contains("Content-Length: \(parts.last?.utf8.count ?? -1)\r\n"))
        #expect(!channel.isActive)
    }

    @Test func aConnectionOverTheLimitIsAnsweredSlowDownAndClosed() throws {
        let limit = ClientConnectionLimit(maximum: 2)
        let limited = ClientLimitedChannel(base: Recording(), limit: limit)
        let held = [try Self.connect(limited, from: "127.0.0.1", port: 1), try Self.connect(limited, from: "::ffff:127.0.0.1", port: 2)]
        #expect(limit.usage == (2, 1, 0))
        for channel in held { #expect(channel.isActive) }

        // Refused: answered once what it sent is read (and dropped, never reaching the listener's pipeline)...
        let refused = try Self.connect(limited, from: "127.0.0.1", port: 3)
        #expect(try refused.readOutbound(as: ByteBuffer.self) == nil)
        try refused.writeInbound(ByteBuffer(string: "GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
        try Self.expectSlowDown(refused)
        // ... or, when it sends nothing, once the grace period is over.
        let silent = try Self.connect(limited, from: "::ffff:127.0.0.1", port: 4)
        silent.embeddedEventLoop.advanceTime(by: RefusedConnection.grace - .milliseconds(1))
        #expect(try silent.readOutbound(as: ByteBuffer.self) == nil && silent.isActive)
        silent.embeddedEventLoop.advanceTime(by: .milliseconds(1))
        try Self.expectSlowDown(silent)
        #expect(limit.usage == (2, 1, 2))

        // Another address is admitted; closing every connection brings the counts back to zero.
        let other = try Self.connect(limited, from: "2001:db8::1", port: 4)
        #expect(limit.usage == (3, 2, 2))
        for channel in held + [other] { try Self.close(channel) }
        #expect(limit.usage == (0, 0, 2))
        let again = try Self.connect(limited, from: "127.0.0.1", port: 5)
        #expect(again.isActive && limit.usage == (1, 1, 2))
        try Self.close(again)
        #expect(limit.usage.connections == 0)
    }

    /// A setup that fails leaves the channel unregistered, so its close never comes: the count is released at once.
    @Test func aFailedSetupReleasesItsCount() throws {
        struct FailingSetup: ServerChildChannel {
            typealias Value = Recording.Value
            struct Failure: Error {}
            func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> { channel.eventLoop.makeFailedFuture(Failure()) }
            func handle(value: Value, logger: Logger) async {}
        }
        let limit = ClientConnectionLimit(maximum: 1)
        let limited = ClientLimitedChannel(base: FailingSetup(), limit: limit)
        let channel = EmbeddedChannel()
        channel.remoteAddress = try Self.address("10.1.1.1")
        #expect(throws: FailingSetup.Failure.self) { try limited.setup(channel: channel, logger: Logger(label: "test")).wait() }
        #expect(limit.usage == (0, 0, 0))
    }
}
