//! `procfile::entries` and `procfile::config` on arbitrary bytes.
//!
//! Every entry that is accepted must become a config file that
//! `config::parse` accepts (going starts it without another check), whose
//! `cmd` splits into exactly `/bin/sh -c COMMAND` and whose log is
//! `prefix`; a command only fails to fit when its quoted form is longer
//! than `MAX_FILE`. Line numbers rise; names follow the Procfile rule.

#![no_main]

#[allow(dead_code)]
#[path = "../../src/cmdline.rs"]
mod cmdline;
#[allow(dead_code)]
#[path = "../../src/config.rs"]
mod config;
#[allow(dead_code)]
#[path = "../../src/fmt.rs"]
mod fmt;
#[allow(dead_code)]
#[path = "../../src/limits.rs"]
mod limits;
#[allow(dead_code)]
#[path = "../../src/procfile.rs"]
mod procfile;
#[allow(dead_code)]
#[path = "../../src/sig.rs"]
mod sig;

use cmdline::{Tok, split};
use libfuzzer_sys::fuzz_target;
use limits::{MAX_FILE, MAX_NAME};

fuzz_target!(|data: &[u8]| {
    let mut last = 0;
    for (line, entry) in procfile::entries(data) {
        assert!(line > last, "line numbers do not rise");
        last = line;
        let Ok((name, cmd)) = entry else { continue };
        assert!(!name.is_empty() && name.len() <= MAX_NAME);
        assert!(name.iter().all(|b| b.is_ascii_alphanumeric() || b"_-".contains(b)));
        let mut out = [0u8; MAX_FILE];
        let Some(n) = procfile::config(cmd, &mut out) else {
            let need =
                "cmd=/bin/sh -c ''\nlog=prefix\n".len() + cmd.len() + 3 * cmd.iter().filter(|&&b| b == b'\'').count();
            assert!(need > MAX_FILE, "a command of {need} bytes did not fit");
            continue;
        };
        let text = &out[..n];
        let c = config::parse(text)
            .unwrap_or_else(|e| panic!("procfile config {:?} does not parse: {e:?}", String::from_utf8_lossy(text)));
        assert_eq!(c.log, config::Log::Prefix);
        let mut argv = vec![Vec::new()];
        split(c.cmd, |t| match t {
            Tok::Byte(b) => argv.last_mut().unwrap().push(b),
            Tok::End => argv.push(Vec::new()),
        })
        .expect("validated by parse");
        argv.pop();
        assert_eq!(argv, [&b"/bin/sh"[..], b"-c", cmd], "the command changed on its way through the config");
        let mut canon = [0u8; MAX_FILE + 1];
        let m = config::canonical(text, &mut canon).expect("canonical of a valid config");
        assert_eq!(config::parse(&canon[..m]).map(|c| c.cmd).ok(), Some(c.cmd));
    }
});
