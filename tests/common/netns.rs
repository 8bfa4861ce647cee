//! A LAN of network namespaces for the namespace tests (`scripts/testlan.sh`): hosts on
//! one private bridge (`Lan::up`), or on two subnets joined by a router
//! (`Lan::routed`); `lanchat --headless` run inside a host; torn down on drop, even
//! after a failure.
//!
//! Needs root and iproute2. Where namespaces cannot be made a test says so on stderr
//! and passes ([`or_skip`]), unless `LANCHAT_REQUIRE_LAN=1` (set by `.ci/run`), where it
//! fails. Nothing here touches the root namespace: bridges and router live in
//! namespaces of their own, and every namespace is named after the test's own tag and
//! process id, so tests running at once never share one.

use std::path::{Path, PathBuf};
use std::process::Command as Process;

use super::ChildNode;

/// A LAN of namespaces, brought down when dropped.
pub struct Lan {
    script: PathBuf,
    prefix: String,
}

impl Lan {
    /// `n` hosts on one bridge: host `i` is 10.77.0.(10+i)/24, broadcast 10.77.0.255.
    /// `tag` names this test's namespaces (`lc{tag}{pid}-…`).
    pub fn up(n: usize, tag: &str) -> Result<Lan, String> {
        Lan::make(tag, &["up", &n.to_string()])
    }

    /// Two subnets joined by a router: hosts `0..a` are 10.78.1.(10+i)/24, the next `b`
    /// hosts 10.78.2.(10+j)/24. Broadcasts stay on their subnet; unicast crosses.
    pub fn routed(a: usize, b: usize, tag: &str) -> Result<Lan, String> {
        Lan::make(tag, &["routed", &a.to_string(), &b.to_string()])
    }

    /// Runs `testlan.sh` with `args` under this test's prefix, or says why it cannot.
    fn make(tag: &str, args: &[&str]) -> Result<Lan, String> {
        let uid = Process::new("id")
            .arg("-u")
            .output()
            .map_err(|e| e.to_string())?;
        if String::from_utf8_lossy(&uid.stdout).trim() != "0" {
            return Err("not running as root".into());
        }
        let lan = Lan {
            script: PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scripts/testlan.sh"),
            prefix: format!("lc{tag}{}-", std::process::id()),
        };
        let out = Process::new("bash")
            .arg(&lan.script)
            .args(args)
            .env("TESTLAN_PREFIX", &lan.prefix)
            .output()
            .map_err(|e| format!("cannot run {}: {e}", lan.script.display()))?;
        if !out.status.success() {
            return Err(format!(
                "testlan.sh {} failed: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Ok(lan)
    }

    /// `ip netns exec` into host `host` (a number, or `"br"` for the bridge's
    /// namespace, `"rt"` for the router's).
    pub fn exec(&self, host: &str) -> Vec<String> {
        ["ip", "netns", "exec"]
            .map(str::to_owned)
            .into_iter()
            .chain([format!("{}{host}", self.prefix)])
            .collect()
    }

    /// Host `host`'s cable in (`true`) or out: `ip link set eth0 up|down` inside it.
    pub fn cable(&self, host: usize, plugged: bool) {
        let (ns, state) = (
            format!("{}{host}", self.prefix),
            if plugged { "up" } else { "down" },
        );
        let ok = Process::new("ip")
            .args(["-n", &ns, "link", "set", "eth0", state])
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "ip link set eth0 {state} in {ns}");
    }

    /// `lanchat --headless` in host `host` with its default binding (the host's only
    /// other interface is its cable), a 0.3 s interval, its data in `data`, and `extra`.
    pub fn node(&self, host: usize, data: &Path, name: &str, extra: &[&str]) -> ChildNode {
        let prefix = self.exec(&host.to_string());
        let prefix: Vec<&str> = prefix.iter().map(String::as_str).collect();
        let mut args = vec![
            "--interval",
            "0.3",
            "--data-dir",
            data.to_str().expect("UTF-8 temp path"),
        ];
        args.extend_from_slice(extra);
        ChildNode::spawn(&prefix, &args, name)
    }
}

impl Drop for Lan {
    fn drop(&mut self) {
        let _ = Process::new("bash")
            .arg(&self.script)
            .arg("down")
            .env("TESTLAN_PREFIX", &self.prefix)
            .output();
    }
}

/// The LAN, or `None` after saying why `test` is skipped (a failure where the LAN is
/// required).
pub fn or_skip(lan: Result<Lan, String>, test: &str) -> Option<Lan> {
    match lan {
        Ok(l) => Some(l),
        Err(why) => {
            skip(test, &why);
            None
        }
    }
}

/// Says why `test` is skipped, or fails it where the LAN is required
/// (`LANCHAT_REQUIRE_LAN=1`).
pub fn skip(test: &str, why: &str) {
    if std::env::var("LANCHAT_REQUIRE_LAN").as_deref() == Ok("1") {
        panic!("LAN test required (LANCHAT_REQUIRE_LAN=1) but: {why}");
    }
    eprintln!("SKIPPED {test}: {why}");
}
