//! Where the window's commands go and its events come from: a running core, or a pair of
//! channels a test holds. Restarting the core with new network settings happens here.

use crossbeam_channel::{Receiver, Sender};

use crate::config::Config;
use crate::node::{self, Command, Event, NodeError, NodeHandle, Waker};

/// Where commands go and events come from: a running core, or channels a test holds.
pub struct Backend {
    pub(super) commands: Sender<Command>,
    pub(super) events: Receiver<Event>,
    node: Option<NodeHandle>,
    config: Option<Config>,
    waker: Waker,
}

impl Backend {
    /// Starts a core with `config`; `waker` is called after each of its events.
    pub fn spawn(config: Config, waker: Waker) -> Result<Backend, NodeError> {
        let node = node::spawn(config.clone(), waker.clone())?;
        Ok(Backend {
            commands: node.commands.clone(),
            events: node.events.clone(),
            node: Some(node),
            config: Some(config),
            waker,
        })
    }

    /// A stand-in core: the caller holds the other ends of both channels.
    pub fn channels(commands: Sender<Command>, events: Receiver<Event>) -> Backend {
        Backend {
            commands,
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
        let (result, node) = match node::spawn(config.clone(), self.waker.clone()) {
            Ok(n) => {
                self.config = Some(config);
                (Ok(()), n)
            }
            Err(e) => (Err(e), node::spawn(old, self.waker.clone())?),
        };
        self.commands = node.commands.clone();
        self.events = node.events.clone();
        self.node = Some(node);
        result
    }
}
