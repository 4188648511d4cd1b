import Testing

@testable import StrataStore

/// Reading the root's mount from /proc/self/mountinfo, and which mounts keep their locks on one client.
@Suite struct RootFilesystemTests {
    static let mountinfo = """
        27 1 254:0 / / rw,relatime - ext4 /dev/vda rw,discard
        40 27 0:45 / /mnt/netfs-a rw,relatime - fuse.glusterfs strata-netfs:/strata rw,user_id=0,group_id=0,allow_other
        41 27 0:46 / /srv/nfs rw,relatime - nfs4 server:/export rw,vers=4.2,hard,proto=tcp,local_lock=flock
        42 27 0:47 / /srv/nfs3 rw,relatime - nfs server:/old rw,vers=3,nolock
        43 27 0:48 / /srv/ok\\040nfs rw,relatime - nfs4 server:/export rw,vers=4.1,local_lock=none
        44 27 0:49 / /lustre rw - lustre mgs@tcp:/fs rw,localflock
        45 27 0:50 / /lustre2 rw - lustre mgs@tcp:/fs rw,flock
        46 27 0:51 / /home/u/remote rw - fuse.sshfs u@host:/ rw,user_id=0
        47 27 0:52 / /cephfs rw - ceph 10.0.0.1:/ rw,name=admin
        """

    func find(_ path: String, device: String? = nil) -> RootFilesystem? {
        RootFilesystem.find(path: path, device: device, mountinfo: Self.mountinfo)
    }

    @Test func theLongestMountPointAboveThePathHoldsIt() throws {
        #expect(find("/work/root")?.type == "ext4")
        #expect(find("/mnt/netfs-a/strata/root")?.type == "fuse.glusterfs")
        #expect(find("/mnt/netfs-ab")?.type == "ext4")  // a name that only starts like a mount point
        #expect(find("/srv/ok nfs/root")?.type == "nfs4")  // mountinfo escapes the space as \040
        // The device decides when the path is known to be on another mount than its prefix suggests (a bind mount).
        #expect(find("/mnt/netfs-a/x", device: "254:0")?.type == "ext4")
    }

    @Test func mountsWhoseLocksStayOnOneClientAreNamed() throws {
        #expect(find("/srv/nfs/root")?.localOnlyLocks?.contains("local_lock=flock") == true)
        #expect(find("/srv/nfs3/root")?.localOnlyLocks?.contains("nolock") == true)
        #expect(find("/srv/ok nfs/root")?.localOnlyLocks == nil)
        #expect(find("/lustre/root")?.localOnlyLocks?.contains("localflock") == true)
        #expect(find("/lustre2/root")?.localOnlyLocks == nil)
        #expect(find("/home/u/remote/root")?.localOnlyLocks != nil)
        #expect(find("/cephfs/root")?.localOnlyLocks == nil)
        #expect(find("/cephfs/root")?.isShared == true)
        let gluster = try #require(find("/mnt/netfs-a/root"))
        #expect(gluster.localOnlyLocks == nil && gluster.isShared && gluster.fuseWithSharedLocks)
        #expect(find("/work/root")?.isShared == false)
    }
}
