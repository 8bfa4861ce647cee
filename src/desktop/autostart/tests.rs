use super::*;

/// A directory of its own under the system temp dir, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> TempDir {
        let dir = std::env::temp_dir().join(format!("lanchat-autostart-{}", uuid::Uuid::new_v4()));
        fs::create_dir_all(&dir).expect("temp dir");
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

#[test]
fn config_home_follows_the_xdg_rules() {
    let home = Path::new("/home/li");
    let xdg = |v: &str| config_home(Some(OsStr::new(v)), Some(home));
    assert_eq!(xdg("/srv/cfg"), Some(PathBuf::from("/srv/cfg")));
    // Unset, empty or relative: ignored, ~/.config instead.
    assert_eq!(config_home(None, Some(home)), Some(home.join(".config")));
    assert_eq!(xdg(""), Some(home.join(".config")));
    assert_eq!(xdg("relative/cfg"), Some(home.join(".config")));
    assert_eq!(config_home(None, None), None);
    assert_eq!(
        config_home(Some(OsStr::new("/x")), None),
        Some(PathBuf::from("/x"))
    );
    assert_eq!(
        entry_path(Path::new("/srv/cfg")),
        Path::new("/srv/cfg/autostart/lanchat.desktop")
    );
}

#[test]
fn a_session_start_is_this_start_hidden() {
    let args = |v: &[&str]| v.iter().map(OsString::from).collect::<Vec<_>>();
    assert_eq!(session_args(args(&[])), args(&["--hidden"]));
    assert_eq!(
        session_args(args(&[
            "--data-dir",
            "/d",
            "--hidden",
            "--bind",
            "127.0.0.1"
        ])),
        args(&["--data-dir", "/d", "--bind", "127.0.0.1", "--hidden"])
    );
}

#[test]
fn exec_arguments_are_quoted_as_the_desktop_entry_spec_says() {
    let exec = |exe: &str, args: &[&str]| {
        let args: Vec<OsString> = args.iter().map(OsString::from).collect();
        exec_line(Path::new(exe), &args).expect("representable")
    };
    assert_eq!(
        exec("/usr/bin/lanchat", &["--hidden"]),
        "/usr/bin/lanchat --hidden"
    );
    assert_eq!(
        exec("/opt/my apps/lanchat", &["--name", "张 三"]),
        r#""/opt/my apps/lanchat" --name "张 三""#
    );
    // Inside quotes `"`, `$`, backquote and `\` are escaped, then `\` is doubled again by
    // the string escapes of the key's value.
    assert_eq!(
        exec("/x", &["--data-dir", r#"/d "q" $HOME \b `c`"#]),
        r#"/x --data-dir "/d \\"q\\" \\$HOME \\\\b \\`c\\`""#
    );
    assert_eq!(exec("/x", &["100%"]), "/x 100%%");
}

#[test]
fn an_argument_a_desktop_entry_cannot_hold_is_refused() {
    for bad in ["line\nbreak", "", "tab\u{7}"] {
        let err = exec_line(Path::new("/x"), &[OsString::from(bad)]).unwrap_err();
        assert!(matches!(err, AutostartError::Unrepresentable(_)), "{bad:?}");
    }
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStringExt;
        let not_utf8 = OsString::from_vec(vec![0x2f, 0xff, 0xfe]);
        assert!(exec_line(Path::new("/x"), &[not_utf8]).is_err());
    }
}

#[test]
fn enable_writes_the_entry_and_disable_removes_it() {
    let tmp = TempDir::new();
    let cfg = tmp.0.join("config home");
    let auto = Autostart::in_config_home(&cfg);
    assert!(!auto.is_enabled());
    auto.disable().expect("removing a missing entry is fine");

    let args = vec![OsString::from("--data-dir"), OsString::from("/srv/李")];
    auto.set(true, Path::new("/usr/bin/lanchat"), &args)
        .expect("written");
    assert!(auto.is_enabled());
    assert_eq!(auto.path(), cfg.join("autostart/lanchat.desktop"));
    let text = fs::read_to_string(auto.path()).unwrap();
    assert!(text.starts_with("[Desktop Entry]\n"), "{text}");
    assert!(
        text.contains("\nExec=/usr/bin/lanchat --data-dir /srv/李\n"),
        "{text}"
    );
    assert!(text.contains("\nIcon=lanchat\n"), "{text}");

    // Written again: replaced, no temp file left beside it.
    auto.enable(Path::new("/usr/bin/lanchat"), &[]).unwrap();
    let names: Vec<_> = fs::read_dir(cfg.join("autostart"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, [OsString::from("lanchat.desktop")]);

    auto.set(false, Path::new("/usr/bin/lanchat"), &[]).unwrap();
    assert!(!auto.is_enabled());
}

#[test]
fn a_config_home_that_is_a_file_is_an_error_naming_the_entry() {
    let tmp = TempDir::new();
    let cfg = tmp.0.join("cfg");
    fs::write(&cfg, b"not a directory").unwrap();
    let err = Autostart::in_config_home(&cfg)
        .enable(Path::new("/usr/bin/lanchat"), &[])
        .unwrap_err();
    assert!(
        err.to_string().contains("cfg/autostart/lanchat.desktop"),
        "{err}"
    );
}

/// The entry passes `desktop-file-validate` (desktop-file-utils) where it is installed.
#[test]
fn the_entry_is_a_valid_desktop_entry() {
    let tmp = TempDir::new();
    let auto = Autostart::in_config_home(&tmp.0);
    let args = vec![
        OsString::from("--data-dir"),
        OsString::from("/home/张三/my data $x"),
    ];
    auto.enable(Path::new("/opt/lan chat/lanchat"), &args)
        .unwrap();
    match std::process::Command::new("desktop-file-validate")
        .arg(auto.path())
        .output()
    {
        Ok(out) => assert!(
            out.status.success() && out.stdout.is_empty(),
            "desktop-file-validate: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
        Err(_) => eprintln!("skipped: desktop-file-validate is not installed (desktop-file-utils)"),
    }
}
