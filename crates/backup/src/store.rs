//! Where backups are kept: a directory (`<data_dir>/backups` by default) or
//! an S3-compatible bucket (`KLUIS_BACKUP_URL=s3://bucket/prefix`, reached
//! through `object_store`, endpoint and credentials from the usual `AWS_*`
//! variables or kluis's own settings).
//!
//! An archive is always written to a local file first (a `.part` beside its
//! final name, or in the staging directory for a bucket) and stored whole
//! once complete: a backup object is never half written. The calls here
//! block; the bucket's requests run on a small runtime of the store's own,
//! so the store can be used from worker threads and request handlers alike.

use std::fmt;
use std::fs;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use object_store::ObjectStore;
use object_store::aws::AmazonS3Builder;
use object_store::path::Path as ObjectPath;

/// Where backups go, as configured.
#[derive(Clone)]
pub enum Target {
    /// Files under this directory.
    Local(PathBuf),
    /// Objects in an S3-compatible bucket.
    S3(S3Target),
}

impl fmt::Debug for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Local(dir) => f.debug_tuple("Local").field(dir).finish(),
            Target::S3(s3) => f.debug_struct("S3").field("url", &s3.url).field("endpoint", &s3.endpoint).finish(),
        }
    }
}

/// An S3-compatible bucket. Unset values come from the `AWS_*` environment
/// (`AWS_ENDPOINT_URL`, `AWS_REGION`, `AWS_ACCESS_KEY_ID`, ...).
#[derive(Clone, Default)]
pub struct S3Target {
    /// `s3://bucket` or `s3://bucket/prefix`.
    pub url: String,
    /// The endpoint of a non-AWS server (`http://` is allowed for it).
    pub endpoint: Option<String>,
    /// The region.
    pub region: Option<String>,
    /// The access key id.
    pub access_key_id: Option<String>,
    /// The secret access key.
    pub secret_access_key: Option<String>,
    /// Where archives are written before they are uploaded.
    pub staging: PathBuf,
}

/// The bucket and prefix of an `s3://bucket/prefix` URL.
pub fn parse_s3_url(url: &str) -> Result<(String, String), String> {
    let rest = url.strip_prefix("s3://").ok_or_else(|| format!("{url}: a backup URL starts with s3://"))?;
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    let valid = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.';
    if bucket.len() < 3 || bucket.len() > 63 || !bucket.chars().all(valid) {
        return Err(format!("{url}: `{bucket}` is not an S3 bucket name"));
    }
    Ok((bucket.to_owned(), prefix.trim_matches('/').to_owned()))
}

/// Stops the bucket's runtime without waiting (it may be dropped inside
/// another runtime, where a blocking shutdown would panic).
struct Runtime(Option<tokio::runtime::Runtime>);

impl Drop for Runtime {
    fn drop(&mut self) {
        if let Some(runtime) = self.0.take() {
            runtime.shutdown_background();
        }
    }
}

impl Runtime {
    fn get(&self) -> io::Result<&tokio::runtime::Runtime> {
        self.0.as_ref().ok_or_else(|| io::Error::other("the backup store is stopped"))
    }
}

struct Bucket {
    store: Arc<dyn ObjectStore>,
    prefix: String,
    staging: PathBuf,
    runtime: Runtime,
}

enum Kind {
    Local(PathBuf),
    S3(Bucket),
}

/// The configured place of backups.
pub struct BackupStore {
    kind: Kind,
}

impl fmt::Debug for BackupStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            Kind::Local(dir) => write!(f, "BackupStore(local {})", dir.display()),
            Kind::S3(bucket) => write!(f, "BackupStore(s3 {})", bucket.store),
        }
    }
}

/// A stored backup, to send to a client.
pub enum Body {
    /// A local file.
    File(PathBuf),
    /// An object's bytes, as they arrive.
    Stream(BoxStream<'static, io::Result<Bytes>>),
}

impl fmt::Debug for Body {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Body::File(path) => f.debug_tuple("File").field(path).finish(),
            Body::Stream(_) => f.write_str("Stream"),
        }
    }
}

fn object_error(e: object_store::Error) -> io::Error {
    match e {
        object_store::Error::NotFound { .. } => io::Error::new(io::ErrorKind::NotFound, "no such backup object"),
        other => io::Error::other(other.to_string()),
    }
}

/// Bytes read from a file per multipart upload part (S3's minimum part is 5 MiB).
const PART: usize = 8 * 1024 * 1024;

impl BackupStore {
    /// Open the configured place (no request is made yet).
    pub fn open(target: &Target) -> Result<BackupStore, String> {
        match target {
            Target::Local(dir) => Ok(BackupStore { kind: Kind::Local(dir.clone()) }),
            Target::S3(s3) => {
                let (bucket, prefix) = parse_s3_url(&s3.url)?;
                let mut builder = AmazonS3Builder::from_env().with_bucket_name(&bucket);
                if let Some(endpoint) = &s3.endpoint {
                    builder = builder.with_endpoint(endpoint).with_allow_http(endpoint.starts_with("http://"));
                }
                if let Some(region) = &s3.region {
                    builder = builder.with_region(region);
                }
                if let Some(id) = &s3.access_key_id {
                    builder = builder.with_access_key_id(id);
                }
                if let Some(secret) = &s3.secret_access_key {
                    builder = builder.with_secret_access_key(secret);
                }
                let store = builder.build().map_err(|e| format!("backup bucket: {e}"))?;
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(1)
                    .thread_name("kluis-backup-s3")
                    .enable_all()
                    .build()
                    .map_err(|e| format!("backup bucket runtime: {e}"))?;
                Ok(BackupStore {
                    kind: Kind::S3(Bucket {
                        store: Arc::new(store),
                        prefix,
                        staging: s3.staging.clone(),
                        runtime: Runtime(Some(runtime)),
                    }),
                })
            }
        }
    }

    /// `local` or `s3`, as stored on a backup's row.
    pub fn storage(&self) -> &'static str {
        match self.kind {
            Kind::Local(_) => "local",
            Kind::S3(_) => "s3",
        }
    }

    /// Where the archive of `key` is written before [`BackupStore::store`].
    pub fn staging_path(&self, key: &str) -> PathBuf {
        match &self.kind {
            Kind::Local(dir) => dir.join(format!("{key}.part")),
            Kind::S3(bucket) => bucket.staging.join(format!("{key}.part")),
        }
    }

    fn local_path(dir: &Path, key: &str) -> PathBuf {
        dir.join(key)
    }

    fn object(bucket: &Bucket, key: &str) -> ObjectPath {
        if bucket.prefix.is_empty() {
            ObjectPath::from(key)
        } else {
            ObjectPath::from(format!("{}/{key}", bucket.prefix))
        }
    }

    /// Keep the complete archive at `staged` as `key` (a rename, or an
    /// upload after which the staged file is removed).
    pub fn store(&self, staged: &Path, key: &str) -> io::Result<()> {
        match &self.kind {
            Kind::Local(dir) => fs::rename(staged, Self::local_path(dir, key)),
            Kind::S3(bucket) => {
                let uploaded = Self::upload(bucket, staged, key);
                let _ = fs::remove_file(staged);
                uploaded
            }
        }
    }

    fn upload(bucket: &Bucket, staged: &Path, key: &str) -> io::Result<()> {
        let mut file = fs::File::open(staged)?;
        let store = bucket.store.clone();
        let path = Self::object(bucket, key);
        bucket.runtime.get()?.block_on(async move {
            let upload = store.put_multipart(&path).await.map_err(object_error)?;
            let mut writer = object_store::WriteMultipart::new_with_chunk_size(upload, PART);
            let mut buf = vec![0u8; 1024 * 1024];
            loop {
                let n = file.read(&mut buf)?;
                if n == 0 {
                    break;
                }
                writer.wait_for_capacity(2).await.map_err(object_error)?;
                writer.write(&buf[..n]);
            }
            writer.finish().await.map_err(object_error)?;
            Ok(())
        })
    }

    /// Remove `key` (nothing to remove is fine).
    pub fn delete(&self, key: &str) -> io::Result<()> {
        match &self.kind {
            Kind::Local(dir) => match fs::remove_file(Self::local_path(dir, key)) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
                _ => Ok(()),
            },
            Kind::S3(bucket) => {
                let store = bucket.store.clone();
                let path = Self::object(bucket, key);
                bucket.runtime.get()?.block_on(async move {
                    match store.delete(&path).await {
                        Err(object_store::Error::NotFound { .. }) | Ok(()) => Ok(()),
                        Err(e) => Err(object_error(e)),
                    }
                })
            }
        }
    }

    /// Whether `key` is stored.
    pub fn exists(&self, key: &str) -> io::Result<bool> {
        match &self.kind {
            Kind::Local(dir) => Ok(Self::local_path(dir, key).is_file()),
            Kind::S3(bucket) => {
                let store = bucket.store.clone();
                let path = Self::object(bucket, key);
                bucket.runtime.get()?.block_on(async move {
                    match store.head(&path).await {
                        Ok(_) => Ok(true),
                        Err(object_store::Error::NotFound { .. }) => Ok(false),
                        Err(e) => Err(object_error(e)),
                    }
                })
            }
        }
    }

    /// A readable local copy of `key`: the file itself, or the object
    /// downloaded into the staging directory (removed when the returned
    /// guard drops).
    pub fn local_copy(&self, key: &str) -> io::Result<LocalCopy> {
        match &self.kind {
            Kind::Local(dir) => {
                let path = Self::local_path(dir, key);
                fs::metadata(&path)?;
                Ok(LocalCopy { path, temporary: false })
            }
            Kind::S3(bucket) => {
                let path = bucket.staging.join(format!("{key}.{}.fetch", kluis_core::ids::new_id()));
                create_parent(&path)?;
                let store = bucket.store.clone();
                let object = Self::object(bucket, key);
                let copy = LocalCopy { path: path.clone(), temporary: true };
                bucket.runtime.get()?.block_on(async move {
                    let mut stream = store.get(&object).await.map_err(object_error)?.into_stream();
                    let mut file = private_file(&path)?;
                    while let Some(chunk) = stream.next().await {
                        file.write_all(&chunk.map_err(object_error)?)?;
                    }
                    file.sync_all()
                })?;
                Ok(copy)
            }
        }
    }

    /// `key`'s bytes to send to a client.
    pub fn body(&self, key: &str) -> io::Result<Body> {
        match &self.kind {
            Kind::Local(dir) => {
                let path = Self::local_path(dir, key);
                fs::metadata(&path)?;
                Ok(Body::File(path))
            }
            Kind::S3(bucket) => {
                let store = bucket.store.clone();
                let object = Self::object(bucket, key);
                let runtime = bucket.runtime.get()?;
                let stream = runtime.block_on(async move { store.get(&object).await.map_err(object_error) })?;
                // The bytes are pulled on the store's runtime and handed over a
                // bounded channel: whoever sends them need not be on it.
                let (sender, receiver) = tokio::sync::mpsc::channel::<io::Result<Bytes>>(4);
                runtime.spawn(async move {
                    let mut stream = stream.into_stream();
                    while let Some(chunk) = stream.next().await {
                        let failed = chunk.is_err();
                        if sender.send(chunk.map_err(object_error)).await.is_err() || failed {
                            break;
                        }
                    }
                });
                let stream = futures_util::stream::unfold(receiver, |mut receiver| async move {
                    receiver.recv().await.map(|chunk| (chunk, receiver))
                });
                Ok(Body::Stream(stream.boxed()))
            }
        }
    }
}

/// A local copy of a stored backup.
#[derive(Debug)]
pub struct LocalCopy {
    path: PathBuf,
    temporary: bool,
}

impl LocalCopy {
    /// Where it is.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for LocalCopy {
    fn drop(&mut self) {
        if self.temporary {
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// Make `path`'s directory (mode 0700: backups hold personal data).
pub fn create_parent(path: &Path) -> io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    match path.parent() {
        Some(parent) => fs::DirBuilder::new().recursive(true).mode(0o700).create(parent),
        None => Ok(()),
    }
}

/// Create `path` for writing, mode 0600.
pub fn private_file(path: &Path) -> io::Result<fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s3_urls_name_a_bucket_and_an_optional_prefix() {
        assert_eq!(parse_s3_url("s3://kluis-backups").unwrap(), ("kluis-backups".into(), String::new()));
        assert_eq!(parse_s3_url("s3://kluis-backups/prod/eu/").unwrap(), ("kluis-backups".into(), "prod/eu".into()));
        for bad in ["https://x/y", "s3://", "s3://ab", "s3://Upper/x", "s3://a_b_c"] {
            assert!(parse_s3_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_local_store_keeps_renames_and_deletes_files() {
        let dir = tempfile::tempdir().unwrap();
        let store = BackupStore::open(&Target::Local(dir.path().to_owned())).unwrap();
        let staged = store.staging_path("t/b.kluis");
        create_parent(&staged).unwrap();
        fs::write(&staged, b"archive").unwrap();
        store.store(&staged, "t/b.kluis").unwrap();
        assert!(store.exists("t/b.kluis").unwrap() && !staged.exists());
        assert_eq!(fs::read(store.local_copy("t/b.kluis").unwrap().path()).unwrap(), b"archive");
        store.delete("t/b.kluis").unwrap();
        store.delete("t/b.kluis").unwrap();
        assert!(!store.exists("t/b.kluis").unwrap());
    }
}
