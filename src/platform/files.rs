//! Files where systems differ: the rename that never replaces, reserving disk blocks,
//! sending a file to a socket, and files only their owner may read.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::net::TcpStream;
use std::path::Path;

use super::linux_native;

/// A way to rename a file to a name that must not exist yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoReplace {
    /// `renameat2(RENAME_NOREPLACE)` (Linux): atomic, one system call, and it leaves
    /// ext4's replace-by-rename heuristic (a flush of the whole file) out of it.
    Renameat2,
    /// A hard link to the new name (atomic, fails if the name exists), then the old name
    /// removed: every system with hard links (NTFS, APFS, ext4, most SMB servers). A
    /// crash between the two leaves both names; the old one is the `.part`, which is
    /// swept or resumed like any other.
    Link,
    /// The name claimed with `create_new` (closed at once), then the file renamed over
    /// the claim: for file systems without hard links (FAT, exFAT, some SMB shares).
    /// Two of our renames never pick one name; a program writing to our empty claim in
    /// the instant between would lose that write.
    Claim,
}

/// The ways to try, best first: a way that reports [`io::ErrorKind::Unsupported`] is
/// followed by the next.
pub fn no_replace_ways() -> &'static [NoReplace] {
    if linux_native() {
        &[NoReplace::Renameat2, NoReplace::Link, NoReplace::Claim]
    } else {
        &[NoReplace::Link, NoReplace::Claim]
    }
}

impl NoReplace {
    /// Renames `from` to `to`; `AlreadyExists` if `to` exists (nothing changed),
    /// `Unsupported` if this way does not work here (nothing changed), else the error.
    /// A folder (a folder sent as one transfer) has no hard links: past `renameat2`, both
    /// other ways claim the name as an empty folder instead (`rename_folder_over_claim`).
    pub fn rename(self, from: &Path, to: &Path) -> io::Result<()> {
        let folder = from.is_dir();
        match self {
            NoReplace::Renameat2 => renameat2(from, to),
            NoReplace::Link | NoReplace::Claim if folder => rename_folder_over_claim(from, to),
            NoReplace::Link => link_then_unlink(from, to),
            NoReplace::Claim => rename_over_claim(from, to),
        }
    }
}

#[cfg(any(target_os = "linux", target_os = "android"))]
fn renameat2(from: &Path, to: &Path) -> io::Result<()> {
    use rustix::fs::{CWD, RenameFlags, renameat_with};
    use rustix::io::Errno;
    match renameat_with(CWD, from, CWD, to, RenameFlags::NOREPLACE) {
        Ok(()) => Ok(()),
        Err(Errno::INVAL | Errno::NOSYS | Errno::OPNOTSUPP) => Err(unsupported("renameat2")),
        Err(e) => Err(e.into()),
    }
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn renameat2(_from: &Path, _to: &Path) -> io::Result<()> {
    Err(unsupported("renameat2"))
}

fn link_then_unlink(from: &Path, to: &Path) -> io::Result<()> {
    match fs::hard_link(from, to) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => return Err(e),
        // The source missing is an error of its own, not a reason to try another way.
        Err(e) if e.kind() == io::ErrorKind::NotFound && !from.exists() => return Err(e),
        // FAT says EPERM, Windows ERROR_INVALID_FUNCTION, SMB servers various things.
        Err(e) => return Err(io::Error::new(io::ErrorKind::Unsupported, e)),
    }
    if let Err(e) = fs::remove_file(from) {
        // Leave one name, the new one, whatever happened to the old.
        let _ = fs::remove_file(to);
        return Err(e);
    }
    Ok(())
}

fn rename_over_claim(from: &Path, to: &Path) -> io::Result<()> {
    // Closed at once: Windows and FAT refuse to rename onto a file that is open.
    drop(File::options().write(true).create_new(true).open(to)?);
    fs::rename(from, to).inspect_err(|_| {
        let _ = fs::remove_file(to); // only our own empty claim
    })
}

/// A folder: the name claimed as an empty folder (`create_dir` fails if the name exists),
/// then the folder renamed onto its own empty claim, which a POSIX rename replaces
/// atomically. Windows cannot rename onto a folder: there the claim is removed first, and
/// a name taken in that instant makes the rename fail rather than replace anything. On a
/// failure only our own claim is removed (`remove_dir` removes nothing that is not empty).
fn rename_folder_over_claim(from: &Path, to: &Path) -> io::Result<()> {
    fs::create_dir(to)?;
    let renamed = if cfg!(windows) {
        fs::remove_dir(to).and_then(|()| fs::rename(from, to))
    } else {
        fs::rename(from, to)
    };
    renamed.inspect_err(|_| {
        let _ = fs::remove_dir(to);
    })
}

fn unsupported(what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::Unsupported,
        format!("{what} is not available"),
    )
}

/// Reserves the disk blocks for `[offset, offset + len)` of `file` without changing its
/// length (`fallocate(KEEP_SIZE)`, Linux); elsewhere, or where the file system cannot,
/// nothing (the bytes are written as they come).
pub fn reserve(file: &File, offset: u64, len: u64) -> io::Result<()> {
    if len == 0 || !linux_native() {
        return Ok(());
    }
    fallocate(file, offset, len)
}

#[cfg(any(target_os = "linux", target_os = "android"))]
fn fallocate(file: &File, offset: u64, len: u64) -> io::Result<()> {
    use rustix::fs::{FallocateFlags, fallocate};
    use rustix::io::Errno;
    match fallocate(file, FallocateFlags::KEEP_SIZE, offset, len) {
        Ok(()) | Err(Errno::OPNOTSUPP | Errno::NOSYS | Errno::INVAL) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn fallocate(_file: &File, _offset: u64, _len: u64) -> io::Result<()> {
    Ok(())
}

/// Sends `file` from `*at` to `end` to `stream`, moving `*at` past every byte the socket
/// took, also when it fails part-way. Fewer bytes only if the file ends first.
///
/// On Linux `sendfile(2)`: the kernel moves page-cache pages to the socket with no copy
/// through user space (std's `io::copy` will not, from a file to a socket). Elsewhere a
/// plain read and write in 256 KiB pieces.
pub fn send_file(file: &File, stream: &TcpStream, at: &mut u64, end: u64) -> io::Result<()> {
    if linux_native() {
        sendfile(file, stream, at, end)
    } else {
        copy_file(file, stream, at, end)
    }
}

fn copy_file(file: &File, stream: &TcpStream, at: &mut u64, end: u64) -> io::Result<()> {
    use std::io::{Read, Seek, SeekFrom, Write};
    let mut file = file;
    let mut stream = stream;
    file.seek(SeekFrom::Start(*at))?;
    let mut buf = vec![0u8; 256 << 10];
    while *at < end {
        let want = buf
            .len()
            .min(usize::try_from(end - *at).unwrap_or(usize::MAX));
        let n = match file.read(&mut buf[..want]) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        let mut sent = 0;
        while sent < n {
            match stream.write(&buf[sent..n]) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(k) => {
                    sent += k;
                    *at += k as u64;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }
    Ok(())
}

#[cfg(any(target_os = "linux", target_os = "android"))]
fn sendfile(file: &File, stream: &TcpStream, at: &mut u64, end: u64) -> io::Result<()> {
    use rustix::io::Errno;
    while *at < end {
        let want = usize::try_from(end - *at)
            .unwrap_or(usize::MAX)
            .min(1 << 30);
        match rustix::fs::sendfile(stream, file, Some(&mut *at), want) {
            Ok(0) => break,
            Ok(_) => {}
            Err(Errno::INTR) => {}
            Err(Errno::AGAIN) => return Err(io::ErrorKind::TimedOut.into()),
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn sendfile(file: &File, stream: &TcpStream, at: &mut u64, end: u64) -> io::Result<()> {
    copy_file(file, stream, at, end)
}

/// Makes `options` create a file only its owner may read and write (0600 on Unix). On
/// Windows a new file takes its folder's permissions: the data directory is in the
/// user's own profile, which others cannot read.
pub fn owner_only(options: &mut OpenOptions) {
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(options, 0o600);
    #[cfg(not(unix))]
    let _ = options;
}

/// The permission bits of `path` (`None` where the system has none: Windows).
pub fn mode(path: &Path) -> io::Result<Option<u32>> {
    let meta = fs::metadata(path)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        Ok(Some(meta.permissions().mode() & 0o7777))
    }
    #[cfg(not(unix))]
    {
        let _ = meta;
        Ok(None)
    }
}

/// Sets the permission bits of `path`; `false` where the system has none (nothing done).
pub fn set_mode(path: &Path, mode: u32) -> io::Result<bool> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(path, fs::Permissions::from_mode(mode))?;
        Ok(true)
    }
    #[cfg(not(unix))]
    {
        let _ = (path, mode);
        Ok(false)
    }
}

#[cfg(test)]
mod tests;
