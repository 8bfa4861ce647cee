//! Carrying out what the panels asked for during a frame ([`Action`]s), after it is
//! drawn: commands to the core, selection, panels, settings (which may restart the core).

use super::{Action, App, Command, SettingsDraft};

impl App {
    pub(super) fn run(&mut self, action: Action, ctx: &egui::Context) {
        match action {
            Action::Core(cmd) => self.backend.send(cmd),
            Action::Select(conv) => {
                if let Some(cmd) = self.state.ask_newest(&conv) {
                    self.backend.send(cmd);
                }
                self.state.select(conv);
                self.view.scroll_to_bottom = true;
                self.view.focus_composer = true;
            }
            Action::ToggleNetwork => self.view.show_network = !self.view.show_network,
            Action::OpenSettings => {
                let mut draft =
                    SettingsDraft::new(&self.state, self.backend.config(), &self.view.prefs);
                draft.desktop = self.shell.draft();
                self.view.settings = Some(draft);
            }
            Action::CloseSettings => self.view.settings = None,
            Action::ApplySettings(draft) => self.apply_settings(*draft),
            Action::DismissError => self.state.error = None,
            Action::ScrollToBottom => {
                let conv = self.state.selected.clone();
                self.state.back_to_newest(&conv);
                self.view.highlight = None;
                self.view.scroll_to_bottom = true;
            }
            Action::Open(path) => self.open(path.display().to_string()),
            Action::OpenUrl(url) => self.open(url),
            Action::ShowWebJoin(open) => self.view.web_join = open,
            Action::ShowReach(open) => {
                self.view.reach = open.then(|| self.view.reach.take().unwrap_or_default());
                if open {
                    self.backend.send(Command::NetStatus); // each address's state
                }
            }
            Action::RoomDialog(d) => self.view.room_dialog = d,
            Action::ToggleSidebar => self.view.sidebar_hidden = !self.view.sidebar_hidden,
            Action::SendToEach(text) => {
                for p in self.state.peers.values().filter(|p| p.online) {
                    self.backend.send(Command::Send {
                        to: p.id.to_string(),
                        text: text.clone(),
                    });
                }
            }
            Action::Jump(conv, msg_id, row) => {
                for cmd in self.state.jump(conv, &msg_id, row) {
                    self.backend.send(cmd);
                }
                self.view.highlight = Some(msg_id.clone());
                self.view.jump_to = Some(msg_id);
                self.view.focus_composer = true;
            }
            Action::Older(conv) => {
                if let Some(cmd) = self.state.ask_older(&conv) {
                    self.backend.send(cmd);
                }
            }
            Action::Newer(conv) => {
                if let Some(cmd) = self.state.ask_newer(&conv) {
                    self.backend.send(cmd);
                }
            }
            Action::CloseSearch => {
                self.state.search = None;
                self.view.search.clear();
            }
            Action::PickFiles(peer) => self.picker.pick(ctx, peer, false),
            Action::PickFolder(peer) => self.picker.pick(ctx, peer, true),
            Action::Verify(peer) => {
                self.backend
                    .send(Command::SafetyCode { peer: peer.clone() });
                self.view.verify = Some(peer);
            }
            Action::CloseVerify => self.view.verify = None,
        }
        ctx.request_repaint();
    }

    fn apply_settings(&mut self, draft: SettingsDraft) {
        self.view.settings = None;
        if let Some(e) = self.shell.apply(&draft.desktop) {
            self.state.error = Some(e);
        }
        if let Some(cmd) = self
            .backend
            .config()
            .and_then(|c| draft.prefs.download_dir_command(Some(&self.view.prefs), c))
        {
            self.backend.send(cmd);
        }
        let accepting = (self.state.auto_accept.or(self.view.prefs.auto_accept))
            .or(self.backend.config().map(crate::config::AutoAccept::of))
            .unwrap_or_default();
        let mut prefs = draft.prefs.clone();
        if accepting != draft.auto_accept {
            prefs.auto_accept = Some(draft.auto_accept);
            self.backend.send(Command::SetAutoAccept {
                from: draft.auto_accept,
            });
        }
        self.view.prefs = prefs;
        if let Some(config) = self.backend.config()
            && let Err(e) = self.view.prefs.save(&config.data_dir)
        {
            self.state.error = Some(e.to_string());
        }
        let my_name = self.state.me.as_ref().map(|m| m.name.clone());
        if my_name.as_deref() != Some(draft.name.trim()) && !draft.name.trim().is_empty() {
            self.backend.send(Command::Rename {
                name: draft.name.trim().to_owned(),
            });
        }
        let Some(current) = self.backend.config() else {
            return;
        };
        let Some(config) = draft.network_config(current) else {
            return;
        };
        tracing::info!("network settings changed; restarting the node");
        // Peers and delivery marks start afresh with the new node; conversations stay.
        self.state.peers.clear();
        if let Err(e) = self.backend.restart(config) {
            self.state.error = Some(format!("cannot apply the network settings: {e}"));
        }
        self.backend.send(Command::Peers);
        self.backend.send(Command::Rooms);
        // The new core starts with the command line's folder and file rule; the saved
        // ones go again.
        if let Some(c) = self.backend.config() {
            let prefs = &self.view.prefs;
            let cmds = [
                prefs.download_dir_command(None, c),
                prefs.auto_accept_command(c),
            ];
            for cmd in cmds.into_iter().flatten() {
                self.backend.send(cmd);
            }
        }
    }
}
