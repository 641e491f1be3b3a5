//! Starting and stopping private swtpm (TPM 2.0 emulator) instances for tests.
//!
//! Each [`Swtpm`] is its own `swtpm socket --tpm2` process with its own temporary state
//! directory, listening on loopback only, so tests that run at the same time never share TPM
//! state or object slots. The TPM is usable as soon as [`Swtpm::start`] returns: it runs with
//! `not-need-init,startup-clear`, and `start` has already had a `TPM2_GetRandom` answered.
//!
//! The tpm2-tss swtpm TCTI derives the control port as the server port + 1, so both ports are
//! chosen together. swtpm must bind them itself (its `--server fd=` takes a connected socket,
//! not a listener), so a port probed free can be taken by someone else, another test's swtpm
//! included, before swtpm binds it. `start` therefore only hands out a port once the kernel
//! says the listening socket on it belongs to its own process (Linux's `/proc`), and tries a
//! fresh pair otherwise. Dropping the value kills the process and reaps it, which also happens
//! while a panicking test unwinds.

use std::fs::File;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// How many times a start is retried when the chosen ports were taken by someone else between
/// probing them and swtpm binding them.
const START_ATTEMPTS: usize = 8;
/// How long one swtpm process gets to answer its first command. A process that fails exits
/// at once and is seen at once; this only bounds one that hangs, so it is generous enough for
/// a machine whose cores are all busy.
const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// Why an swtpm could not be started.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The `swtpm` binary could not be run (not installed, not on PATH).
    #[error(
        "cannot run `{program}` (is swtpm installed? apt-get install swtpm swtpm-tools): {source}"
    )]
    Spawn {
        program: String,
        #[source]
        source: std::io::Error,
    },
    /// Local I/O around the process failed (temporary directory, sockets, log file).
    #[error("swtpm: {context}: {source}")]
    Io {
        context: &'static str,
        #[source]
        source: std::io::Error,
    },
    /// Every attempt ended with swtpm exiting or not answering; the last log is kept.
    #[error(
        "swtpm did not start after {attempts} attempts; last failure: {last_failure}; log:\n{log}"
    )]
    NotStarted {
        attempts: usize,
        last_failure: String,
        log: String,
    },
}

/// A running swtpm process, private to its owner.
#[derive(Debug)]
pub struct Swtpm {
    child: Child,
    port: u16,
    // Held for its Drop: the TPM state lives here and disappears with the instance.
    state_dir: tempfile::TempDir,
}

impl Swtpm {
    /// Starts a fresh TPM 2.0 emulator on free loopback ports and waits until it answers.
    pub fn start() -> Result<Self, Error> {
        Self::start_with_program("swtpm")
    }

    /// Like [`Swtpm::start`], with an explicit path to the swtpm binary.
    pub fn start_with_program(program: &str) -> Result<Self, Error> {
        let mut last_failure = String::new();
        let mut last_log = String::new();
        for _ in 0..START_ATTEMPTS {
            let state_dir = tempfile::Builder::new()
                .prefix("swtpm-")
                .tempdir()
                .map_err(|source| Error::Io {
                    context: "creating the state directory",
                    source,
                })?;
            let port = pick_port_pair()?;
            let log_path = state_dir.path().join("swtpm.log");
            let child = spawn(program, state_dir.path(), port, &log_path)?;
            let mut instance = Swtpm {
                child,
                port,
                state_dir,
            };
            match instance.wait_ready() {
                Ok(()) => return Ok(instance),
                Err(failure) => {
                    // Port theft is the expected cause; a fresh pair usually works.
                    last_failure = failure;
                    last_log = std::fs::read_to_string(&log_path).unwrap_or_default();
                    drop(instance);
                }
            }
        }
        Err(Error::NotStarted {
            attempts: START_ATTEMPTS,
            last_failure,
            log: last_log,
        })
    }

    /// The TPM command port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The control-channel port (always [`Swtpm::port`] + 1, as the TCTI expects).
    pub fn ctrl_port(&self) -> u16 {
        self.port + 1
    }

    /// The tpm2-tss TCTI configuration string for this instance.
    pub fn tcti(&self) -> String {
        format!("swtpm:host=127.0.0.1,port={}", self.port)
    }

    /// The process id, for diagnostics.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The directory holding this instance's TPM state (deleted on drop).
    pub fn state_dir(&self) -> &Path {
        self.state_dir.path()
    }

    fn wait_ready(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            if let Some(status) = self.exited()? {
                return Err(format!("swtpm exited with {status}"));
            }
            match probe(self.port) {
                // The answer could come from a stranger who holds the port (another test's
                // swtpm, while ours is still failing to bind): only trust it when the port's
                // listener is our process's.
                Ok(()) => {
                    if let Some(status) = self.exited()? {
                        return Err(format!("swtpm exited with {status}"));
                    }
                    return match listens_on(self.child.id(), self.port) {
                        Ok(true) => Ok(()),
                        Ok(false) => Err(format!(
                            "port {} answered, but not from swtpm {}",
                            self.port,
                            self.child.id()
                        )),
                        Err(e) => Err(format!("cannot tell who holds port {}: {e}", self.port)),
                    };
                }
                Err(e) if Instant::now() >= deadline => {
                    return Err(format!(
                        "no answer on port {} within {READY_TIMEOUT:?}: {e}",
                        self.port
                    ));
                }
                Err(_) => std::thread::sleep(Duration::from_millis(10)),
            }
        }
    }

    fn exited(&mut self) -> Result<Option<ExitStatus>, String> {
        self.child
            .try_wait()
            .map_err(|e| format!("cannot poll swtpm: {e}"))
    }
}

impl Drop for Swtpm {
    fn drop(&mut self) {
        // Errors here mean the process is already gone; nothing useful to report from Drop.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn spawn(program: &str, state_dir: &Path, port: u16, log_path: &PathBuf) -> Result<Child, Error> {
    let log = File::create(log_path).map_err(|source| Error::Io {
        context: "creating the log file",
        source,
    })?;
    let mut command = Command::new(program);
    command
        .arg("socket")
        .arg("--tpm2")
        .arg("--tpmstate")
        .arg(format!("dir={}", state_dir.display()))
        .arg("--server")
        .arg(format!("type=tcp,port={port},bindaddr=127.0.0.1"))
        .arg("--ctrl")
        .arg(format!("type=tcp,port={},bindaddr=127.0.0.1", port + 1))
        .arg("--flags")
        .arg("not-need-init,startup-clear")
        .arg("--log")
        .arg(format!("file={},level=1", log_path.display()))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log);
    // SAFETY: the closure runs in the child between fork and exec and makes only
    // async-signal-safe system calls (close_range, close).
    unsafe { command.pre_exec(close_inherited_descriptors) };
    command.spawn().map_err(|source| Error::Spawn {
        program: program.to_owned(),
        source,
    })
}

/// Marks every descriptor but stdin, stdout and stderr close-on-exec in a freshly forked child.
///
/// libtss2's TCTI opens its TPM socket without `FD_CLOEXEC`. When one test holds a TPM
/// connection while another starts an swtpm, the new swtpm inherits that connection, and
/// closing it in the test no longer closes it: the TPM it leads to (which serves one
/// connection at a time) keeps waiting on it, and every later connection of the test waits
/// behind it for ever. The swtpm we start needs nothing but its standard streams. Marking
/// instead of closing keeps the descriptor through which the standard library reports a failed
/// exec (a missing binary) to the parent working until the exec.
fn close_inherited_descriptors() -> std::io::Result<()> {
    const CLOSE_RANGE_CLOEXEC: u32 = 1 << 2;
    // SAFETY: plain system calls on descriptor numbers, async-signal-safe as the child of a
    // fork requires.
    let marked =
        unsafe { libc::syscall(libc::SYS_close_range, 3u32, u32::MAX, CLOSE_RANGE_CLOEXEC) };
    if marked != 0 {
        // Kernels before 5.11 lack the flag: mark them one by one up to the descriptor limit.
        let limit = unsafe { libc::sysconf(libc::_SC_OPEN_MAX) };
        let limit = i32::try_from(limit)
            .ok()
            .filter(|&l| l > 3)
            .unwrap_or(4096)
            .min(65_536);
        for fd in 3..limit {
            unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
        }
    }
    Ok(())
}

/// Finds a port P such that P and P + 1 are both free on 127.0.0.1 right now.
fn pick_port_pair() -> Result<u16, Error> {
    for _ in 0..64 {
        let first = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).map_err(|source| Error::Io {
            context: "probing a free port",
            source,
        })?;
        let port = first
            .local_addr()
            .map_err(|source| Error::Io {
                context: "reading a probed port",
                source,
            })?
            .port();
        let Some(next) = port.checked_add(1) else {
            continue;
        };
        if TcpListener::bind((Ipv4Addr::LOCALHOST, next)).is_ok() {
            return Ok(port);
        }
    }
    Err(Error::Io {
        context: "finding two adjacent free ports",
        source: std::io::Error::new(std::io::ErrorKind::AddrInUse, "no free port pair"),
    })
}

/// Whether the process `pid` holds the listening socket on `127.0.0.1:port`: the socket's
/// inode from `/proc/net/tcp`, looked for among the process's open files.
fn listens_on(pid: u32, port: u16) -> std::io::Result<bool> {
    // local_address is hex `0100007F:PORT` for 127.0.0.1; state 0A is LISTEN.
    let wanted = format!("0100007F:{port:04X}");
    let table = std::fs::read_to_string("/proc/net/tcp")?;
    let inode = table.lines().skip(1).find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        (fields.get(1) == Some(&wanted.as_str()) && fields.get(3) == Some(&"0A"))
            .then(|| fields.get(9).map(|i| format!("socket:[{i}]")))
            .flatten()
    });
    let Some(inode) = inode else {
        return Ok(false);
    };
    for entry in std::fs::read_dir(format!("/proc/{pid}/fd"))? {
        if std::fs::read_link(entry?.path())
            .is_ok_and(|target| target.as_os_str() == inode.as_str())
        {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Sends `TPM2_GetRandom(8)` and expects a success response: proof that a started TPM answers.
fn probe(port: u16) -> std::io::Result<()> {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    // A refused connection fails at once; the timeouts only bound a peer that accepts and
    // then says nothing, and must not be shorter than a busy machine needs to answer.
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    // tag TPM_ST_NO_SESSIONS, size 12, TPM_CC_GetRandom, bytesRequested 8
    let command: [u8; 12] = [
        0x80, 0x01, 0x00, 0x00, 0x00, 0x0c, 0x00, 0x00, 0x01, 0x7b, 0x00, 0x08,
    ];
    stream.write_all(&command)?;
    let mut header = [0u8; 10];
    stream.read_exact(&mut header)?;
    let rc = u32::from_be_bytes([header[6], header[7], header[8], header[9]]);
    if header[0..2] == [0x80, 0x01] && rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::other(format!(
            "unexpected TPM response header {header:02x?}"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Regression: a port that another TPM answers on (another test's swtpm took it between
    /// our probe and our swtpm's bind) must not be handed out as ours.
    #[test]
    fn a_stranger_answering_on_the_port_is_not_taken_for_ours() {
        if !prerequisites::swtpm("swtpm::a_stranger_answering_on_the_port_is_not_taken_for_ours") {
            return;
        }
        let stranger = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
        let port = stranger.local_addr().expect("address").port();
        // Answers every connection as a TPM would answer GetRandom.
        std::thread::spawn(move || {
            for mut conn in stranger.incoming().flatten() {
                let mut command = [0u8; 12];
                if conn.read_exact(&mut command).is_ok() {
                    let _ = conn.write_all(&[
                        0x80, 0x01, 0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x08, 1,
                        2, 3, 4, 5, 6, 7, 8,
                    ]);
                }
            }
        });
        let state_dir = tempfile::tempdir().expect("temporary directory");
        let log_path = state_dir.path().join("swtpm.log");
        let child = spawn("swtpm", state_dir.path(), port, &log_path).expect("swtpm runs");
        let mut ours = Swtpm {
            child,
            port,
            state_dir,
        };
        let verdict = ours.wait_ready();
        assert!(
            verdict.is_err(),
            "port {port} was taken for ours although a stranger holds it"
        );
    }

    /// Regression (a suite run that hung for ever): a TPM connection the test process held
    /// without `FD_CLOEXEC`, as libtss2 opens it, leaked into an swtpm started meanwhile; once
    /// the test closed it, the first TPM still served the leaked copy and never answered the
    /// test's next connection.
    #[test]
    fn a_started_swtpm_does_not_inherit_the_tests_tpm_connections() {
        if !prerequisites::swtpm(
            "swtpm::a_started_swtpm_does_not_inherit_the_tests_tpm_connections",
        ) {
            return;
        }
        use std::os::fd::AsRawFd as _;
        let first = Swtpm::start().expect("swtpm starts");
        let mut held =
            TcpStream::connect((Ipv4Addr::LOCALHOST, first.port())).expect("connect to the TPM");
        // SAFETY: clears the close-on-exec flag of a descriptor this test owns.
        unsafe { libc::fcntl(held.as_raw_fd(), libc::F_SETFD, 0) };
        held.write_all(&[0x80, 0x01, 0, 0, 0, 0x0c, 0, 0, 0x01, 0x7b, 0, 0x08])
            .expect("a command");
        let mut header = [0u8; 10];
        held.read_exact(&mut header).expect("the TPM answers");
        let second = Swtpm::start().expect("a second swtpm starts");
        drop(held);
        assert!(
            probe(first.port()).is_ok(),
            "the first TPM still serves a connection the second swtpm inherited"
        );
        drop(second);
    }

    #[test]
    fn our_own_listener_is_recognised() {
        if !prerequisites::swtpm("swtpm::our_own_listener_is_recognised") {
            return;
        }
        let tpm = Swtpm::start().expect("swtpm starts");
        assert_eq!(listens_on(tpm.pid(), tpm.port()).ok(), Some(true));
        assert_eq!(listens_on(std::process::id(), tpm.port()).ok(), Some(false));
    }
}
