#pragma once
// Which filesystem holds a path, read from the kernel (statfs(2) f_type; for FUSE, the mount's
// subtype in /proc/self/mountinfo), so the store can refuse what SQLite says does not work:
// "WAL does not work over a network filesystem" (https://sqlite.org/wal.html), and fcntl locks
// "might not work correctly" on NFS (https://sqlite.org/faq.html, question 5).
// Magic numbers: linux/magic.h, and the vendors' headers for Lustre (LL_SUPER_MAGIC), GPFS
// and BeeGFS.

#include <cstdint>
#include <string>

namespace ferlab::core {

struct FilesystemType {
  std::uint64_t magic = 0;  ///< statfs f_type
  std::string name;         ///< "ext4/ext3/ext2", "tmpfs", "nfs", "lustre", "fuse.sshfs", ...
  /// A filesystem whose files live on another machine, shared with other clients: NFS, SMB/CIFS,
  /// Lustre, GPFS, BeeGFS, CephFS, 9p, AFS, and FUSE mounts of sshfs, GlusterFS, CephFS, s3fs,
  /// gcsfuse or rclone.
  bool network = false;
};

/// The filesystem type for `magic` (and, for FUSE, the mount's fstype such as "fuse.sshfs").
/// Unknown magics are named "0x<hex>" and taken as local.
FilesystemType classifyFilesystem(std::uint64_t magic, const std::string& fuse_type = "");

/// The filesystem holding `path`, or its nearest existing parent when `path` does not exist
/// yet (a store about to be created). Throws std::system_error when statfs fails.
FilesystemType filesystemTypeOf(const std::string& path);

}  // namespace ferlab::core
