//! The sealed envelope of an archive: a short plain header, then the
//! payload in 64 KiB chunks, each sealed with AES-256-GCM in the STREAM
//! construction (`aead::stream`, big-endian 32-bit counter plus a last-chunk
//! flag in the nonce). A chunk that was altered, reordered, dropped or cut
//! short does not open, and an archive that ends before its last chunk is
//! reported as truncated. The header (key kind, salt, nonce prefix) is the
//! associated data of every chunk, so it cannot be altered either.
//!
//! The key is derived per archive from a fresh random salt: from the master
//! key with HKDF-SHA256, or from a passphrase with Argon2id, so an archive
//! can be opened by another instance that is given the passphrase.

use std::io::{self, Read, Write};

use aead::stream::{NewStream, StreamBE32, StreamPrimitive};
use aes_gcm::Aes256Gcm;
use aes_gcm::aead::{KeyInit, Payload};
use kluis_store::MasterKey;
use kluis_store::crypto::fill_random;
use zeroize::Zeroizing;

use crate::error::ArchiveError;

/// The first bytes of every archive.
pub const MAGIC: &[u8; 8] = b"KLUISARC";
/// The envelope's format.
pub const FORMAT: u8 = 1;
/// Plaintext bytes per chunk.
const CHUNK: usize = 64 * 1024;
/// AES-GCM tag length.
const TAG: usize = 16;
const SALT: usize = 16;
const NONCE_PREFIX: usize = 7;
const HEADER: usize = MAGIC.len() + 2 + SALT + NONCE_PREFIX;
/// The HKDF `info` of archive keys.
const INFO: &[u8] = b"kluis tenant archive v1";

/// What an archive's key is derived from.
pub enum Secret<'a> {
    /// This instance's master key.
    Master(&'a MasterKey),
    /// A passphrase given for the archive.
    Passphrase(&'a str),
}

impl std::fmt::Debug for Secret<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Secret::Master(_) => "Secret::Master",
            Secret::Passphrase(_) => "Secret::Passphrase",
        })
    }
}

impl Secret<'_> {
    fn kind(&self) -> u8 {
        match self {
            Secret::Master(_) => 1,
            Secret::Passphrase(_) => 2,
        }
    }

    /// `master` or `passphrase`.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Secret::Master(_) => "master",
            Secret::Passphrase(_) => "passphrase",
        }
    }

    fn key(&self, salt: &[u8]) -> Result<Zeroizing<[u8; 32]>, ArchiveError> {
        match self {
            Secret::Master(master) => Ok(master.derive(salt, INFO)),
            Secret::Passphrase(passphrase) => {
                let mut key = Zeroizing::new([0u8; 32]);
                argon2::Argon2::default()
                    .hash_password_into(passphrase.as_bytes(), salt, key.as_mut())
                    .map_err(|e| ArchiveError::Key(e.to_string()))?;
                Ok(key)
            }
        }
    }
}

fn io_error(error: ArchiveError) -> io::Error {
    io::Error::other(error)
}

/// Writes the sealed envelope to `inner`; [`SealWriter::finish`] seals the
/// last chunk (without it the archive reads as truncated).
pub struct SealWriter<W: Write> {
    inner: W,
    header: [u8; HEADER],
    stream: StreamBE32<Aes256Gcm>,
    counter: u32,
    finished: bool,
    buffer: Vec<u8>,
    written: u64,
}

impl<W: Write> SealWriter<W> {
    /// Start an archive sealed under a key derived from `secret`.
    pub fn new(mut inner: W, secret: &Secret<'_>) -> Result<SealWriter<W>, ArchiveError> {
        let mut salt = [0u8; SALT];
        let mut prefix = [0u8; NONCE_PREFIX];
        fill_random(&mut salt).map_err(|e| ArchiveError::Key(e.to_string()))?;
        fill_random(&mut prefix).map_err(|e| ArchiveError::Key(e.to_string()))?;
        let mut header = [0u8; HEADER];
        header[..8].copy_from_slice(MAGIC);
        header[8] = FORMAT;
        header[9] = secret.kind();
        header[10..10 + SALT].copy_from_slice(&salt);
        header[10 + SALT..].copy_from_slice(&prefix);
        let key = secret.key(&salt)?;
        let cipher = Aes256Gcm::new(key.as_ref().into());
        let stream = StreamBE32::from_aead(cipher, prefix.as_ref().into());
        inner.write_all(&header)?;
        Ok(SealWriter {
            inner,
            header,
            stream,
            counter: 0,
            finished: false,
            buffer: Vec::with_capacity(CHUNK),
            written: HEADER as u64,
        })
    }

    fn seal(&mut self, last: bool) -> io::Result<Vec<u8>> {
        if self.finished {
            return Err(io_error(ArchiveError::Finished));
        }
        let sealed = self
            .stream
            .encrypt(self.counter, last, Payload { msg: &self.buffer, aad: &self.header })
            .map_err(|_| io_error(ArchiveError::Key("sealing failed".to_owned())))?;
        self.counter =
            self.counter.checked_add(1).ok_or_else(|| io_error(ArchiveError::Key("archive too large".to_owned())))?;
        self.finished = last;
        Ok(sealed)
    }

    fn seal_chunk(&mut self) -> io::Result<()> {
        let sealed = self.seal(false)?;
        self.inner.write_all(&sealed)?;
        self.written += sealed.len() as u64;
        self.buffer.clear();
        Ok(())
    }

    /// Seal the last chunk; returns the inner writer and the bytes written.
    pub fn finish(mut self) -> io::Result<(W, u64)> {
        let sealed = self.seal(true)?;
        self.inner.write_all(&sealed)?;
        self.inner.flush()?;
        Ok((self.inner, self.written + sealed.len() as u64))
    }
}

impl<W: Write> Write for SealWriter<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let room = CHUNK - self.buffer.len();
        let n = room.min(data.len());
        self.buffer.extend_from_slice(&data[..n]);
        // A full chunk is sealed at once: the last chunk is always shorter.
        if self.buffer.len() == CHUNK {
            self.seal_chunk()?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// The key kind an archive says it is sealed with, from its header.
pub fn key_kind(header: &[u8]) -> Result<&'static str, ArchiveError> {
    if header.len() < HEADER || &header[..8] != MAGIC {
        return Err(ArchiveError::NotAnArchive);
    }
    match header[9] {
        1 => Ok("master"),
        2 => Ok("passphrase"),
        _ => Err(ArchiveError::NotAnArchive),
    }
}

/// Reads and opens the sealed envelope from `inner`.
pub struct OpenReader<R: Read> {
    inner: R,
    header: [u8; HEADER],
    stream: StreamBE32<Aes256Gcm>,
    plain: Vec<u8>,
    position: usize,
    chunks: u32,
    ended: bool,
}

impl<R: Read> OpenReader<R> {
    /// Read the header and derive the key; `secret` must be of the kind the
    /// archive was sealed with.
    pub fn new(mut inner: R, secret: &Secret<'_>) -> Result<OpenReader<R>, ArchiveError> {
        let mut header = [0u8; HEADER];
        let got = read_full(&mut inner, &mut header)?;
        if got < HEADER || &header[..8] != MAGIC {
            return Err(ArchiveError::NotAnArchive);
        }
        if header[8] != FORMAT {
            return Err(ArchiveError::Format(header[8]));
        }
        match (header[9], secret) {
            (1, Secret::Master(_)) | (2, Secret::Passphrase(_)) => {}
            (2, Secret::Master(_)) => return Err(ArchiveError::PassphraseNeeded),
            (1, Secret::Passphrase(_)) => return Err(ArchiveError::MasterKeyNeeded),
            _ => return Err(ArchiveError::NotAnArchive),
        }
        let key = secret.key(&header[10..10 + SALT])?;
        let cipher = Aes256Gcm::new(key.as_ref().into());
        let prefix: &[u8] = &header[10 + SALT..];
        let stream = StreamBE32::from_aead(cipher, prefix.into());
        Ok(OpenReader { inner, header, stream, plain: Vec::new(), position: 0, chunks: 0, ended: false })
    }

    fn next_chunk(&mut self) -> Result<(), ArchiveError> {
        let mut sealed = vec![0u8; CHUNK + TAG];
        let got = read_full(&mut self.inner, &mut sealed)?;
        sealed.truncate(got);
        if got == 0 {
            return Err(ArchiveError::Truncated);
        }
        let first = self.chunks == 0;
        let payload = || Payload { msg: &sealed, aad: &self.header };
        if got == CHUNK + TAG {
            // A full chunk is never the last one.
            self.plain = self
                .stream
                .decrypt(self.chunks, false, payload())
                .map_err(|_| if first { ArchiveError::DoesNotOpen } else { ArchiveError::Altered })?;
        } else {
            match self.stream.decrypt(self.chunks, true, payload()) {
                Ok(plain) => self.plain = plain,
                // A whole chunk that is not the last: what followed it is missing.
                Err(_) if self.stream.decrypt(self.chunks, false, payload()).is_ok() => {
                    return Err(ArchiveError::Truncated);
                }
                Err(_) if first => return Err(ArchiveError::DoesNotOpen),
                // A chunk cut short cannot be told from one altered.
                Err(_) => return Err(ArchiveError::Damaged),
            }
            let mut extra = [0u8; 1];
            if read_full(&mut self.inner, &mut extra)? != 0 {
                return Err(ArchiveError::Altered);
            }
            self.ended = true;
        }
        self.chunks = self.chunks.checked_add(1).ok_or(ArchiveError::Altered)?;
        self.position = 0;
        Ok(())
    }
}

impl<R: Read> Read for OpenReader<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.position == self.plain.len() {
            if self.ended {
                return Ok(0);
            }
            self.next_chunk().map_err(io_error)?;
        }
        let n = out.len().min(self.plain.len() - self.position);
        out[..n].copy_from_slice(&self.plain[self.position..self.position + n]);
        self.position += n;
        Ok(n)
    }
}

fn read_full(reader: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match reader.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seal(secret: &Secret<'_>, data: &[u8]) -> Vec<u8> {
        let mut writer = SealWriter::new(Vec::new(), secret).unwrap();
        writer.write_all(data).unwrap();
        writer.finish().unwrap().0
    }

    fn open(secret: &Secret<'_>, sealed: &[u8]) -> Result<Vec<u8>, ArchiveError> {
        let mut reader = OpenReader::new(sealed, secret)?;
        let mut out = Vec::new();
        reader.read_to_end(&mut out).map_err(ArchiveError::from)?;
        Ok(out)
    }

    #[test]
    fn round_trips_at_every_chunk_boundary() {
        let master = MasterKey::generate().unwrap();
        let secret = Secret::Master(&master);
        for len in [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK] {
            let data: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
            assert_eq!(open(&secret, &seal(&secret, &data)).unwrap(), data, "{len}");
        }
    }

    #[test]
    fn a_flipped_byte_anywhere_is_refused() {
        let master = MasterKey::generate().unwrap();
        let secret = Secret::Master(&master);
        let data = vec![7u8; 2 * CHUNK + 10];
        let sealed = seal(&secret, &data);
        for at in [9, 12, HEADER + 3, HEADER + CHUNK + TAG + 5, sealed.len() - 1] {
            let mut bad = sealed.clone();
            bad[at] ^= 1;
            assert!(open(&secret, &bad).is_err(), "byte {at}");
        }
    }

    #[test]
    fn truncation_is_reported_as_such() {
        let master = MasterKey::generate().unwrap();
        let secret = Secret::Master(&master);
        let sealed = seal(&secret, &vec![1u8; 2 * CHUNK + 10]);
        for cut in [HEADER + CHUNK + TAG, HEADER + 2 * (CHUNK + TAG)] {
            let error = open(&secret, &sealed[..cut]).unwrap_err();
            assert!(matches!(error, ArchiveError::Truncated), "cut at {cut}: {error:?}");
        }
        for cut in [sealed.len() - 1, HEADER + CHUNK + TAG + 100] {
            let error = open(&secret, &sealed[..cut]).unwrap_err();
            assert!(matches!(error, ArchiveError::Damaged), "cut at {cut}: {error:?}");
        }
    }

    #[test]
    fn another_key_or_the_wrong_kind_does_not_open() {
        let master = MasterKey::generate().unwrap();
        let other = MasterKey::generate().unwrap();
        let sealed = seal(&Secret::Master(&master), b"data");
        assert!(matches!(open(&Secret::Master(&other), &sealed), Err(ArchiveError::DoesNotOpen)));
        assert!(matches!(open(&Secret::Passphrase("x"), &sealed), Err(ArchiveError::MasterKeyNeeded)));
        let by_phrase = seal(&Secret::Passphrase("correct horse"), b"data");
        assert_eq!(open(&Secret::Passphrase("correct horse"), &by_phrase).unwrap(), b"data");
        assert!(matches!(open(&Secret::Passphrase("wrong horse"), &by_phrase), Err(ArchiveError::DoesNotOpen)));
        assert!(matches!(open(&Secret::Master(&master), &by_phrase), Err(ArchiveError::PassphraseNeeded)));
        assert!(matches!(open(&Secret::Master(&master), b"PK\x03\x04"), Err(ArchiveError::NotAnArchive)));
    }
}
