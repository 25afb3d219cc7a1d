//! What the browser tests share: the Chromium and ChromeDriver of Debian, processes killed
//! with their process group when dropped (also on panic), waiting for a server to answer,
//! work folders, log tails, and synthetic CURPs with a check digit computed here, apart from
//! the domain's own code, so the tests do not trust what they test.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub mod rig;

pub const CHROMIUM: &str = "/usr/bin/chromium";
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// A child process killed with its whole process group when dropped, also on panic.
pub struct Reaper {
    pub name: &'static str,
    child: Child,
}

impl Reaper {
    pub fn spawn(name: &'static str, mut cmd: Command, log: &Path) -> Reaper {
        use std::os::unix::process::CommandExt;
        let out = std::fs::File::create(log).unwrap_or_else(|e| panic!("cannot create {}: {e}", log.display()));
        let err = out.try_clone().expect("clone log file handle");
        // Its own process group, so that the browsers ChromeDriver starts die with it.
        cmd.process_group(0).stdin(Stdio::null()).stdout(out).stderr(err);
        let child = cmd.spawn().unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
        Reaper { name, child }
    }

    /// `Some(status)` if the process has already ended.
    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }
}

impl Drop for Reaper {
    fn drop(&mut self) {
        if self.exited().is_none() {
            let group = format!("-{}", self.child.id());
            let killed = Command::new("kill")
                .args(["-KILL", "--", &group])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            if !killed {
                let _ = self.child.kill();
            }
        }
        let _ = self.child.wait();
        eprintln!("[navegador] stopped {}", self.name);
    }
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0").local_addr().expect("local address").port()
}

/// The status code of `GET path`, or `None` if the server does not answer (yet).
/// HTTP/1.1 with `Connection: close`, because ChromeDriver refuses HTTP/1.0.
pub fn http_status(port: u16, path: &str) -> Option<u16> {
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    stream.set_write_timeout(Some(Duration::from_secs(5))).ok()?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).ok()?;
    let mut head = [0u8; 64];
    let mut got = 0;
    while got < 12 {
        match stream.read(&mut head[got..]) {
            Ok(0) | Err(_) => break,
            Ok(n) => got += n,
        }
    }
    // "HTTP/1.1 200 OK"
    String::from_utf8_lossy(&head[..got]).split_whitespace().nth(1)?.parse().ok()
}

/// Waits until `GET path` answers 200, failing early if `process` ended.
pub fn wait_http_ok(port: u16, path: &str, limit: Duration, process: Option<&mut Reaper>, log: &Path) {
    let start = Instant::now();
    let mut process = process;
    loop {
        if http_status(port, path) == Some(200) {
            eprintln!("[navegador] 127.0.0.1:{port}{path} answered 200 after {:.1} s", start.elapsed().as_secs_f32());
            return;
        }
        if let Some(p) = process.as_deref_mut()
            && let Some(status) = p.exited()
        {
            panic!("{} ended ({status}) before answering {path}\n{}", p.name, tail(log, 60));
        }
        assert!(
            start.elapsed() < limit,
            "127.0.0.1:{port}{path} did not answer 200 within {} s\n{}",
            limit.as_secs(),
            tail(log, 60)
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// The last `lines` lines of a log file, for failure messages.
pub fn tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    format!("--- last lines of {} ---\n{}\n---", path.display(), all[all.len().saturating_sub(lines)..].join("\n"))
}

/// A unique folder `{prefix}-{pid}-{nanos}` under Cargo's temporary folder for tests.
pub fn work_dir(prefix: &str) -> PathBuf {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("{prefix}-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("create the test folder");
    dir
}

/// At most `max` characters of `text`.
pub fn truncate(text: &str, max: usize) -> &str {
    match text.char_indices().nth(max) {
        Some((i, _)) => &text[..i],
        None => text,
    }
}

/// RENAPO's check digit for the first 17 characters of a CURP.
pub fn curp_check_digit(first17: &str) -> char {
    const DICT: &str = "0123456789ABCDEFGHIJKLMNÑOPQRSTUVWXYZ";
    let chars: Vec<char> = first17.chars().collect();
    assert_eq!(chars.len(), 17, "a CURP's first part has 17 characters");
    let sum: u32 = chars
        .iter()
        .enumerate()
        .map(|(i, c)| DICT.chars().position(|d| d == *c).expect("character of the CURP dictionary") as u32 * (18 - i as u32))
        .sum();
    char::from_digit((10 - sum % 10) % 10, 10).unwrap()
}

pub fn valid_curp(first17: &str) -> String {
    format!("{first17}{}", curp_check_digit(first17))
}

pub fn curp_with_wrong_digit(first17: &str) -> String {
    let right = curp_check_digit(first17).to_digit(10).unwrap();
    format!("{first17}{}", char::from_digit((right + 1) % 10, 10).unwrap())
}
