//! What closing the window does: the rule alone, no window and no I/O.
//!
//! With the setting on (the default) and a tray to go to, closing hides the window and
//! lanchat stays reachable; the first time, the user is told where it went. Without a
//! tray, closing quits as it always did; if the setting asked for the tray, the first
//! close says why it cannot, once, before quitting. A quit the user asked for (the
//! tray's "Quit") always quits.

/// What the window should do when asked to close.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnClose {
    /// Let it close: lanchat quits.
    Quit,
    /// Cancel the close and hide the window; lanchat keeps running in the tray. `tell`:
    /// say where it went (the first time).
    Hide {
        /// Whether to say where the window went.
        tell: bool,
    },
    /// Cancel the close and explain, once, that there is no tray to keep lanchat in, so
    /// closing quits; the user then quits or keeps the window.
    ExplainNoTray,
}

/// The inputs of the rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CloseState {
    /// The setting "keep running in the tray when the window is closed".
    pub keep_in_tray: bool,
    /// A tray host is there to show lanchat's icon.
    pub tray: bool,
    /// The user has been told once where a closed window goes.
    pub told_hidden: bool,
    /// The user has been told once that this desktop has no tray.
    pub told_no_tray: bool,
    /// The user asked to quit (the tray's "Quit", or "Quit" in the explanation).
    pub quitting: bool,
}

impl CloseState {
    /// What a close request does now.
    pub fn on_close(&self) -> OnClose {
        match *self {
            CloseState { quitting: true, .. }
            | CloseState {
                keep_in_tray: false,
                ..
            } => OnClose::Quit,
            CloseState {
                tray: true,
                told_hidden,
                ..
            } => OnClose::Hide { tell: !told_hidden },
            CloseState {
                told_no_tray: false,
                ..
            } => OnClose::ExplainNoTray,
            CloseState { .. } => OnClose::Quit,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(keep_in_tray: bool, tray: bool) -> CloseState {
        CloseState {
            keep_in_tray,
            tray,
            ..CloseState::default()
        }
    }

    #[test]
    fn with_a_tray_closing_hides_and_says_so_the_first_time() {
        let mut s = state(true, true);
        assert_eq!(s.on_close(), OnClose::Hide { tell: true });
        s.told_hidden = true;
        assert_eq!(s.on_close(), OnClose::Hide { tell: false });
    }

    #[test]
    fn without_a_tray_closing_quits_after_one_explanation() {
        let mut s = state(true, false);
        assert_eq!(s.on_close(), OnClose::ExplainNoTray);
        s.told_no_tray = true;
        assert_eq!(s.on_close(), OnClose::Quit);
    }

    #[test]
    fn the_setting_off_or_a_quit_asked_for_always_quits() {
        for tray in [true, false] {
            assert_eq!(state(false, tray).on_close(), OnClose::Quit);
            let quitting = CloseState {
                quitting: true,
                ..state(true, tray)
            };
            assert_eq!(quitting.on_close(), OnClose::Quit);
        }
    }
}
