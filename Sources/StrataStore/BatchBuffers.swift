import NIOCore

/// The buffers an upload's batches are gathered in, reused once the store has let go of them. A fresh megabyte per
/// batch costs an `mmap`, 256 page faults that zero it and an `munmap` (glibc maps blocks above 512 KiB, see
/// `MemoryTuning`), and a buffer grown by doubling copies its bytes four times on the way to a megabyte.
public struct BatchBuffers {
    /// Batches handed to the store that may still be in use; the oldest is reused once the store has let go.
    private var lent: [ByteBuffer] = []
    private let capacity: Int
    private let kept: Int

    /// `capacity` should leave room for the one read that crosses the batch size; `inFlight` is how many batches
    /// the consumer may hold at once (`WritePipeline.depth` plus the one being submitted).
    public init(capacity: Int, inFlight: Int = WritePipeline.defaultDepth + 1) {
        self.capacity = capacity
        self.kept = max(1, inFlight)
    }

    /// An empty buffer of at least `capacity` bytes: the oldest lent one when nothing else holds it any more,
    /// new memory otherwise (`clear` copies on write, so a buffer still being stored is never overwritten).
    public mutating func next() -> ByteBuffer {
        var buffer = lent.count >= kept ? lent.removeFirst() : ByteBuffer()
        buffer.clear(minimumCapacity: capacity)
        return buffer
    }

    /// Records a batch given to the consumer so that its memory can be reused after the consumer is done with it.
    public mutating func lend(_ buffer: ByteBuffer) {
        lent.append(buffer)
    }
}
