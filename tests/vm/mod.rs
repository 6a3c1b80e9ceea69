//! The boot harness: going inside a real Linux kernel, under qemu.
//!
//! A test describes a tiny system (static busybox, the going under test at
//! `/sbin/going`, its service files and scripts), the harness packs it into
//! an uncompressed newc initramfs in the test's temp dir, boots it with
//! qemu's TCG (no KVM here), and records the serial console in a file. The
//! console is what the test asserts on: services print markers to going's
//! stdout, which is the console when going is process 1, and the kernel
//! prints `reboot: Power down` and the like even with `quiet`.
//!
//! A boot ends when qemu exits (a power-off, a reboot under `-no-reboot`, a
//! panic under `panic=-1`), when one of the lines the test waits for shows
//! up, when the console has been silent for 15 s after its first output,
//! or at a hard deadline (40 s unless the test says otherwise); in the
//! last three cases qemu is killed. A hang fails its test and never stalls the run.
//!
//! Tools are found here, never installed: qemu on `PATH`; for x86_64 the
//! kernel from `GOING_VM_KERNEL` or the newest `/boot/vmlinuz-*-cloud-amd64`
//! and busybox from `GOING_VM_BUSYBOX` or `/bin/busybox`; for aarch64 the
//! kernel and busybox that `tests/vm/fetch-arm64.sh` unpacks into
//! `target/vm-arm64` (or `GOING_VM_ARM64_DIR`), and going from
//! `GOING_AARCH64_BIN` or `target/aarch64-unknown-linux-musl/release/going`.
//! A missing tool skips the test with a one-line reason, unless
//! `GOING_REQUIRE_VM=1` is set (CI): then it fails the test.

#![allow(dead_code)] // each test file uses a different part

use crate::common::Tmp;
use std::collections::BTreeMap;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arch {
    X86_64,
    Aarch64,
}

impl Arch {
    pub fn name(self) -> &'static str {
        match self {
            Arch::X86_64 => "x86_64",
            Arch::Aarch64 => "aarch64",
        }
    }

    fn qemu(self) -> &'static str {
        match self {
            Arch::X86_64 => "qemu-system-x86_64",
            Arch::Aarch64 => "qemu-system-aarch64",
        }
    }

    /// The machine, before `-kernel`.
    fn machine(self) -> &'static [&'static str] {
        match self {
            Arch::X86_64 => &[],
            Arch::Aarch64 => &["-M", "virt", "-cpu", "cortex-a57"],
        }
    }

    fn console(self) -> &'static str {
        match self {
            Arch::X86_64 => "ttyS0",
            Arch::Aarch64 => "ttyAMA0",
        }
    }

    /// ELF `e_machine` of the binaries that run inside.
    fn elf_machine(self) -> u16 {
        match self {
            Arch::X86_64 => 62,
            Arch::Aarch64 => 183,
        }
    }
}

/// Everything a boot needs, found on this machine.
pub struct Tools {
    pub arch: Arch,
    pub qemu: PathBuf,
    pub kernel: PathBuf,
    pub busybox: PathBuf,
    pub going: PathBuf,
}

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Whether a missing tool fails the test instead of skipping it.
pub fn required() -> bool {
    std::env::var_os("GOING_REQUIRE_VM").is_some_and(|v| v == "1")
}

/// The tools for `arch`, or why a boot cannot happen here.
pub fn find_tools(arch: Arch) -> Result<Tools, String> {
    let qemu = on_path(arch.qemu()).ok_or_else(|| format!("{} is not installed", arch.qemu()))?;
    let (kernel, busybox, going) = match arch {
        Arch::X86_64 => {
            let kernel = match std::env::var_os("GOING_VM_KERNEL") {
                Some(k) => PathBuf::from(k),
                None => newest_kernel(Path::new("/boot"), "-cloud-amd64")
                    .ok_or("no /boot/vmlinuz-*-cloud-amd64 (apt-get install linux-image-cloud-amd64)")?,
            };
            let busybox = std::env::var_os("GOING_VM_BUSYBOX").map_or(PathBuf::from("/bin/busybox"), PathBuf::from);
            (kernel, busybox, PathBuf::from(env!("CARGO_BIN_EXE_going")))
        }
        Arch::Aarch64 => {
            let cache = std::env::var_os("GOING_VM_ARM64_DIR")
                .map_or_else(|| manifest_dir().join("target/vm-arm64"), PathBuf::from);
            let going = std::env::var_os("GOING_AARCH64_BIN")
                .map_or_else(|| manifest_dir().join("target/aarch64-unknown-linux-musl/release/going"), PathBuf::from);
            (cache.join("vmlinuz"), cache.join("busybox"), going)
        }
    };
    let fetch = match arch {
        Arch::X86_64 => "apt-get install linux-image-cloud-amd64",
        Arch::Aarch64 => "tests/vm/fetch-arm64.sh",
    };
    if !kernel.is_file() {
        return Err(format!("no kernel at {} ({fetch})", kernel.display()));
    }
    let bb_fix = match arch {
        Arch::X86_64 => "apt-get install busybox-static",
        Arch::Aarch64 => fetch,
    };
    check_static(&busybox, arch).map_err(|why| format!("busybox: {why} ({bb_fix})"))?;
    let build = "cargo build --release --target aarch64-unknown-linux-musl";
    check_static(&going, arch).map_err(|why| format!("going: {why} ({build})"))?;
    if arch == Arch::Aarch64 && std::env::var_os("GOING_AARCH64_BIN").is_none() && older_than_src(&going) {
        return Err(format!("{} is older than src/ ({build})", going.display()));
    }
    Ok(Tools { arch, qemu, kernel, busybox, going })
}

/// The tools, or `None` after printing why the test is skipped; under
/// `GOING_REQUIRE_VM=1` a missing tool panics instead.
pub fn tools_or_skip(test: &str, arch: Arch) -> Option<Tools> {
    match find_tools(arch) {
        Ok(t) => Some(t),
        Err(why) if required() => panic!("{test} [{}]: GOING_REQUIRE_VM=1 and {why}", arch.name()),
        Err(why) => {
            eprintln!("skipped {test} [{}]: {why}", arch.name());
            None
        }
    }
}

fn on_path(prog: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|d| d.join(prog)).find(|p| p.is_file())
}

/// `/boot/vmlinuz-6.1.0-57-cloud-amd64` beats `…-9-…`: numbers compare as
/// numbers.
fn newest_kernel(boot: &Path, flavour: &str) -> Option<PathBuf> {
    let mut found: Vec<(Vec<u64>, PathBuf)> = fs::read_dir(boot)
        .ok()?
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let version = name.strip_prefix("vmlinuz-")?.strip_suffix(flavour)?;
            let key = version.split(|c: char| !c.is_ascii_digit()).filter_map(|n| n.parse().ok()).collect();
            Some((key, e.path()))
        })
        .collect();
    found.sort();
    found.pop().map(|(_, p)| p)
}

/// A 64-bit little-endian ELF executable for `arch` without a program
/// interpreter (`PT_INTERP`): it runs on a bare initramfs.
fn check_static(path: &Path, arch: Arch) -> Result<(), String> {
    let b = fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let u16_at = |o: usize| b.get(o..o + 2).map_or(0, |s| u16::from_le_bytes([s[0], s[1]]));
    if b.len() < 64 || &b[..4] != b"\x7fELF" || b[4] != 2 || b[5] != 1 {
        return Err(format!("{} is not a 64-bit little-endian ELF file", path.display()));
    }
    if u16_at(18) != arch.elf_machine() {
        return Err(format!("{} is not an {} program", path.display(), arch.name()));
    }
    let phoff = u64::from_le_bytes(b[32..40].try_into().unwrap()) as usize;
    let (size, count) = (u16_at(54) as usize, u16_at(56) as usize);
    let interp = (0..count).any(|i| {
        let o = phoff + i * size;
        b.get(o..o + 4).is_some_and(|t| u32::from_le_bytes(t.try_into().unwrap()) == 3)
    });
    if interp {
        return Err(format!("{} is dynamically linked", path.display()));
    }
    Ok(())
}

/// Whether a file under `src/` (or `Cargo.toml`) changed after `bin` was built.
fn older_than_src(bin: &Path) -> bool {
    let Ok(built) = fs::metadata(bin).and_then(|m| m.modified()) else { return true };
    let mut sources = vec![manifest_dir().join("Cargo.toml")];
    if let Ok(rd) = fs::read_dir(manifest_dir().join("src")) {
        sources.extend(rd.flatten().map(|e| e.path()));
    }
    sources.iter().filter_map(|p| fs::metadata(p).and_then(|m| m.modified()).ok()).any(|t| t > built)
}

/// The busybox applets every image links into `/bin`: what the scenarios'
/// scripts use, and a little more for someone poking at `make vm`.
const APPLETS: &[&str] = &[
    "[", "awk", "cat", "chmod", "cp", "cttyhack", "cut", "date", "dd", "dmesg", "echo", "env", "false", "free", "grep",
    "halt", "head", "hostname", "httpd", "id", "ifconfig", "init", "ip", "kill", "less", "ln", "logread", "ls",
    "mkdir", "mknod", "mount", "mv", "pidof", "poweroff", "printf", "ps", "readlink", "reboot", "rm", "sed", "seq",
    "setsid", "sh", "sleep", "sort", "stat", "sync", "syslogd", "tail", "tee", "test", "top", "touch", "tr", "true",
    "umount", "uname", "uptime", "vi", "wc", "wget", "yes",
];

#[derive(Clone)]
enum Node {
    Dir(u32),
    File(u32, Vec<u8>),
    Symlink(String),
    CharDev(u32, u32, u32),
}

/// The files of an initramfs, by absolute path.
pub struct Image {
    nodes: BTreeMap<String, Node>,
}

impl Image {
    /// A base system: busybox with its applets in `/bin`, going at
    /// `/sbin/going`, `/dev/console` for the kernel to open, empty mount
    /// points, `/etc/passwd` and `/etc/group`, and `/etc/going.d`. No
    /// `/init` yet: `going_as_init` or `busybox_init` says who runs first.
    pub fn new(tools: &Tools) -> io::Result<Image> {
        let mut img = Image { nodes: BTreeMap::new() };
        for d in ["/proc", "/sys", "/dev", "/run", "/mnt", "/root", "/etc/going.d", "/usr/bin", "/usr/sbin"] {
            img.dir(d);
        }
        img.nodes.insert("tmp".into(), Node::Dir(0o1777));
        img.nodes.insert("dev/console".into(), Node::CharDev(0o600, 5, 1));
        img.exe("/bin/busybox", fs::read(&tools.busybox)?);
        for a in APPLETS {
            img.link(&format!("/bin/{a}"), "busybox");
        }
        img.link("/sbin/init", "/bin/busybox");
        img.exe("/sbin/going", fs::read(&tools.going)?);
        img.file("/etc/passwd", "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n");
        img.file("/etc/group", "root:x:0:\nnogroup:x:65534:\n");
        Ok(img)
    }

    fn key(path: &str) -> String {
        assert!(path.starts_with('/') && !path.ends_with('/'), "image paths are absolute: {path:?}");
        path.trim_start_matches('/').to_string()
    }

    /// Adds the missing parents of `path` as directories.
    fn parents(&mut self, key: &str) {
        let mut at = 0;
        while let Some(i) = key[at..].find('/') {
            self.nodes.entry(key[..at + i].to_string()).or_insert(Node::Dir(0o755));
            at += i + 1;
        }
    }

    fn put(&mut self, path: &str, node: Node) -> &mut Self {
        let key = Image::key(path);
        self.parents(&key);
        self.nodes.insert(key, node);
        self
    }

    pub fn dir(&mut self, path: &str) -> &mut Self {
        self.put(path, Node::Dir(0o755))
    }

    /// A regular file, mode 0644.
    pub fn file(&mut self, path: &str, content: impl Into<Vec<u8>>) -> &mut Self {
        self.put(path, Node::File(0o644, content.into()))
    }

    /// An executable file (a program or a script), mode 0755.
    pub fn exe(&mut self, path: &str, content: impl Into<Vec<u8>>) -> &mut Self {
        self.put(path, Node::File(0o755, content.into()))
    }

    pub fn link(&mut self, path: &str, target: &str) -> &mut Self {
        self.put(path, Node::Symlink(target.to_string()))
    }

    /// `/etc/going.d/NAME`.
    pub fn service(&mut self, name: &str, content: &str) -> &mut Self {
        self.file(&format!("/etc/going.d/{name}"), content)
    }

    /// Copies a directory of the host (e.g. `examples/initramfs`) to `at`,
    /// keeping each file's executable bit.
    pub fn tree(&mut self, from: &Path, at: &str) -> io::Result<&mut Self> {
        for e in fs::read_dir(from)? {
            let e = e?;
            let name = e.file_name().into_string().map_err(|_| io::Error::other("file name is not UTF-8"))?;
            let to = format!("{}/{name}", at.trim_end_matches('/'));
            let ty = e.file_type()?;
            if ty.is_dir() {
                self.dir(&to);
                self.tree(&e.path(), &to)?;
            } else if ty.is_symlink() {
                self.link(&to, &fs::read_link(e.path())?.to_string_lossy());
            } else {
                use std::os::unix::fs::PermissionsExt;
                let mode = if e.metadata()?.permissions().mode() & 0o111 != 0 { 0o755 } else { 0o644 };
                self.put(&to, Node::File(mode, fs::read(e.path())?));
            }
        }
        Ok(self)
    }

    /// going is the first process: `/init` -> `/sbin/going` (the kernel's
    /// `rdinit=/init` default), nothing mounted before it.
    pub fn going_as_init(&mut self) -> &mut Self {
        self.link("/init", "/sbin/going")
    }

    /// busybox init is the first process, reading this `/etc/inittab`.
    pub fn busybox_init(&mut self, inittab: &str) -> &mut Self {
        self.link("/init", "/bin/busybox").file("/etc/inittab", inittab)
    }

    /// The whole image as an uncompressed newc cpio archive, which the
    /// kernel unpacks as its initramfs: parents come before their children
    /// (the map is sorted by path), then the `TRAILER!!!` entry.
    pub fn write_newc(&self, out: &mut impl Write) -> io::Result<()> {
        for (ino, (name, node)) in self.nodes.iter().enumerate() {
            let (mode, data, rdev): (u32, &[u8], (u32, u32)) = match node {
                Node::Dir(m) => (0o040000 | m, &[], (0, 0)),
                Node::File(m, d) => (0o100000 | m, d, (0, 0)),
                Node::Symlink(t) => (0o120777, t.as_bytes(), (0, 0)),
                Node::CharDev(m, major, minor) => (0o020000 | m, &[], (*major, *minor)),
            };
            let nlink = if matches!(node, Node::Dir(_)) { 2 } else { 1 };
            newc_entry(out, ino as u32 + 1, mode, nlink, rdev, name, data)?;
        }
        newc_entry(out, 0, 0, 1, (0, 0), "TRAILER!!!", &[])
    }

    pub fn save(&self, path: &Path) -> io::Result<()> {
        let mut f = io::BufWriter::new(fs::File::create(path)?);
        self.write_newc(&mut f)?;
        f.into_inner()?.sync_all()
    }
}

/// One newc record: "070701", thirteen 8-digit hex fields, the NUL-ended
/// name, padding to 4 bytes, the data, padding to 4 bytes.
fn newc_entry(
    out: &mut impl Write,
    ino: u32,
    mode: u32,
    nlink: u32,
    rdev: (u32, u32),
    name: &str,
    data: &[u8],
) -> io::Result<()> {
    let size = u32::try_from(data.len()).map_err(|_| io::Error::other("file over 4 GiB"))?;
    let namesize = name.len() as u32 + 1;
    // ino mode uid gid nlink mtime filesize devmajor devminor rdevmajor rdevminor namesize check
    let fields = [ino, mode, 0, 0, nlink, 0, size, 0, 0, rdev.0, rdev.1, namesize, 0];
    let mut head = String::from("070701");
    for f in fields {
        head.push_str(&format!("{f:08x}"));
    }
    out.write_all(head.as_bytes())?;
    out.write_all(name.as_bytes())?;
    out.write_all(&[0])?;
    out.write_all(&[0; 3][..pad4(110 + namesize as usize)])?;
    out.write_all(data)?;
    out.write_all(&[0; 3][..pad4(data.len())])
}

fn pad4(n: usize) -> usize {
    (4 - n % 4) % 4
}

/// qemu booting `initrd` with `rdinit=/init` and the extra kernel
/// arguments `append`, its serial console on its stdin and stdout.
pub fn qemu_command(tools: &Tools, initrd: &Path, append: &str) -> Command {
    let cmdline = format!("console={} quiet panic=-1 rdinit=/init {append}", tools.arch.console());
    let mut qemu = Command::new(&tools.qemu);
    qemu.args(tools.arch.machine())
        // No network card: nothing inside needs one, and x86_64 then
        // skips the iPXE boot ROM.
        .args(["-accel", "tcg", "-m", "256", "-nographic", "-no-reboot", "-nic", "none"])
        .arg("-kernel")
        .arg(&tools.kernel)
        .arg("-initrd")
        .arg(initrd)
        .arg("-append")
        .arg(cmdline.trim_end());
    qemu
}

/// A running qemu whose serial console goes into a file. Killed on drop.
pub struct Vm {
    pub arch: Arch,
    child: Child,
    console_path: PathBuf,
    started: Instant,
    /// The hard deadline: qemu is killed then, whatever a test waits for.
    deadline: Instant,
    exit: Option<ExitStatus>,
    /// A console silent this long means the system is stuck.
    quiet: Duration,
    /// Why the harness killed qemu, when it did.
    pub stopped: Option<End>,
}

impl Vm {
    /// Boots `initrd` with `rdinit=/init` and the extra kernel arguments
    /// `append`; `limit` is the hard deadline and `quiet` the longest
    /// silence of the console.
    pub fn start(
        tools: &Tools,
        dir: &Path,
        initrd: &Path,
        append: &str,
        limit: Duration,
        quiet: Duration,
    ) -> io::Result<Vm> {
        let arch = tools.arch;
        let console_path = dir.join("console.log");
        let console = fs::File::create(&console_path)?;
        let child = qemu_command(tools, initrd, append)
            .stdin(Stdio::null())
            .stdout(console.try_clone()?)
            .stderr(console)
            .spawn()?;
        let started = Instant::now();
        Ok(Vm { arch, child, console_path, started, deadline: started + limit, exit: None, quiet, stopped: None })
    }

    /// The console so far, with the serial line's `\r` removed.
    pub fn console(&self) -> String {
        String::from_utf8_lossy(&fs::read(&self.console_path).unwrap_or_default()).replace('\r', "")
    }

    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// qemu's exit status once it has exited.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        if self.exit.is_none() {
            self.exit = self.child.try_wait().ok().flatten();
        }
        self.exit
    }

    /// Polls until the console shows one of `lines` (returning it), qemu
    /// exits, the hard deadline passes or the console has been silent for
    /// `quiet` after its first output (then qemu is killed; all but the
    /// first return `None`).
    pub fn wait_for(&mut self, lines: &[&str]) -> Option<String> {
        let mut seen = 0;
        let mut changed = Instant::now();
        loop {
            let console = self.console();
            if let Some(l) = lines.iter().find(|l| console.contains(**l)) {
                return Some(l.to_string());
            }
            if self.exited().is_some() {
                // Whatever qemu wrote just before exiting is in the file now.
                let console = self.console();
                return lines.iter().find(|l| console.contains(**l)).map(|l| l.to_string());
            }
            if console.len() != seen {
                seen = console.len();
                changed = Instant::now();
            }
            // Before its first line a `quiet` kernel says nothing while
            // it boots (slowly, emulated on a busy machine): only the
            // deadline holds there.
            let stuck = seen > 0 && changed.elapsed() >= self.quiet;
            if stuck || Instant::now() >= self.deadline {
                self.stopped = Some(if stuck { End::Silent(self.quiet) } else { End::Deadline });
                self.kill();
                return None;
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits for qemu to exit by itself, up to the hard deadline.
    pub fn wait_exit(&mut self) -> Option<ExitStatus> {
        self.wait_for(&[]);
        self.exited()
    }

    pub fn kill(&mut self) {
        if self.exited().is_none() {
            let _ = self.child.kill();
            self.exit = self.child.wait().ok();
        }
    }
}

impl Drop for Vm {
    fn drop(&mut self) {
        self.kill();
    }
}

/// How a boot ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum End {
    /// qemu exited by itself (power-off, reboot, panic).
    Exited,
    /// The console showed this line and qemu was killed.
    Saw(String),
    /// The hard deadline passed and qemu was killed.
    Deadline,
    /// Nothing came out of the console for this long and qemu was killed.
    Silent(Duration),
}

/// A finished boot: its console, for assertions and failure messages.
/// Its temp dir (image, console.log) is kept when the test fails.
pub struct Boot {
    pub tmp: Tmp,
    pub arch: Arch,
    pub test: String,
    pub console: String,
    pub end: End,
    pub took: Duration,
}

/// What a test asks of one boot.
pub struct Run<'a> {
    pub test: &'a str,
    pub arch: Arch,
    /// Extra kernel arguments after `rdinit=/init` (a later `rdinit=`
    /// wins).
    pub append: &'a str,
    /// The boot ends (qemu killed) once the console shows one of these;
    /// with none, it ends when qemu exits.
    pub until: &'a [&'a str],
    /// The hard deadline.
    pub limit: Duration,
    /// The longest silence of the console before the boot counts as stuck.
    pub quiet: Duration,
}

impl<'a> Run<'a> {
    pub fn new(test: &'a str, arch: Arch) -> Run<'a> {
        Run { test, arch, append: "", until: &[], limit: Duration::from_secs(40), quiet: Duration::from_secs(15) }
    }

    pub fn until(self, until: &'a [&'a str]) -> Run<'a> {
        Run { until, ..self }
    }

    pub fn limit(self, secs: u64) -> Run<'a> {
        Run { limit: Duration::from_secs(secs), ..self }
    }

    pub fn append(self, append: &'a str) -> Run<'a> {
        Run { append, ..self }
    }

    /// Builds the image with `build`, boots it and waits for the end. `None`
    /// when the tools are missing and the test is skipped.
    pub fn boot(&self, build: impl FnOnce(&mut Image)) -> Option<Boot> {
        let tools = tools_or_skip(self.test, self.arch)?;
        let tmp = Tmp::new(&format!("{}-{}", self.test, self.arch.name()));
        let mut img = Image::new(&tools).expect("cannot read busybox or going");
        build(&mut img);
        let initrd = tmp.file("initrd.cpio");
        img.save(&initrd).expect("cannot write the initramfs");
        let mut vm =
            Vm::start(&tools, &tmp.path, &initrd, self.append, self.limit, self.quiet).expect("cannot start qemu");
        let end = match vm.wait_for(self.until) {
            Some(line) => {
                // A moment for the lines right after it, then stop qemu.
                let grace = Instant::now() + Duration::from_millis(300);
                while Instant::now() < grace && vm.exited().is_none() {
                    thread::sleep(Duration::from_millis(20));
                }
                End::Saw(line)
            }
            None => vm.stopped.clone().unwrap_or(End::Exited),
        };
        vm.kill();
        let boot =
            Boot { tmp, arch: self.arch, test: self.test.to_string(), console: vm.console(), end, took: vm.elapsed() };
        eprintln!("vm: {} [{}]: {:?} after {:.1?}", self.test, self.arch.name(), boot.end, boot.took);
        if std::env::var_os("GOING_VM_SHOW").is_some_and(|v| v == "1") {
            eprintln!("{}", boot.context());
        }
        Some(boot)
    }
}

impl Boot {
    /// The failure message's tail: how the boot ended and its whole console.
    pub fn context(&self) -> String {
        let how = match &self.end {
            End::Exited => format!("qemu exited after {:.1?}", self.took),
            End::Saw(l) => format!("stopped at {l:?} after {:.1?}", self.took),
            End::Deadline => format!("killed at the hard deadline, {:.1?}", self.took),
            End::Silent(d) => format!("killed after {:.1?}: the console was silent for {d:.0?}", self.took),
        };
        format!("[{} {}] {how}; console:\n{}\n---- end of console ----", self.test, self.arch.name(), self.console)
    }

    pub fn has(&self, s: &str) -> bool {
        self.console.contains(s)
    }

    pub fn expect(&self, s: &str) {
        assert!(self.has(s), "console never showed {s:?}\n{}", self.context());
    }

    pub fn expect_not(&self, s: &str) {
        assert!(!self.has(s), "console showed {s:?}\n{}", self.context());
    }

    /// Each of `marks` appears, each after the one before it.
    pub fn expect_order(&self, marks: &[&str]) {
        let mut at = 0;
        let mut prev = "(boot)";
        for m in marks {
            match self.console[at..].find(m) {
                Some(i) => at += i + m.len(),
                None if self.has(m) => panic!("{m:?} came before {prev:?}\n{}", self.context()),
                None => panic!("console never showed {m:?}\n{}", self.context()),
            }
            prev = m;
        }
    }

    /// The first console line containing `s`.
    pub fn line(&self, s: &str) -> Option<&str> {
        self.console.lines().find(|l| l.contains(s))
    }

    /// The number after `key` (e.g. `"percent="`) on the first line with
    /// `mark`.
    pub fn number(&self, mark: &str, key: &str) -> u64 {
        let parsed = self.line(mark).and_then(|l| {
            let rest = &l[l.find(key)? + key.len()..];
            rest.trim_start().split(|c: char| !c.is_ascii_digit()).next()?.parse().ok()
        });
        parsed.unwrap_or_else(|| panic!("no number after {key:?} on a {mark:?} line\n{}", self.context()))
    }

    /// Neither a panic nor a crashed init on the console.
    pub fn expect_no_panic(&self) {
        for bad in ["Kernel panic", "Attempted to kill init", "unable to open an initial console"] {
            self.expect_not(bad);
        }
    }
}
