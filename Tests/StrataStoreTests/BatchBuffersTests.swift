import NIOCore
import Testing

@testable import StrataStore

/// Upload batches reuse their memory once the store lets go of it, and never while it still holds it.
struct BatchBuffersTests {
    func address(_ buffer: ByteBuffer) -> UnsafeRawPointer? {
        buffer.withVeryUnsafeBytes { $0.baseAddress.map { UnsafeRawPointer($0) } }
    }

    @Test func aReleasedBatchIsReusedAndAHeldOneIsNot() {
        var buffers = BatchBuffers(capacity: 1 << 16, inFlight: 2)
        var held: [ByteBuffer] = []
        var addresses: [UnsafeRawPointer?] = []
        for round in 0..<2 {
            var batch = buffers.next()
            #expect(batch.readableBytes == 0)
            #expect(batch.capacity >= 1 << 16)
            batch.writeRepeatingByte(UInt8(round), count: 1 << 16)
            addresses.append(address(batch))
            held.append(batch)
            buffers.lend(batch)
        }
        // Both batches are still held by the consumer: the next one is new memory and the held bytes are intact.
        var third = buffers.next()
        #expect(!addresses.contains(address(third)))
        third.writeRepeatingByte(9, count: 16)
        #expect(held[0].getBytes(at: 0, length: 4) == [0, 0, 0, 0])
        buffers.lend(third)
        // The consumer lets go of the first two: the oldest lent memory comes back empty.
        held.removeAll()
        let fourth = buffers.next()
        #expect(address(fourth) == addresses[1])
        #expect(fourth.readableBytes == 0)
    }
}
