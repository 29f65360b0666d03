#!/usr/bin/env bash
# Starts and stops a real one-node Slurm cluster on localhost for FERLab's `slurm` tests, from
# Debian 12's packages (slurmctld, slurmd, slurm-client, munge; scripts/setup.sh installs them):
#   cluster.sh start DIR   creates DIR; starts a private munged, slurmctld and slurmd as root,
#                          configured by DIR/slurm.conf (from slurm.conf.in); writes DIR/env for
#                          clients (`source DIR/env`); returns once the node is idle (60 s at most)
#   cluster.sh stop DIR    cancels the cluster's jobs and ends its daemons (from their pid files);
#                          safe to call twice, or after a failed start
# Each cluster has its own directory, munge socket and free ports, so clusters can run side by
# side. Nothing is started through systemd or /etc/init.d (there is no systemd here), and the
# machine's own /etc/slurm and munged are left alone.
# On failure start prints one line, "cluster.sh: FAIL: what failed: why (log tail)", stops what
# it started and exits 1; it never reports a cluster it could not check.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
action="${1:-}" dir="${2:-}"
if [[ "$action" != start && "$action" != stop || -z "$dir" ]]; then
  echo "usage: cluster.sh start|stop DIR" >&2
  exit 2
fi
if [[ "$action" == stop && ! -d "$dir" ]]; then
  exit 0
fi
mkdir -p "$dir"
dir="$(cd "$dir" && pwd)"
# The daemons and clients started here must see no other cluster's settings (see DIR/env).
for var in $(compgen -e | grep -E '^(SLURM|SBATCH|SALLOC|SRUN|SQUEUE|SINFO|SCANCEL|SCONTROL)_'); do
  unset "$var"
done
export SLURM_CONF="$dir/slurm.conf"

# The pid in FILE if that process is alive (not a zombie) and is NAME: a stale pid file must
# never make us signal some other process that got the pid since.
alive_pid() {
  local file="$1" name="$2" pid
  [[ -s "$file" ]] || return 1
  pid="$(tr -dc 0-9 <"$file")"
  [[ -n "$pid" && "$(cat "/proc/$pid/comm" 2>/dev/null)" == "$name" ]] || return 1
  [[ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" != Z ]] || return 1
  echo "$pid"
}

# Every descendant of the given pids (job shells under a slurmstepd, for instance).
descendants() {
  local -a queue=("$@") found=()
  local pid child
  while ((${#queue[@]})); do
    pid="${queue[0]}" queue=("${queue[@]:1}")
    for child in $(ps -o pid= --ppid "$pid" 2>/dev/null); do
      found+=("$child") queue+=("$child")
    done
  done
  echo "${found[@]}"
}

# slurmstepd processes of this cluster: slurmd hands its environment, SLURM_CONF included, to
# the slurmstepd it starts, which daemonises away from slurmd.
stepds() {
  local proc
  for proc in /proc/[0-9]*; do
    [[ "$(cat "$proc/comm" 2>/dev/null)" == slurmstepd ]] || continue
    { tr '\0' '\n' <"$proc/environ"; } 2>/dev/null | grep -qxF "SLURM_CONF=$SLURM_CONF" &&
      echo "${proc#/proc/}"
  done
  return 0
}

# Sends SIGNAL to the pids and waits up to SECONDS for them all to be gone.
end_pids() {
  local signal="$1" seconds="$2" pid left i
  shift 2
  (($#)) || return 0
  kill "-$signal" "$@" 2>/dev/null || true
  for ((i = 0; i < seconds * 10; i++)); do
    left=0
    for pid in "$@"; do
      if kill -0 "$pid" 2>/dev/null && [[ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" != Z ]]; then
        left=1
      fi
    done
    ((left)) || return 0
    sleep 0.1
  done
  return 1
}

stop() {
  local ctld slurmd munged pids pid gone i left=""
  # Jobs first, while the controller can still end them cleanly: a slurmd that stops leaves
  # its slurmstepds (and their jobs) running.
  if alive_pid "$dir/slurmctld.pid" slurmctld >/dev/null && [[ -f "$SLURM_CONF" ]]; then
    timeout 10 scancel --full --quiet "--user=$(id -un)" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do
      [[ -z "$(stepds)" ]] && break
      sleep 0.1
    done
  fi
  slurmd="$(alive_pid "$dir/slurmd.pid" slurmd || true)"
  ctld="$(alive_pid "$dir/slurmctld.pid" slurmctld || true)"
  # shellcheck disable=SC2086
  end_pids TERM 20 $slurmd $ctld || end_pids KILL 5 $slurmd $ctld || true
  # What the controller could not end: kill the stepds with their whole process trees.
  pids="$(stepds)"
  if [[ -n "$pids" ]]; then
    # shellcheck disable=SC2046,SC2086
    end_pids KILL 5 $pids $(descendants $pids) || true
  fi
  munged="$(alive_pid "$dir/munge/munged.pid" munged || true)"
  # shellcheck disable=SC2086
  end_pids TERM 10 $munged || end_pids KILL 5 $munged || true
  # The daemons are orphans, so PID 1 reaps them, here up to ~2 s late: wait (5 s at most) so
  # that no <defunct> slurmctld, slurmd or munged outlives stop.
  for ((i = 0; i < 50; i++)); do
    gone=1
    for pid in $slurmd $ctld $munged; do
      [[ -e "/proc/$pid" ]] && gone=0
    done
    ((gone)) && break
    sleep 0.1
  done
  for pid in $slurmd $ctld $munged $(stepds); do
    if kill -0 "$pid" 2>/dev/null && [[ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" != Z ]]; then
      left+=" $pid($(cat "/proc/$pid/comm" 2>/dev/null))"
    fi
  done
  if [[ -n "$left" ]]; then
    echo "cluster.sh: FAIL: still running after SIGKILL:$left (pid files kept in $dir)" >&2
    return 1
  fi
  rm -f "$dir/slurmctld.pid" "$dir/slurmd.pid" "$dir/munge/munged.pid"
}

# One line on what failed and why, then nothing left running.
fail() {
  echo "cluster.sh: FAIL: $*" >&2
  stop >/dev/null 2>&1 || true
  exit 1
}

# What a log says went wrong, on one line: its last two errors, less the harmless ones every
# daemon logs here (Debian's Slurm loads mpi/pmix, whose library is not installed), or else its
# last two lines.
tail_of() {
  local lines
  [[ -s "$1" ]] || { echo "($1 is empty or missing)"; return; }
  lines="$(grep -iE 'error|fatal' "$1" | grep -viE 'pmix|MPI: Cannot create context|state file|Trying backup state' | tail -n 2)"
  [[ -n "$lines" ]] || lines="$(tail -n 2 "$1")"
  echo "$1: $lines" | tr '\n' ' ' | sed 's/  */ /g'
}

port_free() {
  if command -v ss >/dev/null; then
    [[ -z "$(ss -Htan "( sport = :$1 )" 2>/dev/null)" ]]
  elif (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then
    return 1
  fi
}

# Two consecutive free ports from a random spot in 20000-59999. A port taken between this check
# and the daemon's start (another cluster picking the same one, 1 in 40,000) makes slurmctld or
# slurmd fail: "Error binding slurm stream socket: Address already in use".
pick_ports() {
  local port
  for ((try = 0; try < 50; try++)); do
    port=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
    if port_free "$port" && port_free $((port + 1)); then
      echo "$port"
      return 0
    fi
  done
  return 1
}

if [[ "$action" == stop ]]; then
  stop
  exit
fi

for tool in munged mungekey slurmctld slurmd sinfo scontrol; do
  command -v "$tool" >/dev/null ||
    { echo "cluster.sh: FAIL: $tool not found: run scripts/setup.sh (Debian's slurmctld slurmd slurm-client munge)" >&2; exit 1; }
done
if [[ "$(id -u)" -ne 0 ]]; then
  echo "cluster.sh: FAIL: must run as root (SlurmdUser=root; slurmd runs jobs as their users)" >&2
  exit 1
fi
if alive_pid "$dir/slurmctld.pid" slurmctld >/dev/null || alive_pid "$dir/slurmd.pid" slurmd >/dev/null ||
  alive_pid "$dir/munge/munged.pid" munged >/dev/null; then
  echo "cluster.sh: FAIL: a cluster is already running in $dir (cluster.sh stop $dir first)" >&2
  exit 1
fi

# munged wants the directory of its socket, and every one above it, searchable by all ("Socket
# is inaccessible: execute permissions for all required"); mktemp -d makes a 0700 directory.
parent="$dir"
while [[ "$parent" != / ]]; do
  parent="$(dirname "$parent")"
  (( 8#$(stat -c %a "$parent") & 1 )) ||
    { echo "cluster.sh: FAIL: $parent is not searchable by all (mode $(stat -c %a "$parent")); munged needs o+x on every directory above its socket $dir/munge/munge.socket" >&2; exit 1; }
done

host="$(hostname -s)"
# slurmd finds its node by the short host name; it must resolve, or slurmd cannot start.
getent hosts "$host" >/dev/null || fail "host name $host does not resolve (add it to /etc/hosts)"
cpus="$(nproc)"
ctld_port="$(pick_ports)" || fail "no two free consecutive TCP ports found in 20000-59999"
slurmd_port=$((ctld_port + 1))
# ClusterName: lower case, at most 40 characters, distinct per directory.
cluster="ferlab$(printf '%s' "$dir" | md5sum | cut -c1-8)"

rm -rf "$dir/state" "$dir/spool" "$dir/log" "$dir/munge"
mkdir -p "$dir/state" "$dir/spool" "$dir/log" "$dir/munge"
# Searchable by all (see above), writable by root only (munged refuses a socket or key
# directory that others may write to).
chmod 755 "$dir" "$dir/munge"
: >"$dir/plugstack.conf"
sed -e "s|@DIR@|$dir|g" -e "s|@HOST@|$host|g" -e "s|@CPUS@|$cpus|g" -e "s|@MEMORY@|1024|g" \
  -e "s|@CLUSTER@|$cluster|g" -e "s|@CTLD_PORT@|$ctld_port|g" -e "s|@SLURMD_PORT@|$slurmd_port|g" \
  "$here/slurm.conf.in" >"$SLURM_CONF"
# Clients read their settings from the environment too: drop any that an enclosing Slurm job
# or user set (SLURM_*, SBATCH_*, ...), so that the commands talk to this cluster only.
cat >"$dir/env" <<EOF
for _v in \$(compgen -e | grep -E '^(SLURM|SBATCH|SALLOC|SRUN|SQUEUE|SINFO|SCANCEL|SCONTROL)_'); do unset "\$_v"; done
unset _v
export SLURM_CONF=$SLURM_CONF
EOF

mungekey --create --keyfile="$dir/munge/munge.key" >/dev/null 2>&1 ||
  dd if=/dev/urandom of="$dir/munge/munge.key" bs=1024 count=1 status=none ||
  fail "cannot create the munge key $dir/munge/munge.key"
chmod 400 "$dir/munge/munge.key"
munged --socket="$dir/munge/munge.socket" --key-file="$dir/munge/munge.key" \
  --pid-file="$dir/munge/munged.pid" --log-file="$dir/log/munged.log" \
  --seed-file="$dir/munge/munged.seed" >"$dir/log/munged.out" 2>&1 ||
  fail "munged did not start: $(tail_of "$dir/log/munged.out") $(tail_of "$dir/log/munged.log")"
for ((i = 0; i < 50; i++)); do
  [[ -S "$dir/munge/munge.socket" ]] && break
  sleep 0.1
done
[[ -S "$dir/munge/munge.socket" ]] || fail "munged made no socket in 5 s: $(tail_of "$dir/log/munged.log")"

# Both daemons fork into the background and write their pid files; -f names our config.
slurmctld -f "$SLURM_CONF" >"$dir/log/slurmctld.out" 2>&1 ||
  fail "slurmctld did not start: $(tail_of "$dir/log/slurmctld.out") $(tail_of "$dir/log/slurmctld.log")"
slurmd -f "$SLURM_CONF" >"$dir/log/slurmd.out" 2>&1 ||
  fail "slurmd did not start: $(tail_of "$dir/log/slurmd.out") $(tail_of "$dir/log/slurmd.log")"

state="" start=$SECONDS
while ((SECONDS - start < 60)); do
  alive_pid "$dir/slurmctld.pid" slurmctld >/dev/null || [[ ! -s "$dir/slurmctld.pid" && $((SECONDS - start)) -lt 5 ]] ||
    fail "slurmctld exited: $(tail_of "$dir/log/slurmctld.log")"
  alive_pid "$dir/slurmd.pid" slurmd >/dev/null || [[ ! -s "$dir/slurmd.pid" && $((SECONDS - start)) -lt 5 ]] ||
    fail "slurmd exited: $(tail_of "$dir/log/slurmd.log")"
  state="$(sinfo -h -N -n "$host" -o %T 2>/dev/null || true)"
  [[ "$state" == idle ]] && break
  # INVAL or DRAIN: slurmctld rejected the node's registration, which waiting will not fix.
  [[ "$state" == inval || "$state" == drain* ]] &&
    fail "node $host registered as '$state' ($(sinfo -h -N -n "$host" -o %E)): $(tail_of "$dir/log/slurmctld.log")"
  sleep 0.5
done
[[ "$state" == idle ]] ||
  fail "node $host is '${state:-not reported}' after 60 s, not idle: $(tail_of "$dir/log/slurmd.log") | $(tail_of "$dir/log/slurmctld.log")"
echo "cluster.sh: cluster $cluster up in $dir (node $host, $cpus CPUs, ports $ctld_port/$slurmd_port)"
