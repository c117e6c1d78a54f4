//! `chat-server backup FILE`: a consistent copy of a SQLite database,
//! taken with SQLite's online backup API while a server may keep writing
//! it. The copy is written beside its destination under a temporary name
//! and renamed into place once complete, so a failed backup never leaves a
//! partial file that looks like a good one.

use crate::store::{Database, StoreError};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Pages copied per step of the backup: the source is locked only while a
/// step reads, so a running server's commits wait at most that long.
pub const BACKUP_PAGES_PER_STEP: std::ffi::c_int = 1024;

/// Pause between steps, so the server's writer gets the database between
/// them.
pub const BACKUP_STEP_PAUSE: Duration = Duration::from_millis(5);

/// Why a backup failed.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// PostgreSQL has its own tools.
    #[error(
        "backup copies SQLite databases; for PostgreSQL use pg_dump (see docs/RELIABILITY.md)"
    )]
    NotSqlite,
    /// The destination exists: a backup never overwrites.
    #[error("{0} already exists; choose a new file")]
    Exists(PathBuf),
    /// The database has no file to copy.
    #[error("{0} is not a file")]
    Missing(PathBuf),
    /// SQLite failed.
    #[error("cannot copy {from} to {to}: {source}")]
    Copy {
        /// The database.
        from: PathBuf,
        /// The destination.
        to: PathBuf,
        /// Why.
        source: StoreError,
    },
    /// The finished copy could not be moved into place.
    #[error("cannot move the copy to {to}: {source}")]
    Rename {
        /// The destination.
        to: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// Copies the database `db` to `file`, which must not exist.
pub fn backup(db: &Database, file: &Path) -> Result<(), BackupError> {
    let Database::Sqlite(source) = db else {
        return Err(BackupError::NotSqlite);
    };
    if !source.is_file() {
        return Err(BackupError::Missing(source.clone()));
    }
    if file.exists() {
        return Err(BackupError::Exists(file.to_owned()));
    }
    let mut partial = file.as_os_str().to_owned();
    partial.push(".partial");
    let partial = PathBuf::from(partial);
    let copy_error = |err: rusqlite::Error| BackupError::Copy {
        from: source.clone(),
        to: file.to_owned(),
        source: err.into(),
    };
    let _ = std::fs::remove_file(&partial);
    let result = (|| {
        let from = rusqlite::Connection::open_with_flags(
            source,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_URI,
        )?;
        from.busy_timeout(crate::store::sqlite::BUSY_TIMEOUT)?;
        let mut to = rusqlite::Connection::open(&partial)?;
        {
            let backup = rusqlite::backup::Backup::new(&from, &mut to)?;
            backup.run_to_completion(BACKUP_PAGES_PER_STEP, BACKUP_STEP_PAUSE, None)?;
        }
        // The copy is in rollback-journal mode, one file that stands alone
        // (a server that opens it turns WAL on again).
        to.pragma_update(None, "journal_mode", "DELETE")?;
        to.close().map_err(|(_, err)| err)
    })();
    if let Err(err) = result {
        let _ = std::fs::remove_file(&partial);
        return Err(copy_error(err));
    }
    std::fs::rename(&partial, file).map_err(|source| BackupError::Rename {
        to: file.to_owned(),
        source,
    })
}
