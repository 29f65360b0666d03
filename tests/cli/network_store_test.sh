#!/usr/bin/env bash
# The tracking store on a real network filesystem: sshfs over ssh to a private sshd on
# 127.0.0.1 (this kernel has FUSE but no NFS), label `netfs`. SQLite's WAL does not work over a
# network filesystem (https://sqlite.org/wal.html), so FERLab must refuse it there and point to
# shards, and shards (rollback journal, one writer) and `ferlab merge` must work there:
#  a. `ferlab run --db mnt/ferlab.db` exits non-zero with one error line naming
#     "network filesystem (fuse.sshfs)" and --shard, and creates no store file;
#  b. `ferlab run --cell 0 --shard --db mnt/shards/cell-0.db` finishes its run, journal "delete";
#  c. `ferlab merge mnt/shards --into mnt/merged.db` exits 0 and `ferlab ls` lists the run.
# The sshd and ssh client use only the files made here (their own config, throwaway host and
# client keys), never /etc/ssh's config or host keys or ~/.ssh.
#   network_store_test.sh FERLAB_BINARY FER2013_DIR [WORK_DIR]
# Exit 0 on success; otherwise 1 with a "FAIL: ..." line, keeping the work directory.
set -euo pipefail
ferlab="$(realpath "$1")" fer2013="$(realpath "$2")" work="${3:-}" own_work=0
if [[ -z "$work" ]]; then
  own_work=1
  work="$(mktemp -d /tmp/ferlab-netfs.XXXXXX)"
fi
mkdir -p "$work"
work="$(realpath "$work")"
cache="$(dirname "$ferlab")/test-cache"  # the decoded-dataset cache the other tests share
ssh_dir="$work/ssh" remote="$work/remote" mnt="$work/mnt"
t0=$SECONDS
passed=0 sshd_pid="" mounted=0

# Whether /proc/self/mountinfo has a fuse.sshfs mount at $mnt (fstype: 3rd field from the end).
is_mounted() {
  awk -v m="$mnt" '$5 == m && $(NF-2) == "fuse.sshfs" { found = 1 } END { exit !found }' \
    /proc/self/mountinfo
}

finish() {
  local status=$?
  if ((mounted)) || is_mounted 2>/dev/null; then
    # A lazy unmount if something still holds the mount, so no mount outlives the test.
    fusermount -u "$mnt" 2>/dev/null || fusermount -uz "$mnt" 2>/dev/null || umount -l "$mnt" ||
      { echo "FAIL: cannot unmount $mnt" >&2; status=1; }
  fi
  if [[ -f "$ssh_dir/sshd.pid" ]]; then sshd_pid="$(cat "$ssh_dir/sshd.pid")"; fi
  if [[ -n "$sshd_pid" ]] && kill -0 "$sshd_pid" 2>/dev/null; then
    # Once sshfs is gone its session process ends; wait for it, then stop the listener (which
    # would leave a live session behind).
    for _ in $(seq 50); do
      [[ -z "$(pgrep -P "$sshd_pid" || true)" ]] && break
      sleep 0.2
    done
    pkill -TERM -P "$sshd_pid" 2>/dev/null || true
    kill -TERM "$sshd_pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$sshd_pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$sshd_pid" 2>/dev/null && { kill -KILL "$sshd_pid" 2>/dev/null || true; }
  fi
  if ((passed && status == 0)); then
    ((own_work)) && rm -rf "$work"
  else
    echo "network_store_test: work kept in $work" >&2
  fi
  exit "$status"
}
trap finish EXIT
fail() {
  echo "FAIL: $* ($((SECONDS - t0)) s)" >&2
  exit 1
}

# Prerequisites, each named when missing (never a silent skip).
for tool in /usr/sbin/sshd ssh ssh-keygen sshfs fusermount sqlite3; do
  command -v "$tool" >/dev/null ||
    fail "$tool not found: install sshfs and openssh-server (scripts/setup.sh)"
done
grep -qw fuse /proc/filesystems || fail "the kernel has no FUSE (no 'fuse' in /proc/filesystems)"
[[ -c /dev/fuse ]] || fail "/dev/fuse is missing: sshfs cannot mount (a container without it?)"
[[ -r /dev/fuse && -w /dev/fuse ]] || fail "/dev/fuse is not readable and writable by $(id -un)"
# sshd refuses to start without its privilege-separation folder, which the package's init script
# (not run without systemd or runlevels) would create.
if [[ ! -d /run/sshd ]]; then
  mkdir -p /run/sshd 2>/dev/null && chmod 755 /run/sshd ||
    fail "/run/sshd (sshd's privilege-separation folder) is missing and cannot be created"
fi

mkdir -p "$ssh_dir" "$remote" "$mnt"
chmod 700 "$ssh_dir"
user="$(id -un)"
ssh-keygen -q -t ed25519 -N '' -C ferlab-netfs-host -f "$ssh_dir/host_ed25519" ||
  fail "ssh-keygen could not make the host key"
ssh-keygen -q -t ed25519 -N '' -C ferlab-netfs-client -f "$ssh_dir/client_ed25519" ||
  fail "ssh-keygen could not make the client key"
cp "$ssh_dir/client_ed25519.pub" "$ssh_dir/authorized_keys"
chmod 600 "$ssh_dir/authorized_keys"

# Starts the private sshd on a free port: a port taken meanwhile makes sshd exit at once, so
# try another. Sets port and sshd_pid.
start_sshd() {
  local attempt
  for attempt in $(seq 20); do
    port=$((20000 + RANDOM % 40000))
    cat >"$ssh_dir/sshd_config" <<CONF
ListenAddress 127.0.0.1
Port $port
HostKey $ssh_dir/host_ed25519
PidFile $ssh_dir/sshd.pid
AuthorizedKeysFile $ssh_dir/authorized_keys
AllowUsers $user
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
X11Forwarding no
AllowTcpForwarding no
PrintMotd no
Subsystem sftp internal-sftp
CONF
    rm -f "$ssh_dir/sshd.pid"
    /usr/sbin/sshd -D -f "$ssh_dir/sshd_config" -E "$ssh_dir/sshd.log" </dev/null >/dev/null 2>&1 &
    sshd_pid=$!
    for _ in $(seq 100); do  # it writes its pid file once it listens
      [[ -s "$ssh_dir/sshd.pid" ]] && return 0
      kill -0 "$sshd_pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$sshd_pid" 2>/dev/null; then
      fail "sshd started but wrote no pid file in 10 s: $(tail -3 "$ssh_dir/sshd.log")"
    fi
    wait "$sshd_pid" 2>/dev/null || true
    sshd_pid=""
    grep -q "Address already in use" "$ssh_dir/sshd.log" ||
      fail "sshd would not start: $(tail -3 "$ssh_dir/sshd.log" | tr '\n' ' ')"
    : >"$ssh_dir/sshd.log"
  done
  fail "no free port for sshd after 20 tries"
}
port="" sshd_pid=""
start_sshd
[[ "$(cat "$ssh_dir/sshd.pid")" == "$sshd_pid" ]] ||
  fail "sshd's pid file does not hold its pid $sshd_pid"

# The client's own config (-F): nothing from /etc/ssh/ssh_config or ~/.ssh.
cat >"$ssh_dir/ssh_config" <<CONF
Host *
  IdentitiesOnly yes
  BatchMode yes
  LogLevel ERROR
  GlobalKnownHostsFile /dev/null
CONF
if ! sshfs -F "$ssh_dir/ssh_config" -p "$port" \
    -o "IdentityFile=$ssh_dir/client_ed25519,StrictHostKeyChecking=no,UserKnownHostsFile=/dev/null" \
    "$user@127.0.0.1:$remote" "$mnt" 2>"$work/sshfs.err"; then
  fail "sshfs could not mount $user@127.0.0.1:$remote: $(tr '\n' ' ' <"$work/sshfs.err")" \
       "sshd log: $(tail -3 "$ssh_dir/sshd.log" | tr '\n' ' ')"
fi
mounted=1
fstype="$(stat -f -c %T "$mnt")"
[[ "$fstype" == fuse* ]] || fail "stat -f says $mnt is '$fstype', not FUSE"
is_mounted || fail "/proc/self/mountinfo shows no fuse.sshfs mount at $mnt"
echo "network_store_test: $mnt is fuse.sshfs over ssh to 127.0.0.1:$port"

cat >"$work/grid.toml" <<TOML
name = "netfs"
[data]
path = "$fer2013"
cache_dir = "$cache"
subset = 200
eval_subset = 0.05
[train]
epochs = 1
TOML

# a. A WAL store there is refused, naming the filesystem and the way out, before any file exists.
set +e
"$ferlab" run "$work/grid.toml" --db "$mnt/ferlab.db" --results "$mnt/results" >"$work/a.log" 2>&1
rc=$?
set -e
((rc != 0)) || fail "a: ferlab run --db on sshfs exited 0; expected the network-filesystem refusal"
lines="$(grep -c "network filesystem (fuse.sshfs)" "$work/a.log" || true)"
[[ "$lines" == 1 ]] ||
  fail "a: $lines lines name 'network filesystem (fuse.sshfs)', expected 1: $(cat "$work/a.log")"
grep "network filesystem (fuse.sshfs)" "$work/a.log" | grep -q -- "--shard" ||
  fail "a: the error does not mention --shard: $(cat "$work/a.log")"
[[ ! -e "$mnt/ferlab.db" ]] || fail "a: the refused run created $mnt/ferlab.db"
echo "network_store_test: a. refused (exit $rc): $(grep "network filesystem" "$work/a.log")"

# b. A shard store (rollback journal, one writer) works there.
if ! "$ferlab" run "$work/grid.toml" --cell 0 --shard --db "$mnt/shards/cell-0.db" \
    --results "$mnt/results" >"$work/b.log" 2>&1; then
  fail "b: ferlab run --cell 0 --shard on sshfs failed: $(tail -5 "$work/b.log")"
fi
journal="$(sqlite3 "$mnt/shards/cell-0.db" "PRAGMA journal_mode")" ||
  fail "b: sqlite3 cannot read the shard over sshfs"
[[ "$journal" == delete ]] || fail "b: the shard's journal_mode is '$journal', expected delete"
status="$(sqlite3 "$mnt/shards/cell-0.db" "SELECT group_concat(status) FROM runs")"
[[ "$status" == finished ]] || fail "b: the shard's runs have status '$status', expected finished"
run_id="$(sqlite3 "$mnt/shards/cell-0.db" "SELECT id FROM runs")"
echo "network_store_test: b. shard run $run_id finished, journal $journal"

# c. The merge writes its store there with the rollback journal.
if ! "$ferlab" merge "$mnt/shards" --into "$mnt/merged.db" >"$work/c.log" 2>&1; then
  fail "c: ferlab merge into sshfs failed: $(tail -5 "$work/c.log")"
fi
merged="$(sqlite3 "$mnt/merged.db" "PRAGMA journal_mode; SELECT id || ' ' || status FROM runs")"
[[ "$merged" == "delete"$'\n'"$run_id finished" ]] ||
  fail "c: merged.db holds '$merged', expected journal delete and run $run_id finished"
"$ferlab" ls --db "$mnt/merged.db" >"$work/ls.log" 2>&1 ||
  fail "c: ferlab ls failed: $(cat "$work/ls.log")"
grep -q "$run_id" "$work/ls.log" && grep -q finished "$work/ls.log" ||
  fail "c: ferlab ls does not list run $run_id as finished: $(cat "$work/ls.log")"
echo "network_store_test: c. merged and listed run $run_id"

passed=1
echo "network_store_test: ok ($((SECONDS - t0)) s)"
