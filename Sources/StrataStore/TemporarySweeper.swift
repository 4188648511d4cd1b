import Foundation
import Glibc
import S3Protocol

/// Removes temporary files a crashed writer left behind. Only files older than the age bound and not locked by their
/// writer go: a live writer in any server process sharing the root holds a lock on its temporary.
public enum TemporarySweeper {
    @discardableResult
    public static func sweep(store: FileSystemStore, olderThanSeconds age: Int64) -> Int {
        let cutoff = Int64(Date().timeIntervalSince1970) - age
        return sweep(store.root, cutoff: cutoff, depth: 0)
    }

    private static func sweep(_ dir: OpenFile, cutoff: Int64, depth: Int) -> Int {
        guard depth < 256 else { return 0 }
        var removed = 0
        var subdirectories: [String] = []
        try? Sys.forEachEntry(dir.fd) { cName, type in
            let name = String(cString: cName)
            if name.hasPrefix(ReservedNames.temporaryPrefix) {
                // A directory being stamped before it is renamed into place is left empty by a crash.
                if let st = try? Sys.stat(dir.fd, name), st.isDirectory, st.mtimeSeconds < cutoff, (try? Sys.rmdir(dir.fd, name)) != nil {
                    removed += 1
                } else if let st = try? Sys.stat(dir.fd, name), st.isRegular, st.mtimeSeconds < cutoff, !isBeingWritten(dir, name),
                    (try? Sys.unlink(dir.fd, name)) != nil
                {
                    removed += 1
                }
            } else if (type == .directory || type == .unknown) && (!ReservedNames.isReserved(name) || name.hasPrefix(ObjectKey.escapedPrefix)) {
                subdirectories.append(name)
            }
        }
        for name in subdirectories {
            guard let child = try? Sys.openBeneath(dir.fd, name, flags: Sys.readDirectory) else { continue }
            removed += sweep(child, cutoff: cutoff, depth: depth + 1)
        }
        return removed
    }

    /// A writer, on this node or another sharing the root, holds a lock on its named temporary while it writes.
    private static func isBeingWritten(_ dir: OpenFile, _ name: String) -> Bool {
        guard let file = try? Sys.openBeneath(dir.fd, name, flags: O_RDWR | O_NONBLOCK) else { return false }
        return withExtendedLifetime(file) { flock(file.fd, LOCK_EX | LOCK_NB) != 0 && errno == EWOULDBLOCK }
    }
}
