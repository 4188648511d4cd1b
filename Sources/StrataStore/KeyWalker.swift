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
///
/// Over a versions tree (`versionsTree`) the keys are its directories: the directory `a/b` holds the stored versions
/// of the key `a/b` and the directories of the keys `a/b/...`. Such a key sorts at `a/b`, before its own directory's
/// keys at `a/b/`, and entries are read in the order of the latter: names that extend it by a byte before `/`
/// (`a/b-c`, `a/b.d`) sort between the two, so reaching one of them first yields the keys of the shorter names it
/// extends (`VersionKeyOrder`).
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
        /// Versions tree: the names that the last entry extends by a byte before `/`, whether their keys were yielded.
        var order = VersionKeyOrder()

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
    let versionsTree: Bool
    private var stack: [Frame] = []
    private var skipPrefix: [UInt8]?
    /// Versions tree: keys found and not yet handed out, in order.
    private var pending: [WalkedKey] = []

    /// - Parameters:
    ///   - prefix: only keys starting with it.
    ///   - startAfter: only keys after it.
    ///   - windowSize: how many entries of one directory are held at a time.
    ///   - grants: a listing for a caller enters only the directories it may read and enter (`r` and `x`) and
    ///     passes only through those it may enter (`x`), as a filesystem walk would.
    ///   - versionsTree: `bucket` is a bucket's versions directory, whose directories are the keys.
    init(
        store: FileSystemStore,
        bucket: OpenFile,
        prefix: String,
        startAfter: String?,
        windowSize: Int = 1024,
        grants: ((OpenFile, Rights) -> Bool)? = nil,
        versionsTree: Bool = false
    ) {
        self.store = store
        self.prefix = Array(prefix.utf8)
        self.startAfter = startAfter.map { Array($0.utf8) }
        self.windowSize = max(2, windowSize)
        self.grants = grants
        self.versionsTree = versionsTree
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
        pending.removeAll { $0.key.utf8.starts(with: prefix) }
    }

    func next() throws -> WalkedKey? {
        if !pending.isEmpty { return pending.removeFirst() }
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
            if versionsTree {
                guard entry.isDirectory else { continue }
                queueVersionKeys(frame, entry)
                if let child = try? Sys.openBeneath(frame.handle.fd, entry.name, flags: Sys.readDirectory) {
                    stack.append(Frame(handle: child, path: key, namePrefix: []))
                }
                if !pending.isEmpty { return pending.removeFirst() }
                continue
            }
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

    /// Versions tree: queues the keys that sort before the directory `entry`'s own keys: those of shorter names it
    /// extends by a byte before `/` not yielded yet, then its own unless it was yielded that way.
    private func queueVersionKeys(_ frame: Frame, _ entry: Entry) {
        let segment = Array(entry.sortKey.dropLast())
        let yieldedAlready = frame.order.reach(segment)
        for shorter in frame.order.shorterNames(
            of: segment,
            exists: { name in
                (try? Sys.stat(frame.handle.fd, ObjectKey.fileSystemName(String(decoding: name, as: UTF8.self))))?.isDirectory == true
            }
        ) {
            queueVersionKey(frame, shorter)
        }
        if !yieldedAlready { queueVersionKey(frame, segment) }
    }

    private func queueVersionKey(_ frame: Frame, _ segment: [UInt8]) {
        let key = frame.path + segment
        guard key.starts(with: prefix), isAfterStart(key), !(skipPrefix.map { key.starts(with: $0) } ?? false) else { return }
        let name = ObjectKey.fileSystemName(String(decoding: segment, as: UTF8.self))
        pending.append(WalkedKey(key: String(decoding: key, as: UTF8.self), directory: frame.handle, name: name, isDirectory: true))
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

/// The order of a versions-tree directory's keys. Its entries come in the order of `name/` (where each directory's own
/// keys sort); the key of a name sorts at `name`, and the names that extend it by a byte before `/` (`name-x`,
/// `name.x`) sort between the two and come first. Those names are consecutive in entry order, so the shorter names
/// in play are a chain, each a prefix of the next: reaching an entry yields the keys of the names in its chain that
/// exist and were not yielded yet, and an entry whose key was yielded that way is not yielded again.
struct VersionKeyOrder {
    private struct Link {
        let name: [UInt8]
        /// The directory exists (so its key was yielded) or not.
        let exists: Bool
    }

    private var chain: [Link] = []

    /// Moves to the entry `name`: drops the names it does not extend; true when its own key was yielded already.
    mutating func reach(_ name: [UInt8]) -> Bool {
        while let last = chain.last, !Self.sortsBefore(last.name, extending: name) && last.name != name { chain.removeLast() }
        guard let last = chain.last, last.name == name else { return false }
        chain.removeLast()
        return last.exists
    }

    /// The names `name` extends by a byte before `/` that exist and were not seen before, shortest first.
    mutating func shorterNames(of name: [UInt8], exists: ([UInt8]) -> Bool) -> [[UInt8]] {
        var found: [[UInt8]] = []
        for end in name.indices where name[end] < UInt8(ascii: "/") {
            let shorter = Array(name[..<end])
            if chain.contains(where: { $0.name == shorter }) { continue }
            let present = exists(shorter)
            chain.append(Link(name: shorter, exists: present))
            if present { found.append(shorter) }
        }
        return found
    }

    /// Whether `name` extends `shorter` by a byte before `/`, so the key of `shorter` sorts before `name`'s.
    static func sortsBefore(_ shorter: [UInt8], extending name: [UInt8]) -> Bool {
        name.count > shorter.count && name.starts(with: shorter) && name[shorter.count] < UInt8(ascii: "/")
    }
}
