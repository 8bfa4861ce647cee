//! Where the window's commands go and its events come from: a running core, or a pair of
//! channels a test holds. Restarting the core with new network settings happens here.

use crossbeam_channel::{Receiver, Sender};

use crate::config::Config;
use crate::node::{self, Command, Commands, Event, Node, NodeError, Waker};

/// Where commands go and events come from: a running core, or channels a test holds.
pub struct Backend {
    pub(super) commands: Commands,
    pub(super) events: Receiver<Event>,
    node: Option<Node>,
    config: Option<Config>,
    waker: Waker,
}

impl Backend {
    /// Starts a core with `config`; `waker` is called after each of its events.
    pub fn spawn(config: Config, waker: Waker) -> Result<Backend, NodeError> {
        let (node, commands, events) = subscribed(config.clone(), waker.clone())?;
        Ok(Backend {
            commands,
            events,
            node: Some(node),
            config: Some(config),
            waker,
        })
    }

    /// A stand-in core: the caller holds the other ends of both channels.
    pub fn channels(commands: Sender<Command>, events: Receiver<Event>) -> Backend {
        Backend {
            commands: commands.into(),
            events,
            node: None,
            config: None,
            waker: node::no_waker(),
        }
    }

    /// The configuration of the running core (`None` for a stand-in).
    pub fn config(&self) -> Option<&Config> {
        self.config.as_ref()
    }

    pub(super) fn send(&self, cmd: Command) {
        if self.commands.send(cmd).is_err() {
            tracing::warn!("the core has stopped; a command was dropped");
        }
    }

    /// Stops the core and starts a new one with `config`; on failure the old
    /// configuration is started again and the error returned.
    pub(super) fn restart(&mut self, config: Config) -> Result<(), NodeError> {
        let Some(old) = self.config.clone() else {
            return Ok(()); // a stand-in has nothing to restart
        };
        // The old node must let go of its data directory and ports first.
        drop(self.node.take());
        let (result, (node, commands, events)) =
            match subscribed(config.clone(), self.waker.clone()) {
                Ok(n) => {
                    self.config = Some(config);
                    (Ok(()), n)
                }
                Err(e) => (Err(e), subscribed(old, self.waker.clone())?),
            };
        self.commands = commands;
        self.events = events;
        self.node = Some(node);
        result
    }
}

/// A node started with `config`, and the window's subscription to it: every event (the
/// window folds them all into its state), each followed by `waker`.
fn subscribed(
    config: Config,
    waker: Waker,
) -> Result<(Node, Commands, Receiver<Event>), NodeError> {
    let node = node::start(config)?;
    let sub = node.subscribe::<Event>(node::UNBOUNDED, waker);
    Ok((node, sub.commands, sub.events))
}
