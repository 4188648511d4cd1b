import Glibc
import S3Protocol
import Synchronization

/// A directory's key names in S3 order, packed into one byte array: a million names cost their bytes plus four bytes
/// each, not a string and an array per name. A directory's name carries a trailing `/`, the order S3 keys take.
final class SortedNames: Sendable {
    private let bytes: [UInt8]
    /// Name `i` is `bytes[starts[i]..<starts[i + 1]]`; there is one more start than names.
    private let starts: [UInt32]

    var count: Int { starts.count - 1 }
    var memoryCost: Int { bytes.count + starts.count * MemoryLayout<UInt32>.size + 128 }

    fileprivate init(bytes: [UInt8], starts: [UInt32]) {
        self.bytes = bytes
        self.starts = starts
    }

    /// Calls `body` with a view of the names that stays valid inside it.
    func withView<T>(_ body: (View) throws -> T) rethrows -> T {
        try bytes.withUnsafeBytes { raw in
            try starts.withUnsafeBufferPointer { starts in try body(View(bytes: raw, starts: starts)) }
        }
    }

    struct View {
        let bytes: UnsafeRawBufferPointer
        let starts: UnsafeBufferPointer<UInt32>

        var count: Int { starts.count - 1 }

        subscript(index: Int) -> UnsafeRawBufferPointer {
            UnsafeRawBufferPointer(rebasing: bytes[Int(starts[index])..<Int(starts[index + 1])])
        }

        /// The first index whose name is not `before` it; `before` must hold for a leading run of names only.
        func partition(_ before: (UnsafeRawBufferPointer) -> Bool) -> Int {
            var low = 0
            var high = count
            while low < high {
                let middle = low + (high - low) / 2
                if before(self[middle]) { low = middle + 1 } else { high = middle }
            }
            return low
        }
    }

    /// Reads a directory's key segments (of regular files and directories; escaped and displaced names decoded, no
    /// other reserved, non-UTF-8 or other names) and sorts them. Nil when they would take more than `byteLimit` bytes.
    static func read(_ directory: OpenFile, byteLimit: Int) throws -> SortedNames? {
        var bytes: [UInt8] = []
        var starts: [UInt32] = [0]
        var overflowed = false
        try KeyEntries.forEach(in: directory) { segment, isDirectory in
            guard !overflowed else { return }
            bytes.append(contentsOf: segment)
            if isDirectory { bytes.append(UInt8(ascii: "/")) }
            starts.append(UInt32(truncatingIfNeeded: bytes.count))
            if bytes.count + starts.count * MemoryLayout<UInt32>.size > byteLimit || bytes.count >= Int(UInt32.max) { overflowed = true }
        }
        if overflowed { return nil }
        return SortedNames(unsorted: bytes, starts: starts)
    }

    private convenience init(unsorted bytes: [UInt8], starts: [UInt32]) {
        var order = Array(0..<UInt32(starts.count - 1))
        bytes.withUnsafeBytes { raw in
            starts.withUnsafeBufferPointer { starts in
                let view = View(bytes: raw, starts: starts)
                order.sort { view[Int($0)].lexicographicallyPrecedes(view[Int($1)]) }
            }
        }
        var sortedBytes: [UInt8] = []
        sortedBytes.reserveCapacity(bytes.count)
        var sortedStarts: [UInt32] = [0]
        sortedStarts.reserveCapacity(starts.count)
        for index in order {
            sortedBytes.append(contentsOf: bytes[Int(starts[Int(index)])..<Int(starts[Int(index) + 1])])
            sortedStarts.append(UInt32(truncatingIfNeeded: sortedBytes.count))
        }
        self.init(bytes: sortedBytes, starts: sortedStarts)
    }
}

/// The entries of a directory that stand for keys, as the listing and the listing index read them.
enum KeyEntries {
    /// Calls `body` with each key entry's segment (escaped and displaced names decoded; plain names passed as they
    /// are, without copying) and whether it is a directory. Not keys: the server's other reserved names, names that
    /// are not UTF-8, symlinks and other file types, directories under a displaced name. `wanted` filters by segment
    /// before a file type is looked up (a `stat` on filesystems that do not report it).
    static func forEach(
        in directory: OpenFile,
        where wanted: (UnsafeRawBufferPointer) -> Bool = { _ in true },
        _ body: (UnsafeRawBufferPointer, _ isDirectory: Bool) throws -> Void
    ) throws {
        try Sys.forEachEntry(directory.fd) { cName, type in
            let name = UnsafeRawBufferPointer(start: cName, count: strlen(cName))
            guard String(validating: name, as: UTF8.self) != nil else { return }
            func visit(_ segment: UnsafeRawBufferPointer) throws {
                guard wanted(segment) else { return }
                var kind = type
                if kind == .unknown || kind == .other {
                    guard let st = try? Sys.stat(directory.fd, String(cString: cName)) else { return }
                    kind = st.isDirectory ? .directory : st.isRegular ? .regular : .other
                }
                guard kind == .directory || kind == .regular, kind == .regular || !ObjectKey.isDisplaced(name) else { return }
                try body(segment, kind == .directory)
            }
            guard name.starts(with: ReservedNames.prefix.utf8) else { return try visit(name) }
            guard let decoded = ObjectKey.segment(ofEntry: name) else { return }
            try decoded.withUnsafeBytes { try visit($0) }
        }
    }
}

/// What identifies one state of a directory: adding, removing or renaming an entry changes its mtime and ctime.
struct DirectoryVersion: Hashable {
    let device: UInt64
    let inode: UInt64
    let mtimeNanos: Int64
    let ctimeNanos: Int64
}

/// Sorted names of large directories, kept between listing pages so that a page costs the same in a directory of a
/// million keys as in one of a thousand. Each use checks the directory's change times, so entries added or removed by
/// anyone (another Strata node, another program) are seen at the next page. Bounded by a byte budget, least recently
/// used out first.
final class DirectoryIndexCache: Sendable {
    /// Smaller directories are read again for each page: reading them costs less than the memory they would hold.
    static let minimumEntries = 256

    private struct Slot {
        let version: DirectoryVersion
        let names: SortedNames
        var lastUse: UInt64
    }

    private struct State {
        var slots: [DirectoryVersion.Identity: Slot] = [:]
        var bytes = 0
        var clock: UInt64 = 0
    }

    let budget: Int
    /// How long a directory must have been unchanged before its names are kept (see StoreOptions).
    let quietNanos: Int64
    private let state = Mutex(State())

    init(budget: Int, quietNanos: Int64) {
        self.budget = max(0, budget)
        self.quietNanos = max(0, quietNanos)
    }

    /// The directory's names in S3 order, kept or freshly read; nil when they do not fit the budget (the caller then
    /// walks the directory in bounded windows instead).
    func sortedNames(of directory: OpenFile) throws -> SortedNames? {
        guard budget > 0 else { return nil }
        let st = try Sys.stat(directory.fd)
        let version = DirectoryVersion(device: st.device, inode: st.inode, mtimeNanos: st.mtimeNanos, ctimeNanos: st.ctimeNanos)
        let kept: SortedNames? = state.withLock { state in
            guard var slot = state.slots[version.identity], slot.version == version else { return nil }
            state.clock += 1
            slot.lastUse = state.clock
            state.slots[version.identity] = slot
            return slot.names
        }
        if let kept { return kept }
        let now = Sys.realtimeNanos()
        guard let names = try SortedNames.read(directory, byteLimit: budget) else { return nil }
        if names.count >= Self.minimumEntries, max(version.mtimeNanos, version.ctimeNanos) < now - quietNanos {
            keep(names, version: version)
        }
        return names
    }

    private func keep(_ names: SortedNames, version: DirectoryVersion) {
        state.withLock { state in
            if let old = state.slots.removeValue(forKey: version.identity) { state.bytes -= old.names.memoryCost }
            while state.bytes + names.memoryCost > budget, let oldest = state.slots.min(by: { $0.value.lastUse < $1.value.lastUse }) {
                state.slots.removeValue(forKey: oldest.key)
                state.bytes -= oldest.value.names.memoryCost
            }
            guard names.memoryCost <= budget else { return }
            state.clock += 1
            state.slots[version.identity] = Slot(version: version, names: names, lastUse: state.clock)
            state.bytes += names.memoryCost
        }
    }

    /// How many directories are kept and the bytes they hold (for tests and metrics).
    var usage: (directories: Int, bytes: Int) {
        state.withLock { ($0.slots.count, $0.bytes) }
    }
}

extension DirectoryVersion {
    struct Identity: Hashable {
        let device: UInt64
        let inode: UInt64
    }

    var identity: Identity { Identity(device: device, inode: inode) }
}
