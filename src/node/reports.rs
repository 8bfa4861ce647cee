//! Reports from the transfer threads: progress, done, and how a stream stopped. A
//! broken stream is not the end of a transfer: the sender tries again (`retry`) and the
//! receiver keeps its bytes and waits (`resume`); only a final failure is reported as
//! `transfer_failed` here. A report from a stream the core has since replaced or
//! stopped (its serial is not the current one) is ignored.

use super::core::Core;
use super::event::Event;
use super::transfers::{Outgoing, Transfers};
use crate::net::transfer::TransferReport;

impl Transfers {
    /// Whether `stream` is the thread now moving this transfer's bytes (a report from a
    /// stream the core has since replaced or stopped is stale).
    pub(super) fn is_stream(&self, transfer_id: &str, outgoing: bool, stream: u64) -> bool {
        let serial = if outgoing {
            self.outgoing.get(transfer_id).and_then(Outgoing::stream)
        } else {
            self.incoming.get(transfer_id).and_then(|i| i.stream())
        };
        serial == Some(stream)
    }
}

impl Core {
    /// A transfer thread reported. Reports from a stream the core has since replaced or
    /// stopped are ignored.
    pub(super) fn on_transfer_report(&mut self, report: TransferReport) {
        match report {
            TransferReport::Progress {
                transfer_id,
                outgoing,
                bytes,
            } => {
                let total = if outgoing {
                    let o = self.transfers.outgoing.get(&transfer_id);
                    o.filter(|o| o.stream().is_some()).map(|o| o.size)
                } else {
                    let i = self.transfers.incoming.get(&transfer_id);
                    i.filter(|i| i.stream().is_some()).map(|i| i.size)
                };
                if let Some(total) = total {
                    self.emit(Event::TransferProgress {
                        transfer_id: transfer_id.into(),
                        bytes,
                        total,
                    });
                }
            }
            TransferReport::Done {
                transfer_id,
                outgoing,
                stream,
                path,
            } => {
                if self.transfers.is_stream(&transfer_id, outgoing, stream) {
                    self.transfers.forget(&transfer_id, outgoing);
                    tracing::info!(transfer_id, path = %path.display(), "transfer done");
                    self.emit(Event::TransferDone {
                        transfer_id: transfer_id.into(),
                        path: path.display().to_string(),
                    });
                }
            }
            TransferReport::Failed {
                transfer_id,
                outgoing,
                stream,
                reason,
                broken,
            } => {
                if !self.transfers.is_stream(&transfer_id, outgoing, stream) {
                    return tracing::debug!(transfer_id, "stale report: {reason}");
                }
                tracing::info!(transfer_id, outgoing, broken, "transfer stopped: {reason}");
                match (broken, outgoing) {
                    (true, true) => self.send_broken(&transfer_id, reason),
                    (true, false) => self.download_broken(&transfer_id, reason),
                    (false, _) => {
                        self.transfers.forget(&transfer_id, outgoing);
                        self.emit(Event::TransferFailed {
                            transfer_id: transfer_id.into(),
                            reason,
                        });
                    }
                }
            }
        }
    }
}
