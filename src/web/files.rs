//! Files between the host and visitors: uploads waiting in the spool, downloads offered.
//!
//! Bookkeeping only (no I/O): which upload belongs to whom and where its `.part` is, how
//! many bytes the spool may hold (reserved before a body is read), which downloads a
//! visitor may fetch. The callers create, rename and delete the files.

use std::collections::HashMap;
use std::path::PathBuf;

use super::api::{DownloadId, UploadId, VisitorId};
use super::token::random_hex;

/// Uploads one visitor may have waiting or in flight.
pub const MAX_PENDING_PER_VISITOR: usize = 16;

/// An upload in the spool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upload {
    /// Who sent it.
    pub visitor: VisitorId,
    /// Its safe name.
    pub name: String,
    /// Bytes reserved (the declared size; the whole file once complete).
    pub size: u64,
    /// Its `.part` in the spool.
    pub path: PathBuf,
    /// Whether it arrived whole and was offered to the host.
    pub complete: bool,
}

/// A file offered to a visitor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Download {
    /// Who may fetch it.
    pub visitor: VisitorId,
    /// Where it is.
    pub path: PathBuf,
    /// The name it is saved under.
    pub name: String,
    /// Its media type.
    pub mime: String,
    /// Its size when offered.
    pub size: u64,
}

/// Why an upload may not start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Over the per-file cap.
    TooLarge,
    /// The visitor has [`MAX_PENDING_PER_VISITOR`] already.
    TooMany,
    /// The spool would exceed its cap.
    SpoolFull,
}

/// Uploads and downloads of the current link.
#[derive(Debug)]
pub struct Files {
    spool: PathBuf,
    max_file: u64,
    max_spool: u64,
    reserved: u64,
    uploads: HashMap<UploadId, Upload>,
    downloads: HashMap<DownloadId, Download>,
}

impl Files {
    /// Files kept under `spool`, each at most `max_file` bytes, `max_spool` in all.
    pub fn new(spool: PathBuf, max_file: u64, max_spool: u64) -> Self {
        Self {
            spool,
            max_file,
            max_spool,
            reserved: 0,
            uploads: HashMap::new(),
            downloads: HashMap::new(),
        }
    }

    /// Reserves `size` bytes of spool for a new upload from `visitor`; returns its id and
    /// the `.part` path to write.
    pub fn reserve(
        &mut self,
        visitor: &VisitorId,
        name: String,
        size: u64,
    ) -> Result<(UploadId, PathBuf), Refusal> {
        if size > self.max_file {
            return Err(Refusal::TooLarge);
        }
        let mine = self
            .uploads
            .values()
            .filter(|u| &u.visitor == visitor)
            .count();
        if mine >= MAX_PENDING_PER_VISITOR {
            return Err(Refusal::TooMany);
        }
        if self.reserved.saturating_add(size) > self.max_spool {
            return Err(Refusal::SpoolFull);
        }
        let id = UploadId(random_hex());
        let path = self.spool.join(format!("web-{id}.part"));
        self.reserved += size;
        let upload = Upload {
            visitor: visitor.clone(),
            name,
            size,
            path: path.clone(),
            complete: false,
        };
        self.uploads.insert(id.clone(), upload);
        Ok((id, path))
    }

    /// The upload arrived whole.
    pub fn complete(&mut self, id: &UploadId) -> Option<&Upload> {
        let upload = self.uploads.get_mut(id)?;
        upload.complete = true;
        Some(upload)
    }

    /// Takes an upload out (accepted, declined, failed): its spool bytes are free again.
    pub fn take(&mut self, id: &UploadId) -> Option<Upload> {
        let upload = self.uploads.remove(id)?;
        self.reserved -= upload.size;
        Some(upload)
    }

    /// Puts back an upload taken out whose landing failed: it waits again.
    pub fn restore(&mut self, id: UploadId, upload: Upload) {
        self.reserved += upload.size;
        self.uploads.insert(id, upload);
    }

    /// Takes out every upload of `visitor` (they left); the caller deletes the files.
    pub fn take_visitor(&mut self, visitor: &VisitorId) -> Vec<Upload> {
        self.downloads.retain(|_, d| &d.visitor != visitor);
        let ids: Vec<UploadId> = self
            .uploads
            .iter()
            .filter(|(_, u)| &u.visitor == visitor)
            .map(|(id, _)| id.clone())
            .collect();
        ids.iter().filter_map(|id| self.take(id)).collect()
    }

    /// Takes out everything (link revoked, server stopping).
    pub fn take_all(&mut self) -> Vec<Upload> {
        self.downloads.clear();
        self.reserved = 0;
        self.uploads.drain().map(|(_, u)| u).collect()
    }

    /// Offers a file to `visitor`; returns the id the page fetches it by.
    pub fn offer(&mut self, download: Download) -> DownloadId {
        let id = DownloadId(random_hex());
        self.downloads.insert(id.clone(), download);
        id
    }

    /// Takes back an offer: its link stops working.
    pub fn withdraw(&mut self, id: &DownloadId) -> Option<Download> {
        self.downloads.remove(id)
    }

    /// The offer `id`, if it was made to `visitor`.
    pub fn download(&self, visitor: &VisitorId, id: &str) -> Option<(DownloadId, &Download)> {
        let (id, d) = self.downloads.get_key_value(&DownloadId(id.to_owned()))?;
        (&d.visitor == visitor).then(|| (id.clone(), d))
    }

    /// Spool bytes reserved now.
    pub fn reserved(&self) -> u64 {
        self.reserved
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn visitor(s: &str) -> VisitorId {
        VisitorId(s.to_owned())
    }

    #[test]
    fn the_spool_is_reserved_before_a_body_is_read() {
        let mut files = Files::new(PathBuf::from("/spool"), 100, 150);
        let a = visitor("a");
        assert_eq!(files.reserve(&a, "x".into(), 101), Err(Refusal::TooLarge));
        let (id, path) = files.reserve(&a, "x".into(), 100).unwrap();
        assert!(path.starts_with("/spool") && path.to_string_lossy().ends_with(".part"));
        assert_eq!(files.reserve(&a, "y".into(), 60), Err(Refusal::SpoolFull));
        assert!(files.complete(&id).unwrap().complete);
        assert_eq!(files.take(&id).unwrap().size, 100);
        assert!(files.take(&id).is_none());
        assert_eq!(files.reserved(), 0);
        assert!(files.reserve(&a, "y".into(), 60).is_ok());
    }

    #[test]
    fn uploads_per_visitor_are_capped_and_go_with_them() {
        let mut files = Files::new(PathBuf::from("/s"), 10, u64::MAX);
        let (a, b) = (visitor("a"), visitor("b"));
        for _ in 0..MAX_PENDING_PER_VISITOR {
            files.reserve(&a, "f".into(), 1).unwrap();
        }
        assert_eq!(files.reserve(&a, "f".into(), 1), Err(Refusal::TooMany));
        files.reserve(&b, "f".into(), 1).unwrap();
        assert_eq!(files.take_visitor(&a).len(), MAX_PENDING_PER_VISITOR);
        assert_eq!(files.reserved(), 1);
        assert_eq!(files.take_all().len(), 1);
    }

    #[test]
    fn a_download_is_only_for_its_visitor() {
        let mut files = Files::new(PathBuf::from("/s"), 10, 10);
        let (a, b) = (visitor("a"), visitor("b"));
        let id = files.offer(Download {
            visitor: a.clone(),
            path: "/f".into(),
            name: "f".into(),
            mime: "text/plain".into(),
            size: 1,
        });
        assert!(files.download(&a, id.as_str()).is_some());
        assert!(files.download(&b, id.as_str()).is_none());
        files.take_visitor(&a);
        assert!(files.download(&a, id.as_str()).is_none());
    }
}
