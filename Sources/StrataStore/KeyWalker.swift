import Glibc
import S3Protocol

/// One key found by a walk, in S3 order.
public struct WalkedKey: Sendable {
    public let key: String
    /// The directory holding the entry and the entry's name in it.
    let directory: OpenFile
    let name: String
    public let isDirectory: Bool
}

/// Yields a bucket's keys in S3 order (UTF-8 byte order of whole keys) without loading the subtree: a stack of
/// directories, each read in bounded windows of its smallest remaining entries. A directory `d` sorts as `d/`,
/// so `a-c` comes before `a/b` as in S3. Escaped and displaced entry names stand for the segments they encode; symlinks,
/// other reserved names and names that are not UTF-8 are not keys. The same key may come twice in a row (a directory
/// object and the file `dir/.strata.k.`; a file and its displaced copy): the listing keeps the first.
final class KeyWalker {
    private struct Entry {
        let name: String
        /// name, plus `/` for directories: the order S3 keys take.
        let sortKey: [UInt8]
        let isDirectory: Bool
    }

    private final class Frame {
        let handle: OpenFile
        /// The key prefix this directory stands for: "" for the bucket, "a/b/" below.
        let path: [UInt8]
        /// Only entries whose name starts with this are keys (the part of the listing prefix inside this directory).
        let namePrefix: [UInt8]
        var window: [Entry] = []
        var index = 0
        /// Every entry up to this sort key has been handed out.
        var cursor: [UInt8]?
        var exhausted = false

        init(handle: OpenFile, path: [UInt8], namePrefix: [UInt8]) {
            self.handle = handle
            self.path = path
            self.namePrefix = namePrefix
        }
    }

    let store: FileSystemStore
    let prefix: [UInt8]
    let startAfter: [UInt8]?
    let windowSize: Int
    /// Whether a directory below the bucket grants these rights to whom the walk is for (nil: everyone sees all).
    let grants: ((OpenFile, Rights) -> Bool)?
    private var stack: [Frame] = []
    private var skipPrefix: [UInt8]?

    /// - Parameters:
    ///   - prefix: only keys starting with it.
    ///   - startAfter: only keys after it.
    ///   - windowSize: how many entries of one directory are held at a time.
    ///   - grants: a listing for a caller enters only the directories it may read and enter (`r` and `x`) and
    ///     passes only through those it may enter (`x`), as a filesystem walk would.
    init(
        store: FileSystemStore,
        bucket: OpenFile,
        prefix: String,
        startAfter: String?,
        windowSize: Int = 1024,
        grants: ((OpenFile, Rights) -> Bool)? = nil
    ) {
        self.store = store
        self.prefix = Array(prefix.utf8)
        self.startAfter = startAfter.map { Array($0.utf8) }
        self.windowSize = max(2, windowSize)
        self.grants = grants
        // Start in the deepest directory the prefix names completely.
        let bytes = self.prefix
        var cut = 0
        if let slash = bytes.lastIndex(of: UInt8(ascii: "/")) { cut = slash + 1 }
        let dirPath = Array(bytes[0..<cut])
        let start: OpenFile?
        if cut == 0 {
            start = bucket
        } else {
            // The prefix's directories by their entry names (`..` is `.strata.k.%2E%2E`): no segment climbs.
            let names = String(decoding: dirPath.dropLast(), as: UTF8.self).splitBytes(UInt8(ascii: "/")).map { ObjectKey.fileSystemName($0) }
            start = grants == nil ? try? Sys.openBeneath(bucket.fd, names.joined(separator: "/"), flags: Sys.readDirectory) : enter(bucket, names)
        }
        if let start {
            stack.append(Frame(handle: start, path: dirPath, namePrefix: Array(bytes[cut...])))
        }
    }

    /// Opens the prefix's directories one by one, each checked: `x` to pass through, `r` and `x` on the last.
    private func enter(_ bucket: OpenFile, _ names: [String]) -> OpenFile? {
        var current = bucket
        for (index, name) in names.enumerated() {
            guard let next = try? Sys.openBeneath(current.fd, name, flags: Sys.readDirectory),
                grants?(next, index == names.count - 1 ? [.read, .execute] : .execute) != false
            else { return nil }
            current = next
        }
        return current
    }

    /// Skips every remaining key that starts with `prefix` (a CommonPrefix already reported).
    func skip(prefix: [UInt8]) {
        skipPrefix = prefix
        while let top = stack.last, top.path.starts(with: prefix) { stack.removeLast() }
    }

    func next() throws -> WalkedKey? {
        while let frame = stack.last {
            if frame.index >= frame.window.count {
                if frame.exhausted {
                    stack.removeLast()
                    continue
                }
                try load(frame)
                continue
            }
            let entry = frame.window[frame.index]
            frame.index += 1
            frame.cursor = entry.sortKey
            let key = frame.path + entry.sortKey
            if let skipPrefix, key.starts(with: skipPrefix) { continue }
            if entry.isDirectory {
                guard let child = try? Sys.openBeneath(frame.handle.fd, entry.name, flags: Sys.readDirectory) else { continue }
                // A directory the caller may not read and enter is listed as a name at most, never walked.
                if grants?(child, [.read, .execute]) != false { stack.append(Frame(handle: child, path: key, namePrefix: [])) }
                guard key.starts(with: prefix), isAfterStart(key) else { continue }
                if store.options.listFolders
                    || ObjectMetadata.decode(try? Sys.getAttribute(child.fd, ObjectMetadata.attributeName))?.isDirectory == true
                {
                    return WalkedKey(key: String(decoding: key, as: UTF8.self), directory: frame.handle, name: entry.name, isDirectory: true)
                }
                continue
            }
            guard key.starts(with: prefix), isAfterStart(key) else { continue }
            return WalkedKey(key: String(decoding: key, as: UTF8.self), directory: frame.handle, name: entry.name, isDirectory: false)
        }
        return nil
    }

    private func isAfterStart(_ key: [UInt8]) -> Bool {
        guard let startAfter else { return true }
        return startAfter.lexicographicallyPrecedes(key)
    }

    /// Whether an entry (with its full key) can hold keys after `startAfter` and inside the skip/prefix bounds.
    private func isCandidate(_ key: [UInt8], isDirectory: Bool) -> Bool {
        if let startAfter {
            if isDirectory {
                // Everything below `d/` precedes startAfter unless startAfter is inside `d/`.
                if key.lexicographicallyPrecedes(startAfter) && !startAfter.starts(with: key) { return false }
            } else if !startAfter.lexicographicallyPrecedes(key) {
                return false
            }
        }
        if let skipPrefix, key.starts(with: skipPrefix) { return false }
        return true
    }

    /// Reads the next window: the smallest `windowSize` entries after the frame's cursor, from the directory's sorted
    /// names when they fit the index's budget, by a bounded pass over the directory otherwise.
    private func load(_ frame: Frame) throws {
        do {
            if let names = try store.directoryIndex.sortedNames(of: frame.handle) {
                names.withView { load(frame, from: $0) }
                return
            }
        } catch let error as SystemError {
            guard error.errno == ENOENT || error.errno == EACCES else { throw error }
            frame.window = []
            frame.index = 0
            frame.exhausted = true
            return
        }
        try scan(frame)
    }

    /// Fills the window from sorted names, starting by binary search where the cursor, the listing prefix, the start
    /// key and a skipped common prefix allow: a page deep into a huge directory costs what the first page costs.
    private func load(_ frame: Frame, from names: SortedNames.View) {
        var first = 0
        if let cursor = frame.cursor {
            first = max(first, names.partition { !cursor.lexicographicallyPrecedes($0) })
        }
        if !frame.namePrefix.isEmpty {
            first = max(first, names.partition { $0.lexicographicallyPrecedes(frame.namePrefix) })
        }
        if let startAfter, startAfter.count > frame.path.count, startAfter.starts(with: frame.path) {
            // Names before the start key's component in this directory hold only keys before it.
            let rest = startAfter[frame.path.count...]
            let component = rest.firstIndex(of: UInt8(ascii: "/")).map { rest[...$0] } ?? rest
            first = max(first, names.partition { $0.lexicographicallyPrecedes(component) })
        }
        if let skipPrefix, skipPrefix.count > frame.path.count, skipPrefix.starts(with: frame.path) {
            // A skipped prefix that ends inside one name component covers a run of whole names.
            let rest = skipPrefix[frame.path.count...]
            let coversWholeNames = rest.firstIndex(of: UInt8(ascii: "/")).map { $0 == rest.index(before: rest.endIndex) } ?? true
            if coversWholeNames {
                first = max(first, names.partition { $0.lexicographicallyPrecedes(rest) || $0.starts(with: rest) })
            }
        }
        var entries: [Entry] = []
        var index = first
        while index < names.count, entries.count < windowSize {
            let sortKey = names[index]
            index += 1
            guard sortKey.starts(with: frame.namePrefix) else {
                index = names.count
                break
            }
            let isDirectory = sortKey.last == UInt8(ascii: "/")
            guard isCandidate(frame.path + sortKey, isDirectory: isDirectory) else { continue }
            let segment = String(decoding: isDirectory ? UnsafeRawBufferPointer(rebasing: sortKey.dropLast()) : sortKey, as: UTF8.self)
            entries.append(Entry(name: ObjectKey.fileSystemName(segment), sortKey: Array(sortKey), isDirectory: isDirectory))
        }
        frame.window = entries
        frame.index = 0
        frame.exhausted = index >= names.count
    }

    /// Reads the next window in one pass over a directory too large for the index, holding at most a few windows.
    private func scan(_ frame: Frame) throws {
        var entries: [Entry] = []
        let limit = windowSize
        var overflowed = false
        func trim() {
            entries.sort { $0.sortKey.lexicographicallyPrecedes($1.sortKey) }
            if entries.count > limit {
                entries.removeSubrange(limit...)
                overflowed = true
            }
        }
        do {
            let namePrefix = frame.namePrefix
            let wanted: (UnsafeRawBufferPointer) -> Bool = { $0.starts(with: namePrefix) }
            try KeyEntries.forEach(in: frame.handle, where: wanted) { segment, isDirectory in
                var sortKey = Array(segment)
                if isDirectory { sortKey.append(UInt8(ascii: "/")) }
                if let cursor = frame.cursor, !cursor.lexicographicallyPrecedes(sortKey) { return }
                guard isCandidate(frame.path + sortKey, isDirectory: isDirectory) else { return }
                // Entries are opened by the segment's own entry name; a displaced file is found from there.
                let segmentText = String(decoding: segment, as: UTF8.self)
                entries.append(Entry(name: ObjectKey.fileSystemName(segmentText), sortKey: sortKey, isDirectory: isDirectory))
                if entries.count >= limit * 4 { trim() }
            }
        } catch let error as SystemError {
            // A directory that vanished or is unreadable holds no keys we can serve.
            guard error.errno == ENOENT || error.errno == EACCES else { throw error }
        }
        trim()
        frame.window = entries
        frame.index = 0
        frame.exhausted = !overflowed
    }
}
