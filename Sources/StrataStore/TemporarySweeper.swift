import Foundation
import Glibc
import S3Protocol

/// Removes temporary files a crashed writer left behind. Only files older than the age bound go: younger ones may
/// belong to a live writer in another server process sharing the directory.
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
                } else if let st = try? Sys.stat(dir.fd, name), st.isRegular, st.mtimeSeconds < cutoff, (try? Sys.unlink(dir.fd, name)) != nil {
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
}
