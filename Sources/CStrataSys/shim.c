#define _GNU_SOURCE
#include "CStrataSys.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/xattr.h>
#include <linux/openat2.h>

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#endif

int cstrata_open_beneath(int dirfd, const char *path, int flags, mode_t mode) {
    struct open_how how;
    memset(&how, 0, sizeof(how));
    how.flags = (uint64_t)(flags | O_CLOEXEC);
    if (flags & O_CREAT) how.mode = mode;
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
    int fd;
    do {
        fd = (int)syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
    } while (fd < 0 && errno == EAGAIN);
    return fd;
}

int cstrata_open_tmpfile(int dirfd, mode_t mode) {
    return openat(dirfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, mode);
}

int cstrata_link_fd(int fd, int dirfd, const char *name) {
    char path[64];
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    return linkat(AT_FDCWD, path, dirfd, name, AT_SYMLINK_FOLLOW);
}

int cstrata_rename(int olddirfd, const char *oldname, int newdirfd, const char *newname, int noreplace) {
    return (int)syscall(SYS_renameat2, olddirfd, oldname, newdirfd, newname, noreplace ? RENAME_NOREPLACE : 0);
}

ssize_t cstrata_pread_nowait(int fd, void *buffer, size_t count, int64_t offset) {
#ifdef RWF_NOWAIT
    struct iovec iov = {.iov_base = buffer, .iov_len = count};
    return preadv2(fd, &iov, 1, (off_t)offset, RWF_NOWAIT);
#else
    errno = EOPNOTSUPP;
    return -1;
#endif
}

ssize_t cstrata_copy_file_range(int fd_in, int64_t *off_in, int fd_out, int64_t *off_out, size_t len) {
    return copy_file_range(fd_in, (loff_t *)off_in, fd_out, (loff_t *)off_out, len, 0);
}

ssize_t cstrata_fgetxattr(int fd, const char *name, void *value, size_t size) {
    return fgetxattr(fd, name, value, size);
}
int cstrata_fsetxattr(int fd, const char *name, const void *value, size_t size) {
    return fsetxattr(fd, name, value, size, 0);
}
int cstrata_fremovexattr(int fd, const char *name) { return fremovexattr(fd, name); }

static void at_path(char *buf, size_t len, int dirfd, const char *name) {
    snprintf(buf, len, "/proc/self/fd/%d/%s", dirfd, name);
}
ssize_t cstrata_getxattr_at(int dirfd, const char *name, const char *attr, void *value, size_t size) {
    char path[4200];
    at_path(path, sizeof(path), dirfd, name);
    return lgetxattr(path, attr, value, size);
}
int cstrata_setxattr_at(int dirfd, const char *name, const char *attr, const void *value, size_t size) {
    char path[4200];
    at_path(path, sizeof(path), dirfd, name);
    return lsetxattr(path, attr, value, size, 0);
}
int cstrata_removexattr_at(int dirfd, const char *name, const char *attr) {
    char path[4200];
    at_path(path, sizeof(path), dirfd, name);
    return lremovexattr(path, attr);
}

int cstrata_o_path(void) { return O_PATH; }
int cstrata_o_directory(void) { return O_DIRECTORY; }
int cstrata_o_nofollow(void) { return O_NOFOLLOW; }
int cstrata_o_cloexec(void) { return O_CLOEXEC; }
int cstrata_at_removedir(void) { return AT_REMOVEDIR; }
int cstrata_at_symlink_nofollow(void) { return AT_SYMLINK_NOFOLLOW; }

static void fill(const struct statx *sx, cstrata_stat_t *out) {
    out->size = (int64_t)sx->stx_size;
    out->mtime_sec = sx->stx_mtime.tv_sec;
    out->mtime_nsec = sx->stx_mtime.tv_nsec;
    out->ctime_sec = sx->stx_ctime.tv_sec;
    out->ctime_nsec = sx->stx_ctime.tv_nsec;
    out->inode = sx->stx_ino;
    out->device = ((uint64_t)sx->stx_dev_major << 32) | sx->stx_dev_minor;
    out->mode = sx->stx_mode;
    out->birth_sec = (sx->stx_mask & STATX_BTIME) ? sx->stx_btime.tv_sec : sx->stx_mtime.tv_sec;
    out->uid = sx->stx_uid;
    out->gid = sx->stx_gid;
}
int cstrata_fstat(int fd, cstrata_stat_t *out) {
    struct statx sx;
    if (statx(fd, "", AT_EMPTY_PATH, STATX_BASIC_STATS | STATX_BTIME, &sx) != 0) return -1;
    fill(&sx, out);
    return 0;
}
int cstrata_fstatat(int dirfd, const char *name, cstrata_stat_t *out) {
    struct statx sx;
    if (statx(dirfd, name, AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS | STATX_BTIME, &sx) != 0) return -1;
    fill(&sx, out);
    return 0;
}
int cstrata_is_dir(uint32_t mode) { return S_ISDIR(mode); }
int cstrata_is_reg(uint32_t mode) { return S_ISREG(mode); }
int cstrata_is_lnk(uint32_t mode) { return S_ISLNK(mode); }

void *cstrata_opendir_fd(int dirfd) {
    int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return NULL;
    DIR *d = fdopendir(fd);
    if (!d) { close(fd); return NULL; }
    return d;
}
int cstrata_readdir(void *dir, const char **name, int *type) {
    errno = 0;
    struct dirent *e = readdir((DIR *)dir);
    if (!e) return errno ? -1 : 0;
    *name = e->d_name;
    switch (e->d_type) {
        case DT_DIR: *type = 1; break;
        case DT_REG: *type = 2; break;
        case DT_LNK: *type = 3; break;
        case DT_UNKNOWN: *type = 0; break;
        default: *type = 4; break;
    }
    return 1;
}
void cstrata_closedir(void *dir) { closedir((DIR *)dir); }

#include <malloc.h>
int cstrata_set_mmap_threshold(int bytes) { return mallopt(M_MMAP_THRESHOLD, bytes); }
