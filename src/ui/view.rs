//! What panels ask for while drawing ([`Action`], carried out by the app after the frame)
//! and the window's own view state ([`View`]: drafts, open panels, scroll requests), as
//! opposed to the chat model in `state`.

use std::collections::HashMap;
use std::path::PathBuf;

use super::chat_view;
use super::chooser::Chooser;
use super::search::SearchInput;
use super::settings::{Prefs, SettingsDraft};
use super::state::ConvKey;
use crate::node::Command;

/// What a panel asks for while drawing; carried out after the frame is drawn.
#[derive(Debug, Clone)]
pub enum Action {
    /// A command for the core.
    Core(Command),
    /// Open a conversation.
    Select(ConvKey),
    /// Show or hide the network panel.
    ToggleNetwork,
    /// Open the settings window.
    OpenSettings,
    /// Apply edited settings (may restart the core).
    ApplySettings(Box<SettingsDraft>),
    /// Close the settings window without applying.
    CloseSettings,
    /// Hide the error banner.
    DismissError,
    /// Scroll the open conversation to its newest message.
    ScrollToBottom,
    /// Open a file or folder with the desktop's default program.
    Open(PathBuf),
    /// Open a conversation scrolled to one stored message (a search hit): its `msg_id`
    /// and store row, to load the page around it if it is not loaded.
    Jump(ConvKey, String, i64),
    /// Read the page of history before the oldest row loaded (scrolled near the top).
    Older(ConvKey),
    /// Read the page after the newest row of a window around an old message.
    Newer(ConvKey),
    /// Close the search results.
    CloseSearch,
    /// Choose files to send to this peer (the system's file chooser, else lanchat's own).
    PickFiles(String),
    /// Choose a folder to send to this peer, as one transfer (the system's folder
    /// chooser, else lanchat's own).
    PickFolder(String),
    /// Open a web link from a message with the desktop's browser.
    OpenUrl(String),
    /// Show or hide the left panel.
    ToggleSidebar,
    /// Open (true) or close the "Let a browser join…" window.
    ShowWebJoin(bool),
    /// Open (true) or close the "Add by address…" window.
    ShowReach(bool),
    /// Open the room dialog ("New room…", "Add people…", "Rename…"), or close it.
    RoomDialog(Option<super::rooms::RoomDialog>),
    /// Send the composer's text to each online peer, one direct message each (a shout
    /// too long for one datagram).
    SendToEach(String),
    /// Open the "Verify…" window for this peer and ask the core for the safety code.
    Verify(String),
    /// Close the "Verify…" window.
    CloseVerify,
}

/// Per-window view state that is not part of the chat model.
#[derive(Debug, Default)]
pub struct View {
    /// Unsent text per conversation.
    pub drafts: HashMap<ConvKey, String>,
    /// The network panel is open.
    pub show_network: bool,
    /// The settings window, while open.
    pub settings: Option<SettingsDraft>,
    /// The name being edited in place, while editing.
    pub name_edit: Option<String>,
    /// Preferences kept in the data directory.
    pub prefs: Prefs,
    /// Row heights, scroll anchors and what was laid out, per conversation.
    pub conversations: chat_view::Conversations,
    /// Scroll the conversation to the end on the next frame.
    pub scroll_to_bottom: bool,
    /// Scroll the conversation to this message as soon as it is loaded (a search hit).
    pub jump_to: Option<String>,
    /// The message marked as the search hit jumped to.
    pub highlight: Option<String>,
    /// The search box and what it asked.
    pub search: SearchInput,
    /// Put the keyboard focus in the composer on the next frame (a conversation opened).
    pub focus_composer: bool,
    /// The left panel is collapsed (the ☰ button in the header brings it back).
    pub sidebar_hidden: bool,
    /// The left panel's width last frame (0 before the first).
    pub sidebar_width: f32,
    /// The in-app file chooser, while open (no system file chooser was found).
    pub chooser: Option<Chooser>,
    /// The "Let a browser join…" window is open.
    pub web_join: bool,
    /// The "Add by address…" window, while open: the address being typed.
    pub reach: Option<String>,
    /// The room dialog, while open.
    pub room_dialog: Option<super::rooms::RoomDialog>,
    /// Links and files the window opened (or, in tests, would have opened), newest last.
    pub opened: Vec<String>,
    /// The peer whose "Verify…" window is open.
    pub verify: Option<String>,
}
