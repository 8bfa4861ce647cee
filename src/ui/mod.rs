//! The egui window (feature `gui`). Placeholder until the window issue lands.

use anyhow::Result;

use crate::config::Config;

/// Opens the window.
pub fn run(_config: Config) -> Result<()> {
    anyhow::bail!("the window is not built yet; use --headless")
}
