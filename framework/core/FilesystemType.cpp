#include "framework/core/FilesystemType.h"

#include <sys/vfs.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>

#include <fmt/format.h>

namespace ferlab::core {
namespace {

namespace fs = std::filesystem;

constexpr std::uint64_t kFuseMagic = 0x65735546;

struct KnownFilesystem {
  std::uint64_t magic;
  const char* name;
  bool network;
};

constexpr KnownFilesystem kKnown[] = {
    {0xEF53, "ext4/ext3/ext2", false},
    {0x58465342, "xfs", false},
    {0x9123683E, "btrfs", false},
    {0x01021994, "tmpfs", false},
    {0x794C7630, "overlay", false},
    {0x858458F6, "ramfs", false},
    {0x2FC12FC1, "zfs", false},
    {0xF2F52010, "f2fs", false},
    {0x6969, "nfs", true},
    {0x517B, "smb", true},
    {0xFF534D42, "cifs", true},
    {0xFE534D42, "smb2", true},
    {0x0BD00BD0, "lustre", true},
    {0x47504653, "gpfs", true},
    {0x19830326, "beegfs", true},
    {0x00C36400, "ceph", true},
    {0x01021997, "9p", true},
    {0x5346414F, "afs", true},
    {0x6B414653, "afs", true},
    {0x73757245, "coda", true},
    {0x01161970, "gfs2", true},
    {0x7461636F, "ocfs2", true},
    {kFuseMagic, "fuse", false},
};

// FUSE filesystems that reach files on other machines.
constexpr const char* kNetworkFuseTypes[] = {"fuse.sshfs",   "fuse.glusterfs", "fuse.ceph-fuse",
                                             "fuse.s3fs",    "fuse.gcsfuse",   "fuse.rclone",
                                             "fuse.juicefs", "fuse.lustre"};

fs::path nearestExisting(fs::path path) {
  path = fs::absolute(path);
  std::error_code error;
  while (!fs::exists(path, error) && path.has_parent_path() && path != path.parent_path())
    path = path.parent_path();
  return path;
}

// The fstype (field after " - ") of the mount with the longest mount point containing
// `path`, from /proc/self/mountinfo (proc(5)).
std::string mountType(const fs::path& path) {
  std::ifstream mountinfo("/proc/self/mountinfo");
  const std::string target = fs::weakly_canonical(path).string();
  std::string line, best_type;
  std::size_t best_length = 0;
  while (std::getline(mountinfo, line)) {
    std::istringstream fields(line);
    std::string id, parent, device, root, mount_point;
    fields >> id >> parent >> device >> root >> mount_point;
    const auto separator = line.find(" - ");
    if (separator == std::string::npos) continue;
    std::istringstream tail(line.substr(separator + 3));
    std::string type;
    tail >> type;
    const bool contains =
        target == mount_point || (target.rfind(mount_point, 0) == 0 &&
                                  (mount_point == "/" || target.size() > mount_point.size() &&
                                                             target[mount_point.size()] == '/'));
    if (contains && mount_point.size() >= best_length) {
      best_length = mount_point.size();
      best_type = type;
    }
  }
  return best_type;
}

}  // namespace

FilesystemType classifyFilesystem(std::uint64_t magic, const std::string& fuse_type) {
  FilesystemType type{magic, fmt::format("0x{:x}", magic), false};
  for (const auto& known : kKnown) {
    if (known.magic != magic) continue;
    type.name = known.name;
    type.network = known.network;
  }
  if (magic == kFuseMagic && !fuse_type.empty()) {
    type.name = fuse_type;
    for (const char* network : kNetworkFuseTypes)
      type.network = type.network || fuse_type == network;
  }
  return type;
}

FilesystemType filesystemTypeOf(const std::string& path) {
  const fs::path existing = nearestExisting(path);
  struct statfs info {};
  if (::statfs(existing.c_str(), &info) != 0) {
    throw std::system_error(errno, std::generic_category(), "statfs " + existing.string());
  }
  const auto magic = static_cast<std::uint64_t>(static_cast<std::uint32_t>(info.f_type));
  return classifyFilesystem(magic, magic == kFuseMagic ? mountType(existing) : "");
}

}  // namespace ferlab::core
