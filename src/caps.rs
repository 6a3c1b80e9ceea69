//! Linux capability names and numbers (capability.h), for the
//! `capabilities=` key. Pure.

/// Names of capabilities 0 to 40, in order, without the `cap_` prefix.
const NAMES: &[u8] = b"chown dac_override dac_read_search fowner fsetid kill setgid setuid setpcap linux_immutable \
net_bind_service net_broadcast net_admin net_raw ipc_lock ipc_owner sys_module sys_rawio sys_chroot \
sys_ptrace sys_pacct sys_admin sys_boot sys_nice sys_resource sys_time sys_tty_config mknod lease \
audit_write audit_control setfcap mac_override mac_admin syslog wake_alarm block_suspend audit_read \
perfmon bpf checkpoint_restore";

/// The highest capability number going knows.
#[allow(dead_code)] // for confinement (issue 16), next
pub const LAST: u32 = 40;

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
    crate::fmt::pick(bare, NAMES).map(|i| i as u32)
}

/// The name of capability `n`, without `cap_`.
pub fn name(n: u32) -> Option<&'static [u8]> {
    crate::fmt::word(NAMES, n as usize)
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
