//! ClamAV through clamd's `INSTREAM` command, when `CLAMD_ADDR` is set (`host:port`, `tcp://host:port`,
//! `unix:/path` or an absolute socket path). An unreachable or failing clamd is an error, never "clean":
//! the caller keeps the file quarantined and retries later.

use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};

/// What clamd said about a file.
#[derive(Debug, PartialEq, Eq)]
pub enum ClamVerdict {
    Clean,
    /// The signature name clamd reported.
    Infected(String),
}

const CHUNK: usize = 64 * 1024;
const TIMEOUT: Duration = Duration::from_secs(30);
/// clamd answers in one short line; anything longer is not clamd.
const MAX_REPLY: usize = 4096;

pub async fn scan(addr: &str, bytes: &[u8]) -> std::io::Result<ClamVerdict> {
    let reply = ask(addr, Command::Instream(bytes), TIMEOUT).await?;
    parse_reply(&reply)
}

/// Whether clamd answers `PING` within a few seconds.
pub async fn ping(addr: &str) -> bool {
    ping_within(addr, Duration::from_secs(5)).await
}

pub async fn ping_within(addr: &str, timeout: Duration) -> bool {
    ask(addr, Command::Ping, timeout)
        .await
        .is_ok_and(|reply| reply.starts_with(b"PONG"))
}

/// How long a health probe trusts what uploads last saw of clamd before asking it again.
const STATE_TTL: Duration = Duration::from_secs(10);

/// clamd as a dependency: where it is (when configured) and whether it last answered.
pub struct Antivirus {
    addr: Option<String>,
    /// Up or not, and when we learned it.
    seen: std::sync::Mutex<Option<(bool, std::time::Instant)>>,
}

impl Antivirus {
    pub fn new(addr: Option<String>) -> Self {
        Self {
            addr,
            seen: std::sync::Mutex::new(None),
        }
    }

    pub fn addr(&self) -> Option<&str> {
        self.addr.as_deref()
    }

    /// Records whether clamd answered; `true` when this starts an outage (it answered last time, or we
    /// had not asked yet), so that an outage is reported once, not per file.
    pub fn observe(&self, up: bool) -> bool {
        let mut seen = self.seen.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let was_up = seen.is_none_or(|(up, _)| up);
        *seen = Some((up, std::time::Instant::now()));
        was_up && !up
    }

    /// What was seen of clamd in the last `STATE_TTL`, if anything.
    pub fn recent(&self) -> Option<bool> {
        let seen = *self.seen.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        seen.filter(|(_, at)| at.elapsed() < STATE_TTL).map(|(up, _)| up)
    }
}

enum Command<'a> {
    Ping,
    Instream(&'a [u8]),
}

async fn ask(addr: &str, command: Command<'_>, timeout: Duration) -> std::io::Result<Vec<u8>> {
    let unix = addr
        .strip_prefix("unix:")
        .or_else(|| addr.starts_with('/').then_some(addr));
    let conversation = async {
        match unix {
            Some(path) => exchange(tokio::net::UnixStream::connect(path).await?, command).await,
            None => {
                let host = addr.strip_prefix("tcp://").unwrap_or(addr);
                exchange(tokio::net::TcpStream::connect(host).await?, command).await
            }
        }
    };
    tokio::time::timeout(timeout, conversation)
        .await
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "clamd did not answer in time"))?
}

async fn exchange<S: AsyncRead + AsyncWrite + Unpin>(mut stream: S, command: Command<'_>) -> std::io::Result<Vec<u8>> {
    match command {
        Command::Ping => stream.write_all(b"zPING\0").await?,
        Command::Instream(bytes) => {
            stream.write_all(b"zINSTREAM\0").await?;
            for chunk in bytes.chunks(CHUNK) {
                let len = u32::try_from(chunk.len()).unwrap_or(u32::MAX);
                stream.write_all(&len.to_be_bytes()).await?;
                stream.write_all(chunk).await?;
            }
            stream.write_all(&0u32.to_be_bytes()).await?;
        }
    }
    stream.flush().await?;
    let mut reply = Vec::new();
    (&mut stream).take(MAX_REPLY as u64).read_to_end(&mut reply).await?;
    Ok(reply)
}

fn parse_reply(reply: &[u8]) -> std::io::Result<ClamVerdict> {
    let text = String::from_utf8_lossy(reply);
    let text = text.trim_end_matches(['\0', '\n']).trim();
    let verdict = text.strip_prefix("stream:").map(str::trim);
    match verdict {
        Some("OK") => Ok(ClamVerdict::Clean),
        Some(found) if found.ends_with("FOUND") => Ok(ClamVerdict::Infected(
            found.trim_end_matches("FOUND").trim().chars().take(100).collect(),
        )),
        _ => Err(std::io::Error::other(format!(
            "clamd answered `{}`",
            text.chars().take(100).collect::<String>()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_are_parsed_and_errors_are_not_clean() {
        assert_eq!(parse_reply(b"stream: OK\0").ok(), Some(ClamVerdict::Clean));
        assert_eq!(
            parse_reply(b"stream: Eicar-Signature FOUND\0").ok(),
            Some(ClamVerdict::Infected("Eicar-Signature".into()))
        );
        assert!(parse_reply(b"INSTREAM size limit exceeded. ERROR\0").is_err());
        assert!(parse_reply(b"").is_err());
    }
}
