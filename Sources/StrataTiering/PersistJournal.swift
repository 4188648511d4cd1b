import Crypto
import Foundation
import Glibc
import StrataStore

/// One object waiting to be persisted upstream (ASYNC_THROUGH).
public struct JournalEntry: Codable, Sendable, Equatable {
    public var bucket: String
    public var key: String
    public var upstreamBucket: String
    public var upstreamKey: String
    /// Nanoseconds since the epoch when the entry was (re)written: a newer write of the key supersedes it.
    public var enqueued: Int64
    public var attempts: Int = 0
    /// Milliseconds since the epoch before which the entry is not retried.
    public var notBefore: Int64 = 0
    /// A delete to finish on both sides rather than a version to upload: recorded before a delete that reaches the
    /// upstream, so a node dying between the upstream and the local delete cannot leave them disagreeing.
    public var deletion: Bool?

    public init(bucket: String, key: String, upstreamBucket: String, upstreamKey: String, enqueued: Int64) {
        self.bucket = bucket
        self.key = key
        self.upstreamBucket = upstreamBucket
        self.upstreamKey = upstreamKey
        self.enqueued = enqueued
    }
}

/// The durable journal of ASYNC_THROUGH writes: one small file per pending key in `ROOT/.strata/journal`,
/// written atomically and fsynced before the client's 200, so entries survive crashes and restarts. A newer write
/// of the same key replaces the entry (same file name), superseding the older pending one.
public final class PersistJournal: Sendable {
    public let directory: String

    public init(root: String) throws {
        directory = (root.hasSuffix("/") ? root : root + "/") + ".strata/journal"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
    }

    public static func fileName(bucket: String, key: String) -> String {
        SHA256.hash(data: Array((bucket + "\u{0}" + key).utf8)).map { String(format: "%02x", $0) }.joined() + ".json"
    }

    /// Records (or supersedes) the pending persistence of `bucket`/`key`; durable when this returns.
    public func record(_ entry: JournalEntry) throws {
        try write(entry, name: Self.fileName(bucket: entry.bucket, key: entry.key))
    }

    private func write(_ entry: JournalEntry, name: String) throws {
        do {
            try DurableFile.replace(directory + "/" + name, contents: Array(try JSONEncoder().encode(entry)), mode: 0o600)
        } catch {
            throw JournalError(description: "cannot write the journal in \(directory): \(error)")
        }
    }

    /// Every pending entry with its file name.
    public func entries() -> [(name: String, entry: JournalEntry)] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return [] }
        return names.filter { $0.hasSuffix(".json") }.compactMap { name in
            guard let data = FileManager.default.contents(atPath: directory + "/" + name),
                let entry = try? JSONDecoder().decode(JournalEntry.self, from: data)
            else { return nil }
            return (name, entry)
        }
    }

    public func entry(named name: String) -> JournalEntry? {
        guard let data = FileManager.default.contents(atPath: directory + "/" + name) else { return nil }
        return try? JSONDecoder().decode(JournalEntry.self, from: data)
    }

    /// Removes an entry unless a newer write superseded it meanwhile.
    public func complete(name: String, enqueued: Int64) {
        guard entry(named: name)?.enqueued == enqueued else { return }
        unlink(directory + "/" + name)
    }

    /// Records a failed attempt, unless superseded.
    public func postpone(name: String, entry: JournalEntry) {
        guard self.entry(named: name)?.enqueued == entry.enqueued else { return }
        try? write(entry, name: name)
    }

    public func remove(bucket: String, key: String) {
        unlink(directory + "/" + Self.fileName(bucket: bucket, key: key))
    }

    public var pendingCount: Int { entries().count }

    /// Claims an entry for persisting, so that of several processes sharing the root only one uploads it: an
    /// exclusive `flock` on the entry's lease file, which the kernel drops if the holder dies (a lease that ends with
    /// its node). Nil while another process holds it.
    public func claim(name: String) -> JournalLease? {
        let leases = directory + "/leases"
        if mkdir(leases, 0o700) != 0 && errno != EEXIST { return nil }
        let path = leases + "/" + name + ".lock"
        for _ in 0..<3 {
            guard let lock = try? FileLock.acquire(in: AT_FDCWD, path, exclusive: true, wait: false) else { return nil }
            // The lease file may have been removed by the previous holder between our open and our lock: the lock
            // then protects nothing, so start again on the file now at the path.
            var held = stat()
            var current = stat()
            if fstat(lock.fd, &held) == 0, stat(path, &current) == 0, held.st_ino == current.st_ino, held.st_dev == current.st_dev {
                return JournalLease(lock: lock, path: path)
            }
        }
        return nil
    }
}

extension PersistJournal {
    /// Removes lease files whose entry is gone and which nobody holds: left by a node that died between finishing an
    /// entry and removing its lease. Checked under the lease's own lock, so a live claim is never touched.
    public func removeOrphanedLeases() {
        let leases = directory + "/leases"
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: leases) else { return }
        for lease in names where lease.hasSuffix(".lock") {
            let name = String(lease.dropLast(".lock".count))
            guard entry(named: name) == nil, let held = claim(name: name) else { continue }
            held.release(removing: entry(named: name) == nil)
        }
    }
}

/// A held claim on a journal entry; released explicitly, or by the kernel when the process ends.
public final class JournalLease: Sendable {
    let lock: FileLock
    let path: String

    init(lock: FileLock, path: String) {
        self.lock = lock
        self.path = path
    }

    /// Releases the claim; `removing` deletes the lease file first (the entry is done), while still holding it. The
    /// descriptor closes when the lease goes away.
    public func release(removing: Bool) {
        if removing { unlink(path) }
        flock(lock.fd, LOCK_UN)
    }
}

public struct JournalError: Error, CustomStringConvertible {
    public let description: String
}
