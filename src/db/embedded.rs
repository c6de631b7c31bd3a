//! A private PostgreSQL for newcomers and tests: with `DATABASE_URL` unset, `serve` keeps a cluster under
//! `./data/postgres`, built and run with the system's `initdb`/`pg_ctl`. PostgreSQL refuses to run as root,
//! so a root process runs the cluster as the `postgres` account; when that account cannot reach
//! `./data/postgres` (a clone in root's 0700 home directory), the cluster lives under
//! `/var/tmp/homechef-postgres/<hash of the project path>` instead. Each data directory gets the same port
//! every run while that port is free.
//!
//! Several servers may use one cluster (the README's second server on 8001). Each holds a lease while it
//! runs: a file named after its pid in `<data dir>.leases/`, locked with `flock`, which the kernel releases
//! when the process ends however it ends (`kill -9` included). Starting, attaching and stopping are decided
//! under `<data dir>.leases/.lock`; a server that stops removes its lease and stops the cluster only when no
//! other lease is still held, so the last server out stops it, and a crashed server's cluster is stopped by
//! the next server that uses it. `homechef db path` and `homechef db stop` find and stop it by hand.
//!
//! We drive the system binaries directly rather than through `postgresql_embedded`: that crate's download
//! path pulls an HTTP/TLS stack into every build and cannot work offline anyway.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use anyhow::{bail, Context as _};
use tokio::process::Command;

/// A cluster: located (`locate`), or running and leased by this process (`start`).
pub struct EmbeddedPostgres {
    data_dir: PathBuf,
    bin_dir: PathBuf,
    port: u16,
    owner: Option<Account>,
    started_here: bool,
    /// This process's lease while it uses the cluster.
    lease: Option<std::fs::File>,
}

/// What `stop` did.
#[derive(Debug, PartialEq, Eq)]
pub enum Stopped {
    /// This was the last server using the cluster: it is stopped.
    Stopped,
    /// Other servers (this many) still hold leases: it keeps running.
    StillUsed(usize),
    /// It was not running any more.
    NotRunning,
}

/// The unprivileged OS account that owns and runs the cluster when we are root.
#[derive(Clone, Copy)]
struct Account {
    uid: u32,
    gid: u32,
}

impl EmbeddedPostgres {
    /// Creates the cluster if needed and starts it, or attaches to it if it is already running; either way
    /// this process holds a lease on it until `stop`.
    pub async fn start(data_dir: &Path) -> anyhow::Result<Self> {
        let mut pg = Self::locate(data_dir)?;
        let _decision = pg.decide().await?;
        pg.lease = Some(pg.take_lease()?);
        if !pg.data_dir.join("PG_VERSION").exists() {
            pg.init().await?;
        }
        if let Some(port) = pg.running_port().await {
            let others = pg.other_leases();
            if others == 0 {
                tracing::info!(
                    "adopted the embedded PostgreSQL a server that is gone had started; it stops with this one"
                );
            } else {
                tracing::info!(
                    servers = others,
                    "attached to the embedded PostgreSQL other homechef servers use; the last one to stop stops it"
                );
            }
            pg.port = port;
            return Ok(pg);
        }
        pg.port = stable_port(&pg.data_dir).map_or_else(free_port, Ok)?;
        let options = format!(
            "-c listen_addresses=127.0.0.1 -p {} -c unix_socket_directories='' -c max_connections=200",
            pg.port
        );
        let log = pg.data_dir.join("server.log");
        pg.pg_ctl(&["start", "-w", "-t", "60", "-l", path_str(&log)?, "-o", &options])
            .await
            .with_context(|| format!("PostgreSQL did not start; see {}", log.display()))?;
        pg.started_here = true;
        Ok(pg)
    }

    /// Where the cluster for `data_dir` lives and who runs it, without starting or leasing it.
    pub fn locate(data_dir: &Path) -> anyhow::Result<Self> {
        let bin_dir = find_bin_dir()
            .context("no PostgreSQL binaries (initdb, pg_ctl) found: install PostgreSQL or set DATABASE_URL")?;
        let owner =
            if effective_uid()? == 0 {
                Some(postgres_account()?.context(
                    "running as root and there is no `postgres` account to run PostgreSQL as: set DATABASE_URL",
                )?)
            } else {
                None
            };
        let mut data_dir = absolute(data_dir)?;
        if let Some(account) = owner.filter(|account| !reachable_by(&data_dir, *account)) {
            let shared = shared_dir_for(&data_dir)?;
            tracing::info!(
                data_dir = %shared.display(),
                "the postgres account (uid {}) cannot reach {}: the cluster lives in data_dir instead",
                account.uid,
                data_dir.display()
            );
            data_dir = shared;
        }
        Ok(Self {
            data_dir,
            bin_dir,
            port: 0,
            owner,
            started_here: false,
            lease: None,
        })
    }

    /// Connection URL for a database on this cluster (trust authentication, loopback only).
    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    /// Creates `name` if it does not exist; returns its URL.
    pub async fn ensure_database(&self, name: &str) -> anyhow::Result<String> {
        use diesel::{ExpressionMethods as _, QueryDsl as _};
        use diesel_async::RunQueryDsl as _;

        diesel::table! {
            pg_database (datname) {
                datname -> Text,
            }
        }
        let mut conn = super::connect(&self.url("postgres")).await?;
        let exists: i64 = pg_database::table
            .filter(pg_database::datname.eq(name))
            .count()
            .get_result(&mut conn)
            .await?;
        if exists == 0 {
            diesel::sql_query(format!("create database \"{}\"", name.replace('"', "\"\"")))
                .execute(&mut conn)
                .await?;
        }
        Ok(self.url(name))
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// Gives up this process's lease and stops the cluster if no other server holds one (waiting until it
    /// has stopped).
    pub async fn stop(&mut self) -> anyhow::Result<Stopped> {
        let _decision = self.decide().await?;
        if self.lease.take().is_some() {
            let _ = std::fs::remove_file(self.own_lease());
        }
        match self.other_leases() {
            0 => self.stop_now().await,
            others => Ok(Stopped::StillUsed(others)),
        }
    }

    /// Stops the cluster whoever uses it (`homechef db stop`); the servers still holding leases are counted.
    pub async fn stop_by_hand(&self) -> anyhow::Result<(Stopped, usize)> {
        let _decision = self.decide().await?;
        let others = self.other_leases();
        Ok((self.stop_now().await?, others))
    }

    async fn stop_now(&self) -> anyhow::Result<Stopped> {
        if self.running_port().await.is_none() {
            return Ok(Stopped::NotRunning);
        }
        self.pg_ctl(&["stop", "-m", "fast", "-w"]).await?;
        Ok(Stopped::Stopped)
    }

    fn leases_dir(&self) -> PathBuf {
        let mut name = self.data_dir.clone().into_os_string();
        name.push(".leases");
        PathBuf::from(name)
    }

    /// This process's lease file (named after its pid).
    fn own_lease(&self) -> PathBuf {
        self.leases_dir().join(std::process::id().to_string())
    }

    /// Waits for, then holds, the lock under which servers start, attach to and stop the cluster.
    async fn decide(&self) -> anyhow::Result<std::fs::File> {
        let dir = self.leases_dir();
        std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(dir.join(".lock"))
            .with_context(|| format!("cannot open {}", dir.join(".lock").display()))?;
        tokio::task::spawn_blocking(move || file.lock().map(|()| file))
            .await?
            .context("cannot lock the embedded PostgreSQL's leases")
    }

    /// This process's lease: its pid's file, locked for as long as the process lives.
    fn take_lease(&self) -> anyhow::Result<std::fs::File> {
        let path = self.own_lease();
        let file = std::fs::File::create(&path).with_context(|| format!("cannot create {}", path.display()))?;
        file.try_lock()
            .map_err(|e| anyhow::anyhow!("cannot lock {}: {e}", path.display()))?;
        Ok(file)
    }

    /// How many other processes hold a lease; the files of processes that are gone are removed.
    fn other_leases(&self) -> usize {
        let own = self.own_lease();
        let Ok(entries) = std::fs::read_dir(self.leases_dir()) else {
            return 0;
        };
        entries
            .flatten()
            .filter(|entry| entry.file_name() != ".lock" && entry.path() != own)
            .filter(|entry| {
                let Ok(file) = std::fs::File::open(entry.path()) else {
                    return false;
                };
                match file.try_lock() {
                    Ok(()) => {
                        let _ = std::fs::remove_file(entry.path());
                        false
                    }
                    Err(_) => true,
                }
            })
            .count()
    }

    /// For test processes, which cannot run async code at exit: a small watcher stops the cluster once
    /// process `pid` has exited, if this process started it, and removes its data (a test cluster is
    /// disposable, and it may live outside the target directory, under `/var/tmp/homechef-postgres`).
    pub fn stop_after_exit_of(&self, pid: u32) -> anyhow::Result<()> {
        if !self.started_here {
            return Ok(());
        }
        let script = format!(
            "while [ -d /proc/{pid} ]; do sleep 1; done; '{}' -D '{dir}' stop -m fast && rm -rf '{dir}'",
            self.bin_dir.join("pg_ctl").display(),
            dir = self.data_dir.display()
        );
        let mut cmd = std::process::Command::new("sh");
        cmd.args(["-c", &script])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if let Some(account) = self.owner {
            use std::os::unix::process::CommandExt as _;
            cmd.uid(account.uid).gid(account.gid);
        }
        cmd.spawn().context("could not start the PostgreSQL stop watcher")?;
        Ok(())
    }

    async fn init(&self) -> anyhow::Result<()> {
        std::fs::create_dir_all(&self.data_dir)
            .with_context(|| format!("cannot create {}", self.data_dir.display()))?;
        set_private(&self.data_dir)?;
        if let Some(account) = self.owner {
            std::os::unix::fs::chown(&self.data_dir, Some(account.uid), Some(account.gid))
                .with_context(|| format!("cannot hand {} to the postgres account", self.data_dir.display()))?;
        }
        let output = self
            .command("initdb")
            .args([
                "-D",
                path_str(&self.data_dir)?,
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-locale",
            ])
            .output()
            .await
            .context("could not run initdb")?;
        if !output.status.success() {
            bail!(
                "initdb failed (is {} reachable by the postgres account?): {}",
                self.data_dir.display(),
                String::from_utf8_lossy(&output.stderr).trim()
            );
        }
        Ok(())
    }

    /// The port of a cluster already running on this data directory, if any.
    pub async fn running_port(&self) -> Option<u16> {
        let status = self
            .command("pg_ctl")
            .args(["-D", path_str(&self.data_dir).ok()?, "status"])
            .output()
            .await
            .ok()?;
        if !status.status.success() {
            return None;
        }
        let pid_file = std::fs::read_to_string(self.data_dir.join("postmaster.pid")).ok()?;
        pid_file.lines().nth(3)?.trim().parse().ok()
    }

    async fn pg_ctl(&self, args: &[&str]) -> anyhow::Result<()> {
        let output = self
            .command("pg_ctl")
            .args(["-D", path_str(&self.data_dir)?])
            .args(args)
            .output()
            .await
            .context("could not run pg_ctl")?;
        if !output.status.success() {
            bail!(
                "pg_ctl {}: {}",
                args.first().unwrap_or(&""),
                String::from_utf8_lossy(&output.stderr).trim()
            );
        }
        Ok(())
    }

    fn command(&self, program: &str) -> Command {
        let mut cmd = Command::new(self.bin_dir.join(program));
        // The server must not hold our stdout open (a CI runner would wait for it) nor read our stdin.
        cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
        cmd.current_dir(self.data_dir.parent().unwrap_or(Path::new("/")));
        cmd.kill_on_drop(false);
        if let Some(account) = self.owner {
            cmd.uid(account.uid).gid(account.gid);
        }
        cmd
    }
}

/// `initdb` on the PATH, else the newest `/usr/lib/postgresql/<major>/bin`.
fn find_bin_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .find(|dir| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file())
    {
        return Some(dir.canonicalize().unwrap_or(dir));
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let major = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").is_file().then_some((major, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}

fn effective_uid() -> anyhow::Result<u32> {
    use std::os::unix::fs::MetadataExt as _;
    // /proc/self is owned by the effective uid of the process reading it.
    Ok(std::fs::metadata("/proc/self").context("cannot read /proc/self")?.uid())
}

fn postgres_account() -> anyhow::Result<Option<Account>> {
    let passwd = std::fs::read_to_string("/etc/passwd").context("cannot read /etc/passwd")?;
    Ok(passwd.lines().find_map(|line| {
        let fields: Vec<&str> = line.split(':').collect();
        (fields.first() == Some(&"postgres")).then(|| {
            Some(Account {
                uid: fields.get(2)?.parse().ok()?,
                gid: fields.get(3)?.parse().ok()?,
            })
        })?
    }))
}

/// Whether `account` can reach `dir`: every existing ancestor must let it search (x) as owner, group or
/// other. (Supplementary groups are not considered: the `postgres` account normally has none that matter.)
fn reachable_by(dir: &Path, account: Account) -> bool {
    use std::os::unix::fs::MetadataExt as _;
    dir.ancestors()
        .skip(1)
        .all(|ancestor| match std::fs::metadata(ancestor) {
            Ok(meta) => {
                let mode = meta.mode();
                if meta.uid() == account.uid {
                    mode & 0o100 != 0
                } else if meta.gid() == account.gid {
                    mode & 0o010 != 0
                } else {
                    mode & 0o001 != 0
                }
            }
            // Not created yet: we create it with the default (traversable) mode.
            Err(_) => true,
        })
}

/// `/var/tmp/homechef-postgres/<16 hex digits of the path's SHA-256>`: reachable by every account, stable
/// for a project directory, and kept across runs (and reboots, unlike /tmp).
fn shared_dir_for(dir: &Path) -> anyhow::Result<PathBuf> {
    use sha2::Digest as _;
    use std::os::unix::fs::PermissionsExt as _;
    let base = Path::new("/var/tmp").join("homechef-postgres");
    std::fs::create_dir_all(&base).with_context(|| format!("cannot create {}", base.display()))?;
    std::fs::set_permissions(&base, std::fs::Permissions::from_mode(0o755))
        .with_context(|| format!("cannot set permissions on {}", base.display()))?;
    let digest = sha2::Sha256::digest(dir.as_os_str().as_encoded_bytes());
    Ok(base.join(hex::encode(&digest[..8])))
}

/// The same port for a data directory every run (so the printed `psql` URL stays valid), if it is free.
fn stable_port(dir: &Path) -> Option<u16> {
    use sha2::Digest as _;
    let digest = sha2::Sha256::digest(dir.as_os_str().as_encoded_bytes());
    let port = 20_000 + u16::from_be_bytes([digest[0], digest[1]]) % 20_000;
    std::net::TcpListener::bind(("127.0.0.1", port)).ok().map(|_| port)
}

fn free_port() -> anyhow::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").context("no free local port")?;
    Ok(listener.local_addr()?.port())
}

fn absolute(path: &Path) -> anyhow::Result<PathBuf> {
    Ok(if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir()?.join(path)
    })
}

fn set_private(dir: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
        .with_context(|| format!("cannot set permissions on {}", dir.display()))
}

fn path_str(path: &Path) -> anyhow::Result<&str> {
    path.to_str()
        .with_context(|| format!("path is not UTF-8: {}", path.display()))
}
