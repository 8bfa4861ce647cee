//! What the stream threads report: progress, done, and how a stream stopped. A broken
//! stream is not the end of a transfer: the sender tries again (`retry`) and the
//! receiver keeps its bytes and waits (`resume`); only a final failure ends it here. A
//! report from a stream since replaced or stopped is stale and ignored.

use super::incoming::Incoming;
use super::outgoing::Outgoing;
use super::{Ctx, TransferEnd, Transfers, report_end};
use crate::net::transfer::{FailureKind, StreamId, TransferReport};
use crate::node::event::Event;
use crate::node::out::{Action, Out, Record};
use crate::protocol::TransferId;
use crate::store::TransferState;

impl Transfers {
    /// What a stream thread reported.
    pub fn on_report(&mut self, report: TransferReport, ctx: Ctx<'_>, out: &mut Out) {
        match report {
            TransferReport::Progress {
                transfer_id,
                outgoing,
                bytes,
                files,
            } => {
                let id = TransferId::from(transfer_id);
                let total = if outgoing {
                    self.outgoing
                        .get(&id)
                        .and_then(|o| o.stream().map(|_| o.size))
                } else {
                    self.incoming
                        .get(&id)
                        .and_then(|i| i.stream().map(|_| i.size))
                };
                if let Some(total) = total {
                    out.emit(Event::TransferProgress {
                        transfer_id: id,
                        bytes,
                        total,
                        files,
                    });
                }
            }
            TransferReport::Done {
                transfer_id,
                outgoing,
                stream,
                path,
            } => {
                let id = TransferId::from(transfer_id);
                if !self.is_stream(&id, outgoing, stream) {
                    return;
                }
                out.push(Action::StopStream(stream)); // over: join its thread
                self.forget(&id, outgoing);
                let path = path.display().to_string();
                tracing::info!(transfer_id = %id, %path, "transfer done");
                out.record(Record::TransferState(id.clone(), TransferState::Done));
                out.record(Record::TransferPath(id.clone(), path.clone()));
                out.emit(Event::TransferDone {
                    transfer_id: id,
                    path,
                });
            }
            TransferReport::Failed {
                transfer_id,
                outgoing,
                stream,
                reason,
                kind,
            } => {
                let id = TransferId::from(transfer_id);
                if !self.is_stream(&id, outgoing, stream) {
                    return tracing::debug!(transfer_id = %id, "stale report: {reason}");
                }
                tracing::info!(transfer_id = %id, outgoing, ?kind, "transfer stopped: {reason}");
                out.push(Action::StopStream(stream));
                let end = match kind {
                    FailureKind::Broken if outgoing => {
                        return self.send_broken(&id, reason, ctx, out);
                    }
                    FailureKind::Broken => return self.download_broken(&id, reason, ctx.now, out),
                    FailureKind::FileChanged => TransferEnd::FileChanged {
                        detail: reason,
                        after_restart: false,
                    },
                    FailureKind::HashMismatch => TransferEnd::HashMismatch { detail: reason },
                    FailureKind::Local => TransferEnd::failed(reason),
                };
                self.forget(&id, outgoing);
                report_end(&id, end, out);
            }
        }
    }

    /// The port could not start `stream` (no thread): the transfer it was for breaks.
    pub fn stream_failed(&mut self, stream: StreamId, reason: &str, ctx: Ctx<'_>, out: &mut Out) {
        let find = |s: Option<StreamId>| s == Some(stream);
        if let Some(id) = self
            .outgoing
            .iter()
            .find(|(_, o)| find(o.stream()))
            .map(|(id, _)| id.clone())
        {
            let end = TransferEnd::failed(format!("cannot start: {reason}"));
            self.end_outgoing(&id, end, true, ctx, out);
        } else if let Some(id) = self
            .incoming
            .iter()
            .find(|(_, i)| find(i.stream()))
            .map(|(id, _)| id.clone())
        {
            self.download_broken(
                &id,
                format!("cannot start receiving: {reason}"),
                ctx.now,
                out,
            );
        }
    }

    /// Whether `stream` is the one now moving this transfer's bytes (a report from a
    /// stream since replaced or stopped is stale).
    fn is_stream(&self, id: &str, outgoing: bool, stream: StreamId) -> bool {
        let current = if outgoing {
            self.outgoing.get(id).and_then(Outgoing::stream)
        } else {
            self.incoming.get(id).and_then(Incoming::stream)
        };
        current == Some(stream)
    }

    fn forget(&mut self, id: &str, outgoing: bool) {
        if outgoing {
            self.outgoing.remove(id);
        } else {
            self.incoming.remove(id);
        }
    }
}
