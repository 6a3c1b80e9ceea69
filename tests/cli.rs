//! SPEC §1: the command line — usage, version, usage errors, `going check`.

mod common;
use common::*;
use std::process::Output;

fn going(args: &[&str]) -> Output {
    going_command().args(args).env_clear().output().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn help_prints_usage_on_stdout_and_exits_0() {
    for flag in ["-h", "--help"] {
        let out = going(&[flag]);
        let stdout = text(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "{flag}");
        assert!(stdout.contains("going"), "{flag}: {stdout:?}");
        assert!(stdout.contains("-d"), "{flag} does not mention -d: {stdout:?}");
        assert!(stdout.contains("check"), "{flag} does not mention check: {stdout:?}");
        assert!(out.stderr.is_empty(), "{flag}: stderr {:?}", text(&out.stderr));
    }
}

#[test]
fn version_prints_name_and_semver() {
    for flag in ["-V", "--version"] {
        let out = going(&[flag]);
        assert_eq!(out.status.code(), Some(0), "{flag}");
        assert_eq!(text(&out.stdout), format!("going {}\n", env!("CARGO_PKG_VERSION")), "{flag}");
    }
}

#[test]
fn usage_errors_exit_64_with_usage_on_stderr() {
    let cases: &[&[&str]] = &[&["-x"], &["--frobnicate"], &["-d"], &["-s"], &["frobnicate"], &["check", "-d"]];
    for args in cases {
        let out = going(args);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(64), "{args:?}: stderr {stderr:?}");
        assert!(stderr.starts_with("going: "), "{args:?}: {stderr:?}");
        assert!(stderr.contains("-d"), "{args:?}: no usage on stderr: {stderr:?}");
        assert!(out.stdout.is_empty(), "{args:?}: stdout {:?}", text(&out.stdout));
    }
}

#[test]
fn check_accepts_a_valid_dir() {
    let t = Tmp::new("check_ok");
    t.write("a", "cmd=/bin/sleep 1000\n");
    t.write("b", "# a comment\ncmd=sleep 1000\nrestart=on-failure\nenv=A=1\nenv=B=2\numask=077\n");
    let (code, out) = t.check();
    assert_eq!(code, 0, "{out}");
}

#[test]
fn check_rejects_a_bad_file_naming_dir_name_line() {
    let t = Tmp::new("check_bad");
    t.write("good", "cmd=/bin/sleep 1000\n");
    t.write("bad", "cmd=/bin/sleep 1000\n\nfoo=bar\n");
    let (code, out) = t.check();
    assert_eq!(code, 78, "{out}");
    let want = format!("{}/bad:3:", t.conf_str());
    assert!(out.contains(&want), "no {want:?} in {out:?}");
    assert!(out.contains("foo"), "{out:?}");
    assert!(!out.contains("/good"), "a valid file is reported: {out:?}");
}

/// The binary's read-write segment (`.data`, `.bss`) fits in one 4 KiB
/// page, so going's own writable data costs one resident page, not two
/// (`.cargo/rw-page.ld`).
#[test]
fn the_read_write_segment_fits_in_one_page() {
    let b = std::fs::read(bin()).unwrap();
    let u16_at = |o: usize| u16::from_le_bytes(b[o..o + 2].try_into().unwrap()) as usize;
    let u32_at = |o: usize| u32::from_le_bytes(b[o..o + 4].try_into().unwrap());
    let u64_at = |o: usize| u64::from_le_bytes(b[o..o + 8].try_into().unwrap());
    assert!(&b[..4] == b"\x7fELF" && b[4] == 2 && b[5] == 1, "not a 64-bit little-endian ELF");
    let (phoff, phentsize, phnum) = (u64_at(0x20) as usize, u16_at(0x36), u16_at(0x38));
    let writable: Vec<(u64, u64)> = (0..phnum)
        .map(|k| phoff + k * phentsize)
        .filter(|&h| u32_at(h) == 1 && u32_at(h + 4) & 2 != 0) // PT_LOAD, PF_W
        .map(|h| (u64_at(h + 0x10), u64_at(h + 0x28))) // p_vaddr, p_memsz
        .collect();
    assert_eq!(writable.len(), 1, "writable segments: {writable:x?}");
    let (vaddr, memsz) = writable[0];
    // The rule rw-page.ld relies on, whatever the segment's start today.
    assert!(memsz <= 1024, "the segment is {memsz} bytes: ALIGN(1024) in rw-page.ld no longer keeps it in a page");
    assert!(vaddr % 4096 + memsz <= 4096, "the segment at {vaddr:#x}, {memsz:#x} bytes, straddles two pages");
}
