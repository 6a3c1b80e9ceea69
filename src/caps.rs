//! Linux capability names and numbers (capability.h), for the
//! `capabilities=` key. Pure.

/// Names of capabilities 0 to 40, in order, without the `cap_` prefix.
const NAMES: [&[u8]; 41] = [
    b"chown",
    b"dac_override",
    b"dac_read_search",
    b"fowner",
    b"fsetid",
    b"kill",
    b"setgid",
    b"setuid",
    b"setpcap",
    b"linux_immutable",
    b"net_bind_service",
    b"net_broadcast",
    b"net_admin",
    b"net_raw",
    b"ipc_lock",
    b"ipc_owner",
    b"sys_module",
    b"sys_rawio",
    b"sys_chroot",
    b"sys_ptrace",
    b"sys_pacct",
    b"sys_admin",
    b"sys_boot",
    b"sys_nice",
    b"sys_resource",
    b"sys_time",
    b"sys_tty_config",
    b"mknod",
    b"lease",
    b"audit_write",
    b"audit_control",
    b"setfcap",
    b"mac_override",
    b"mac_admin",
    b"syslog",
    b"wake_alarm",
    b"block_suspend",
    b"audit_read",
    b"perfmon",
    b"bpf",
    b"checkpoint_restore",
];

/// The highest capability number going knows.
#[allow(dead_code)] // for confinement (issue 16), next
pub const LAST: u32 = NAMES.len() as u32 - 1;

/// The number of a capability name: case-insensitive, with or without
/// `cap_`.
pub fn number(name: &[u8]) -> Option<u32> {
    let mut low = [0u8; 32];
    let n = name.len();
    if n > low.len() {
        return None;
    }
    for (d, s) in low.iter_mut().zip(name) {
        *d = s.to_ascii_lowercase();
    }
    let low = low.get(..n)?;
    let bare = low.strip_prefix(b"cap_").unwrap_or(low);
    NAMES.iter().position(|k| *k == bare).map(|i| i as u32)
}

/// The name of capability `n`, without `cap_`.
pub fn name(n: u32) -> Option<&'static [u8]> {
    NAMES.get(n as usize).copied()
}

/// Parses a comma-separated list into a bit set; an empty list is the
/// empty set. `Err` carries the first name that is not a capability.
pub fn parse(list: &[u8]) -> Result<u64, &[u8]> {
    let mut set = 0u64;
    for item in list.split(|&b| b == b',') {
        let item = item.trim_ascii();
        if item.is_empty() {
            continue;
        }
        set |= 1 << number(item).ok_or(item)?;
    }
    Ok(set)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for n in 0..=LAST {
            let nm = name(n).unwrap();
            assert_eq!(number(nm), Some(n));
            let mut up = b"CAP_".to_vec();
            up.extend(nm.to_ascii_uppercase());
            assert_eq!(number(&up), Some(n));
        }
        assert_eq!(name(LAST + 1), None);
    }

    #[test]
    fn lists() {
        assert_eq!(parse(b""), Ok(0));
        assert_eq!(parse(b"cap_net_bind_service"), Ok(1 << 10));
        assert_eq!(parse(b"NET_BIND_SERVICE, chown"), Ok(1 << 10 | 1));
        assert_eq!(parse(b"net_bind_service,nope"), Err(&b"nope"[..]));
        assert_eq!(parse(b"cap_"), Err(&b"cap_"[..]));
        assert_eq!(parse(&[b'a'; 40]), Err(&[b'a'; 40][..]));
    }
}
