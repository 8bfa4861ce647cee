use super::*;

/// The notes a shell remembers, by id (tests).
fn remembered(shell: &Shell) -> std::collections::HashMap<u64, Option<ConvKey>> {
    shell.notes.iter().cloned().collect()
}

#[test]
fn notes_remember_their_conversation_for_a_while() {
    let mut shell = Shell::inert();
    for i in 0..NOTES_KEPT + 3 {
        shell.notify(Some(ConvKey::Peer(format!("p{i}"))), "s", "b");
    }
    let kept = remembered(&shell);
    assert_eq!(kept.len(), NOTES_KEPT);
    assert!(!kept.contains_key(&1), "the oldest is forgotten");
    assert_eq!(
        kept.get(&(NOTES_KEPT as u64 + 3)),
        Some(&Some(ConvKey::Peer(format!("p{}", NOTES_KEPT + 2))))
    );
}

#[test]
fn desktop_prefs_default_to_the_tray_and_read_old_files() {
    assert!(DesktopPrefs::default().keep_in_tray);
    let old: DesktopPrefs = serde_json::from_str("{}").unwrap();
    assert_eq!(old, DesktopPrefs::default());
}
