import S3Protocol
import Synchronization

/// Directories the permission walk passes through (buckets and the directories of keys), held open with the
/// permission read from them, so that a request on a cached file costs one `statx` per level instead of an open, an
/// xattr read and a close. Each use checks, by name under the parent, that the name still leads to the same
/// directory with the same change time: a replaced, removed or re-permissioned directory (chmod, chown and xattr
/// writes all change ctime, by this node or any other program) is read again. Only directories unchanged for the
/// quiet interval are kept, as in the listing index: two changes within one timestamp tick would otherwise leave the
/// first one's state looking current. Bounded by a count (each entry holds a descriptor); full, it starts over.
final class DirectoryHandleCache: Sendable {
    /// One directory as the walk reaches it: the parent's identity and the name below it, and whether the walk is
    /// still in the bucket's own segments (which read the permission from the bucket's metadata first).
    struct Key: Hashable {
        let parentDevice: UInt64
        let parentInode: UInt64
        let name: String
        let isBucket: Bool
    }

    /// An open directory, its permission, and what identifies it for the next request.
    struct Entry {
        let file: OpenFile
        let permission: Permission
        let device: UInt64
        let inode: UInt64
        let ctimeNanos: Int64
    }

    let capacity: Int
    let quietNanos: Int64
    private let entries = Mutex<[Key: Entry]>([:])

    init(capacity: Int, quietNanos: Int64) {
        self.capacity = max(0, capacity)
        self.quietNanos = max(0, quietNanos)
    }

    /// The directory `name` under `parent`, from the cache when a stat of the name still finds it unchanged, else
    /// opened (beneath the parent, as every open in the store) with its permission read by `permission`. Nil when the
    /// name is not a directory that can be opened.
    func open(
        _ name: String,
        under parent: Entry,
        isBucket: Bool,
        flags: Int32,
        permission: (OpenFile) throws -> Permission
    ) throws -> Entry? {
        guard capacity > 0 else {
            guard let file = try? Sys.openBeneath(parent.file.fd, name, flags: flags) else { return nil }
            return Entry(file: file, permission: try permission(file), device: 0, inode: 0, ctimeNanos: 0)
        }
        let key = Key(parentDevice: parent.device, parentInode: parent.inode, name: name, isBucket: isBucket)
        if let kept = entries.withLock({ $0[key] }) {
            if let st = try? Sys.stat(parent.file.fd, name), st.isDirectory, st.device == kept.device, st.inode == kept.inode,
                st.ctimeNanos == kept.ctimeNanos
            {
                return kept
            }
            entries.withLock { _ = $0.removeValue(forKey: key) }
        }
        guard let file = try? Sys.openBeneath(parent.file.fd, name, flags: flags) else { return nil }
        // The stat comes before the read: a change after it shows as a new ctime at the next use.
        let st = try Sys.stat(file.fd)
        let entry = Entry(file: file, permission: try permission(file), device: st.device, inode: st.inode, ctimeNanos: st.ctimeNanos)
        if st.ctimeNanos < Sys.realtimeNanos() - quietNanos {
            entries.withLock { entries in
                if entries.count >= capacity { entries.removeAll(keepingCapacity: true) }
                entries[key] = entry
            }
        }
        return entry
    }

    /// The root as the parent of the first level.
    static func rootEntry(_ root: OpenFile) -> Entry {
        let st = try? Sys.stat(root.fd)
        return Entry(
            file: root,
            permission: Permission(owner: "", group: "", mode: 0),
            device: st?.device ?? 0,
            inode: st?.inode ?? 0,
            ctimeNanos: 0
        )
    }

    /// How many directories are held (for tests).
    var count: Int { entries.withLock { $0.count } }
}
