import Glibc
import S3Protocol

extension FileSystemStore {
    /// The first of a key's directories (as a key path, `a/b`) that a listing's viewer may not see into: it needs `x`
    /// on every directory down to the key's and `r` and `x` on that one. Nil when the key is visible. When the key's
    /// directories are gone (only versions or an upstream copy remain), the deepest one that remains decides.
    /// `cache` holds the answers for directories already looked at.
    func hiddenDirectory(_ bucket: OpenFile, key: [UInt8], _ viewer: ListingViewer, cache: inout [[UInt8]: [UInt8]?]) -> [UInt8]? {
        let segments = String(decoding: key, as: UTF8.self).splitBytes(UInt8(ascii: "/"))
        let names = ObjectKey.segments(String(decoding: key, as: UTF8.self)).directories
        guard !names.isEmpty else { return nil }
        let cacheKey = Array(names.joined(separator: "/").utf8)
        if let known = cache[cacheKey] { return known }
        let grants = directoryGrants(viewer)
        var current = bucket
        var hidden: [UInt8]?
        for (index, name) in names.enumerated() {
            guard let next = try? Sys.openBeneath(current.fd, name, flags: Sys.readDirectory) else { break }
            let isLast = index == names.count - 1 || (try? Sys.stat(next.fd, names[index + 1]))?.isDirectory != true
            guard grants(next, isLast ? [.read, .execute] : .execute) else {
                hidden = Array(segments[0...index].joined(separator: "/").utf8)
                break
            }
            current = next
        }
        cache[cacheKey] = hidden
        return hidden
    }
}

extension LocalStorage {
    /// For each key (or common prefix) found elsewhere, as the tiered store's upstream listing: nil when `viewer` may
    /// see it, else the key path of the directory that hides it.
    public func hiddenDirectories(bucket: String, keys: [String], viewer: Caller) async throws -> [String?] {
        let viewer = ListingViewer(caller: viewer, users: users)
        return try await run { store in
            let handle = try store.openBucket(bucket)
            var cache: [[UInt8]: [UInt8]?] = [:]
            return keys.map { key in
                store.hiddenDirectory(handle, key: Array(key.utf8), viewer, cache: &cache).map { String(decoding: $0, as: UTF8.self) }
            }
        }
    }
}
