//! The file store: the bytes of attachments, outside the databases.
//!
//! [`FileStore`] is the small interface the engine writes and reads files
//! through, so that an object store can take the place of the directory
//! later; [`DirFileStore`] keeps them in a directory (by default
//! `<data-dir>/attachments/`, on every backend).
//!
//! A file is written to a temporary name in its final directory, flushed to
//! disk (`fsync`) and then renamed into place: a crash leaves either no file
//! or the whole file under its key, never a torn one. Bytes arrive as a
//! stream of chunks ([`ChunkSource`]) and are never held whole in memory.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;

use tokio::io::{AsyncRead, AsyncWriteExt};

/// A boxed future, so that [`FileStore`] can be used as a trait object.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Why a chunk source stopped early. The source itself knows the reason
/// (too large, refused type, broken upload); the store only stops writing.
#[derive(Debug, thiserror::Error)]
#[error("the upload stopped: {0}")]
pub struct SourceStopped(pub String);

/// Where the bytes of a file come from, chunk by chunk.
pub trait ChunkSource: Send {
    /// The next chunk; `None` at the end.
    fn next_chunk(&mut self) -> BoxFuture<'_, Result<Option<bytes::Bytes>, SourceStopped>>;
}

/// Errors of the file store.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// The source stopped; nothing was kept.
    #[error(transparent)]
    Stopped(#[from] SourceStopped),
    /// No file under that key.
    #[error("no stored file `{0}`")]
    NotFound(String),
    /// A key that the store does not issue (not a UUID).
    #[error("`{0}` is not a file key")]
    BadKey(String),
    /// The file system failed.
    #[error("file store: {0}")]
    Io(#[from] std::io::Error),
}

/// A stored file opened for reading.
pub struct StoredFile {
    /// Its length in bytes.
    pub len: u64,
    /// Its bytes.
    pub reader: Pin<Box<dyn AsyncRead + Send>>,
}

impl std::fmt::Debug for StoredFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredFile").field("len", &self.len).finish()
    }
}

/// Where attachment bytes are kept. Keys are UUIDs chosen by the caller.
pub trait FileStore: Send + Sync + std::fmt::Debug {
    /// Writes every chunk of `source` under `key`, all or nothing; returns
    /// the number of bytes written.
    fn put<'a>(&'a self, key: &'a str, source: &'a mut dyn ChunkSource) -> BoxFuture<'a, Result<u64, FileError>>;
    /// Opens the file under `key`.
    fn open<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<StoredFile, FileError>>;
    /// Removes the file under `key` (no error when it is already gone).
    fn remove<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), FileError>>;
}

/// Files in a directory, spread over 256 subdirectories by the last two
/// hex digits of their key (the random end of a UUIDv7).
#[derive(Debug, Clone)]
pub struct DirFileStore {
    dir: PathBuf,
}

impl DirFileStore {
    /// A store in `dir`, created on the first write.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        DirFileStore { dir: dir.into() }
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn path_of(&self, key: &str) -> Result<PathBuf, FileError> {
        // Only UUIDs: a key can never climb out of the directory.
        let id = uuid::Uuid::parse_str(key).map_err(|_| FileError::BadKey(key.to_owned()))?;
        let name = id.hyphenated().to_string();
        let shard = &name[name.len() - 2..];
        Ok(self.dir.join(shard).join(name))
    }

    async fn write_all(&self, key: &str, source: &mut dyn ChunkSource) -> Result<u64, FileError> {
        let path = self.path_of(key)?;
        let parent = path.parent().unwrap_or(&self.dir).to_owned();
        tokio::fs::create_dir_all(&parent).await?;
        let tmp = parent.join(format!(".{key}.{}.part", uuid::Uuid::now_v7().simple()));
        let result = async {
            let mut file = tokio::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&tmp)
                .await?;
            let mut written = 0u64;
            while let Some(chunk) = source.next_chunk().await? {
                file.write_all(&chunk).await?;
                written += chunk.len() as u64;
            }
            file.flush().await?;
            // On disk before it gets its name: the row that points to it is
            // committed next, and must never point to a file a crash lost.
            file.sync_all().await?;
            drop(file);
            tokio::fs::rename(&tmp, &path).await?;
            sync_dir(&parent).await;
            Ok::<u64, FileError>(written)
        }
        .await;
        if result.is_err() {
            if let Err(e) = tokio::fs::remove_file(&tmp).await {
                if e.kind() != std::io::ErrorKind::NotFound {
                    tracing::warn!(file = %tmp.display(), error = %e, "cannot remove a partial upload");
                }
            }
        }
        result
    }
}

/// Flushes a directory entry (the rename) to disk; best effort, as not every
/// platform can open a directory.
async fn sync_dir(dir: &Path) {
    let dir = dir.to_owned();
    let _ = tokio::task::spawn_blocking(move || std::fs::File::open(dir).and_then(|d| d.sync_all())).await;
}

impl FileStore for DirFileStore {
    fn put<'a>(&'a self, key: &'a str, source: &'a mut dyn ChunkSource) -> BoxFuture<'a, Result<u64, FileError>> {
        Box::pin(self.write_all(key, source))
    }

    fn open<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<StoredFile, FileError>> {
        Box::pin(async move {
            let path = self.path_of(key)?;
            let file = match tokio::fs::File::open(&path).await {
                Ok(f) => f,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(FileError::NotFound(key.to_owned())),
                Err(e) => return Err(e.into()),
            };
            let len = file.metadata().await?.len();
            Ok(StoredFile {
                len,
                reader: Box::pin(file),
            })
        })
    }

    fn remove<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), FileError>> {
        Box::pin(async move {
            match tokio::fs::remove_file(self.path_of(key)?).await {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                Err(e) => Err(e.into()),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Chunks(Vec<&'static [u8]>, bool);

    impl ChunkSource for Chunks {
        fn next_chunk(&mut self) -> BoxFuture<'_, Result<Option<bytes::Bytes>, SourceStopped>> {
            Box::pin(async move {
                if self.0.is_empty() {
                    return if self.1 {
                        Err(SourceStopped("broken".into()))
                    } else {
                        Ok(None)
                    };
                }
                Ok(Some(bytes::Bytes::from_static(self.0.remove(0))))
            })
        }
    }

    fn files_in(dir: &Path) -> usize {
        let Ok(shards) = std::fs::read_dir(dir) else { return 0 };
        shards
            .flatten()
            .filter_map(|s| std::fs::read_dir(s.path()).ok())
            .map(|d| d.count())
            .sum()
    }

    #[tokio::test]
    async fn writes_whole_files_or_nothing() -> Result<(), FileError> {
        let tmp = tempfile::tempdir()?;
        let store = DirFileStore::new(tmp.path().join("attachments"));
        let key = uuid::Uuid::now_v7().to_string();
        let n = store.put(&key, &mut Chunks(vec![b"hello ", b"world"], false)).await?;
        assert_eq!(n, 11);
        let mut f = store.open(&key).await?;
        let mut text = String::new();
        tokio::io::AsyncReadExt::read_to_string(&mut f.reader, &mut text).await?;
        assert_eq!((f.len, text.as_str()), (11, "hello world"));

        let broken = uuid::Uuid::now_v7().to_string();
        let r = store.put(&broken, &mut Chunks(vec![b"half"], true)).await;
        assert!(matches!(r, Err(FileError::Stopped(_))));
        assert!(matches!(store.open(&broken).await, Err(FileError::NotFound(_))));
        assert_eq!(files_in(store.dir()), 1, "the partial file was removed");

        assert!(matches!(
            store.open("../../etc/passwd").await,
            Err(FileError::BadKey(_))
        ));
        store.remove(&key).await?;
        store.remove(&key).await?;
        assert_eq!(files_in(store.dir()), 0);
        Ok(())
    }
}
