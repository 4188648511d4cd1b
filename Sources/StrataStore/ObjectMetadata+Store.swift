// The parts of ObjectMetadata that need the store's types, kept out of ObjectMetadata.swift so that file compiles
// on its own in the fuzz package.

extension ObjectMetadata {
    public func isValid(for stat: FileStat) -> Bool {
        !etag.isEmpty && size == stat.size && mtimeNanos == stat.mtimeNanos
    }

    /// The recorded permission, when the object was made through S3 with the permission model.
    public var permission: Permission? {
        get {
            guard let owner, let mode else { return nil }
            return Permission(owner: owner, group: group ?? owner, mode: mode, isPublic: isPublic == true)
        }
        set {
            owner = newValue?.owner ?? owner
            group = newValue?.group
            mode = newValue?.mode
            isPublic = newValue?.isPublic == true ? true : nil
        }
    }
}
