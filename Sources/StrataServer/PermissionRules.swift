import S3Protocol
import StrataStore

/// The permission model's rules as pure functions of the permissions along a path: what the gate applies to every
/// check, and what the store applies where it reads. Anonymous callers (`needsPublic`) reach only what a public
/// canned ACL opened.
enum PermissionRules {
    /// `r` on the object and `x` on every directory above it; an anonymous caller also needs a public object.
    static func mayRead(_ path: PathPermissions, _ caller: Caller) -> Bool {
        if caller.needsPublic && path.object?.isPublic != true {
            // A key that is not there: AWS tells a caller who may list the bucket 404, anyone else 403.
            guard path.object == nil, path.directories.first?.isPublic == true else { return false }
            return path.directories.allSatisfy { $0.grants(.execute, to: caller) }
        }
        return path.directories.allSatisfy { $0.grants(.execute, to: caller) } && (path.object?.grants(.read, to: caller) ?? true)
    }

    /// `r` and `x` on the bucket's directory and `x` above it; an anonymous caller also needs a public bucket.
    static func mayList(_ path: PathPermissions, _ caller: Caller) -> Bool {
        guard let last = path.directories.last, !caller.needsPublic || last.isPublic else { return false }
        return path.directories.dropLast().allSatisfy { $0.grants(.execute, to: caller) } && last.grants([.read, .execute], to: caller)
    }

    /// `w` and `x` on the directory that holds the key and `x` above it; in a sticky directory only the entry's owner
    /// or the directory's may replace or remove an entry. An anonymous caller writes only into a public-read-write
    /// bucket: public, with `w` for others (`bucketDepth`: how many of the path's directories are the bucket's).
    static func mayWrite(_ path: PathPermissions, bucketDepth: Int, _ caller: Caller) -> Bool {
        if caller.needsPublic {
            guard bucketDepth >= 1, path.directories.count >= bucketDepth else { return false }
            let bucket = path.directories[bucketDepth - 1]
            guard bucket.isPublic, bucket.mode & 0o002 != 0 else { return false }
        }
        guard let holder = path.directories.last else { return false }
        guard path.directories.dropLast().allSatisfy({ $0.grants(.execute, to: caller) }), holder.grants([.write, .execute], to: caller)
        else { return false }
        if holder.isSticky, path.directoriesComplete, let object = path.object { return caller.owns(object) || caller.owns(holder) }
        return true
    }

    /// Only an owner changes settings and permissions; anonymous callers own nothing.
    static func owns(_ permission: Permission?, _ caller: Caller) -> Bool {
        guard !caller.needsPublic, let permission else { return false }
        return caller.bypassesChecks || caller.owns(permission)
    }

    /// Creating (or deleting) a bucket: `x` down to the parent (the root, or the enclosing bucket of a nested one) and
    /// `w` and `x` on it; deleting from a sticky parent needs the bucket's or the parent's ownership.
    static func mayChangeBucket(parents: [Permission], bucket: Permission?, deleting: Bool, _ caller: Caller) -> Bool {
        guard !caller.needsPublic, let holder = parents.last, parents.dropLast().allSatisfy({ $0.grants(.execute, to: caller) }),
            holder.grants([.write, .execute], to: caller)
        else { return false }
        if deleting, holder.isSticky { return bucket.map(caller.owns) == true || caller.owns(holder) }
        return true
    }
}
