//! Every capacity and timing constant of going, in one place.
//!
//! Each static table counts in full towards VmPeak (BSS is mapped even when
//! untouched), so these numbers are the memory budget of the supervisor.

/// Services the table holds; files beyond it are rejected by name.
pub const MAX_SERVICES: usize = 256;
/// Longest service name (the file name), in bytes.
pub const MAX_NAME: usize = 64;
/// Largest config file, in bytes.
pub const MAX_FILE: usize = 4096;
/// Bytes shared by all services for their names, configs and error texts.
/// Configs are stored without comments and blank lines, so a full table
/// averages 192 bytes a service; a single one may use up to `MAX_FILE`.
/// (It lives in the supervisor's stack frame, inside the initial stack
/// mapping: more would grow VmPeak.)
pub const ARENA_BYTES: usize = 48 * 1024;
/// Most arguments in one `cmd=`.
pub const MAX_ARGS: usize = 256;
/// Most `env=` lines in one file.
pub const MAX_ENV: usize = 64;
/// Rejected directory entries remembered for `going status`.
pub const MAX_REJECTED: usize = 16;
/// One log line, at most; `PIPE_BUF` so a write to a pipe is atomic.
pub const LINE: usize = 512;

/// A run shorter than this is a quick exit and leads to backoff.
pub const MIN_UPTIME_NS: u64 = 5 * SEC;
/// Backoff after the k-th quick exit: min(2^(k-1), this) seconds.
pub const BACKOFF_MAX_SECS: u64 = 60;
/// Delay before retrying a spawn that failed in going (fork, pipe, /dev/null).
pub const SPAWN_RETRY_NS: u64 = SEC;
/// Default `stop_timeout`, seconds.
pub const STOP_TIMEOUT_SECS: u32 = 10;
/// Largest accepted `stop_timeout`, seconds (one day).
pub const MAX_STOP_TIMEOUT_SECS: u32 = 86_400;
/// Delay before retrying a config directory that could not be read.
pub const RESCAN_RETRY_NS: u64 = SEC;
/// How long a service's file may be absent before the service is taken
/// for removed: the directory is then read in full. `rm f; cp f.bak f`
/// and an editor's backup rename put the name back well within it.
pub const GONE_GRACE_NS: u64 = SEC / 10;
/// Delay between attempts to reach a missing or refusing `/dev/log`.
pub const SYSLOG_RETRY_NS: u64 = 10 * SEC;
/// Bytes of going's own log lines held in one wake-up before they are
/// written (`going: ` and the newline included), and how many lines: a
/// respawn or a pickup makes two or three, a cold start of 256 is
/// written 20 lines or so at a time. Under `PIPE_BUF`, so a write to a
/// pipe is whole or not at all.
pub const LOG_HELD: usize = 1024;
pub const LOG_HELD_LINES: usize = 24;

/// The environment every service starts from; `env=` lines add to it.
pub const DEFAULT_PATH: &[u8] = b"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Nanoseconds in a second.
/// Children that may run between their clone and their exec while going
/// goes on with the next start of a burst (`spawn::Pool`).
pub const ALONGSIDE: usize = 3;
/// How long a burst waits for one of them to be done before it starts
/// the next service the waiting way.
pub const ALONGSIDE_WAIT: u64 = SEC / 10;
pub const SEC: u64 = 1_000_000_000;
/// Default config directory and control socket.
pub const DEFAULT_DIR_C: &core::ffi::CStr = c"/etc/going.d";
pub const DEFAULT_SOCKET_C: &core::ffi::CStr = c"/run/going.sock";

/// Control-socket clients served at once; more get `error=busy`.
pub const MAX_CLIENTS: usize = 4;
/// Reply bytes buffered per client; status rows stream through it.
pub const REPLY_BUF: usize = 1024;
/// A client that has not sent its request or read its answer by then is
/// dropped.
pub const CLIENT_TIMEOUT_NS: u64 = 2 * SEC;
/// Most supplementary groups a service gets from `/etc/group`.
pub const MAX_GROUPS: usize = 64;
/// Bytes read from one service's output pipe per wake-up, so a flooding
/// service cannot starve the other event sources.
pub const LOG_READ_PER_WAKE: usize = 64 * 1024;
/// The longest line of service output written as one (SPEC §12): a
/// longer one is cut into lines of this many bytes. Also the size of the
/// one buffer output is read into.
pub const LOG_LINE_MAX: usize = 4096;
/// Room in front of the read buffer of service output, where going puts
/// what goes before each line (`log_time`, `NAME | `): the lines of one
/// read go out in one write as long as their additions fit in it.
pub const LOG_ROOM: usize = 2048;
/// Pause after `/dev/log` refused a service's line (missing, no reader)
/// before it is tried again; meanwhile lines are dropped and counted,
/// without a system call. Also the shortest run of dropped lines that is
/// reported, so a syslog that is full again and again costs going two
/// log lines a second.
pub const SYSLOG_PAUSE_NS: u64 = SEC;
/// `after=` edges of all services together.
pub const MAX_EDGES: usize = 1024;
/// Pause before a log rotation that failed (a rename refused) is tried
/// again; meanwhile the file grows past `log_size`.
pub const LOG_ROTATE_RETRY_NS: u64 = SEC;
/// `going wait` clients that may wait at once.
pub const MAX_WAITERS: usize = 32;
/// How long after a change of the running set `SOCKET.pids` is written:
/// a burst of spawns (a cold start, a chain released one by one) costs
/// one write instead of one each.
pub const PIDS_RECORD_DELAY_NS: u64 = 20_000_000;
/// Services whose private network namespace is kept from one run to the
/// next (`private_network`); others get a new one at each start.
pub const MAX_NETWORKS: usize = 8;
/// Longest `log=` file path, in bytes.
pub const MAX_LOG_PATH: usize = 1024;
/// How long a starting going waits for the cgroups a killed predecessor
/// left to empty before it starts anything.
pub const CGROUP_SWEEP_NS: u64 = 5 * SEC;
/// How far below a service's cgroup going reaches, into the cgroups the
/// service made itself, when it signals them, kills them by their pids
/// and removes them: at most this many levels below it, one directory
/// descriptor open per level, and this many cgroups seen in one call.
pub const CGROUP_DEPTH: usize = 16;
pub const CGROUP_WALK: usize = 512;
/// While the rest of a service's cgroup is being killed, it is killed
/// and looked at again this often (a lost or impossible inotify watch,
/// a kernel without `cgroup.kill` where a process forks meanwhile).
pub const DRAIN_RECHECK_NS: u64 = SEC;
