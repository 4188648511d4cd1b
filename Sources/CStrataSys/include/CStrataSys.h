#ifndef CSTRATASYS_H
#define CSTRATASYS_H
#include <stdint.h>
#include <stddef.h>
#include <sys/types.h>
#include <sys/stat.h>
#include <dirent.h>

/// openat2(2) confined below dirfd: no symlinks, no magic links, no escape.
int cstrata_open_beneath(int dirfd, const char *path, int flags, mode_t mode);
/// O_TMPFILE anonymous file in the directory dirfd.
int cstrata_open_tmpfile(int dirfd, mode_t mode);
/// Publish an O_TMPFILE (or any fd) under dirfd/name; fails with EEXIST if taken.
int cstrata_link_fd(int fd, int dirfd, const char *name);
/// renameat2 with RENAME_NOREPLACE when noreplace != 0.
int cstrata_rename(int olddirfd, const char *oldname, int newdirfd, const char *newname, int noreplace);
/// pread that never waits for the disk (preadv2 with RWF_NOWAIT): -1 with EAGAIN when the bytes are not in the page
/// cache, EOPNOTSUPP where the kernel or filesystem cannot say.
ssize_t cstrata_pread_nowait(int fd, void *buffer, size_t count, int64_t offset);
ssize_t cstrata_copy_file_range(int fd_in, int64_t *off_in, int fd_out, int64_t *off_out, size_t len);
ssize_t cstrata_fgetxattr(int fd, const char *name, void *value, size_t size);
int cstrata_fsetxattr(int fd, const char *name, const void *value, size_t size);
int cstrata_fremovexattr(int fd, const char *name);
/// xattr of dirfd/name without following a final symlink.
ssize_t cstrata_getxattr_at(int dirfd, const char *name, const char *attr, void *value, size_t size);
int cstrata_setxattr_at(int dirfd, const char *name, const char *attr, const void *value, size_t size);
int cstrata_removexattr_at(int dirfd, const char *name, const char *attr);

int cstrata_o_path(void);
int cstrata_o_directory(void);
int cstrata_o_nofollow(void);
int cstrata_o_cloexec(void);
int cstrata_at_removedir(void);
int cstrata_at_symlink_nofollow(void);

/// Stat fields we need, filled by fstatat/fstat without exposing struct stat layout to Swift.
typedef struct {
    int64_t size;
    int64_t mtime_sec;
    int64_t mtime_nsec;
    int64_t ctime_sec;
    int64_t ctime_nsec;
    uint64_t inode;
    uint64_t device;
    uint32_t mode;
    int64_t birth_sec;
    uint32_t uid;
    uint32_t gid;
} cstrata_stat_t;
int cstrata_fstat(int fd, cstrata_stat_t *out);
/// Fixes glibc's mmap threshold (mallopt M_MMAP_THRESHOLD), which otherwise grows with the largest block freed.
int cstrata_set_mmap_threshold(int bytes);
int cstrata_fstatat(int dirfd, const char *name, cstrata_stat_t *out);
int cstrata_is_dir(uint32_t mode);
int cstrata_is_reg(uint32_t mode);
int cstrata_is_lnk(uint32_t mode);

/// Directory reading on a duplicated fd; entries come back one at a time.
void *cstrata_opendir_fd(int dirfd);
/// Returns 1 with name and type set, 0 at end, -1 on error. type: 1 dir, 2 regular, 3 symlink, 4 other, 0 unknown.
int cstrata_readdir(void *dir, const char **name, int *type);
void cstrata_closedir(void *dir);


/// Running CRCs as S3 uses them (reflected; pass the previous return value, 0 to start).
uint32_t cstrata_crc32(uint32_t crc, const void *data, size_t length);
uint32_t cstrata_crc32c(uint32_t crc, const void *data, size_t length);
uint64_t cstrata_crc64nvme(uint64_t crc, const void *data, size_t length);
#endif
