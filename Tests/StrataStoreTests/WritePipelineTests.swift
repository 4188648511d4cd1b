import Synchronization
import Testing

@testable import StrataStore

/// The upload pipeline: each lane keeps batch order, the hash lane does not wait for a slow write, and a failed
/// write stops the writes after it and fails the upload.
struct WritePipelineTests {
    final class Log: Sendable {
        let entries = Mutex<[String]>([])
        func add(_ entry: String) { entries.withLock { $0.append(entry) } }
        var all: [String] { entries.withLock { $0 } }
    }

    /// A gate that a lane waits at until the test opens it.
    final class Gate: Sendable {
        let open = Atomic(false)
        func wait() async {
            while !open.load(ordering: .acquiring) { try? await Task.sleep(for: .milliseconds(1)) }
        }
    }

    @Test func hashingRunsAheadOfAStalledWriteAndEachLaneKeepsOrder() async throws {
        let log = Log()
        let gate = Gate()
        let pipeline = WritePipeline(depth: 3)
        for batch in 0..<3 {
            try await pipeline.submit(
                hash: { log.add("hash \(batch)") },
                store: {
                    if batch == 0 { await gate.wait() }
                    log.add("store \(batch)")
                }
            )
        }
        // The first write is held: every batch is hashed meanwhile, and nothing is stored out of order.
        #expect(await eventually { log.all.filter { $0.hasPrefix("hash") }.count == 3 })
        #expect(!log.all.contains { $0.hasPrefix("store") })
        gate.open.store(true, ordering: .releasing)
        try await pipeline.finish()
        #expect(log.all.filter { $0.hasPrefix("hash") } == ["hash 0", "hash 1", "hash 2"])
        #expect(log.all.filter { $0.hasPrefix("store") } == ["store 0", "store 1", "store 2"])
    }

    struct WriteFailed: Error {}

    @Test func aFailedWriteStopsLaterWritesAndFailsTheUpload() async throws {
        let log = Log()
        let pipeline = WritePipeline(depth: 2)
        await #expect(throws: WriteFailed.self) {
            for batch in 0..<4 {
                try await pipeline.submit(
                    hash: { log.add("hash \(batch)") },
                    store: {
                        if batch == 1 { throw WriteFailed() }
                        log.add("store \(batch)")
                    }
                )
            }
            try await pipeline.finish()
        }
        await pipeline.abandon()
        #expect(log.all.filter { $0.hasPrefix("store") } == ["store 0"])
    }
}
