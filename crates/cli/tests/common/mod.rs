//! Helpers shared by the integration tests that drive the `violeta` binary:
//! running a command with a time limit, starting a server on a free loopback
//! port (killed with its process group when dropped, also when a test panics),
//! plain HTTP/1.1 over `TcpStream` with a small cookie jar, throw-away folders,
//! and CURP check digits.
//!
//! Every command starts from a clean environment as far as Violeta is concerned:
//! `DATABASE_URL`, `VIOLETA_DIR` and the other `VIOLETA_*` variables of the
//! machine running the tests are removed, so a test only touches what it names.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_violeta");

/// A command that takes longer than this is killed and the test fails.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(180);
/// How long a server may take to answer `/healthz` (the demo loads its data first).
pub const SERVER_START_TIMEOUT: Duration = Duration::from_secs(120);

/// Variables of the test machine that would change what `violeta` does.
const VIOLETA_ENV: [&str; 8] = [
    "DATABASE_URL",
    "VIOLETA_DIR",
    "VIOLETA_ADDR",
    "VIOLETA_PUBLIC_URL",
    "VIOLETA_SECURE_COOKIES",
    "VIOLETA_TRUST_PROXY",
    "VIOLETA_LOG",
    "VIOLETA_LOG_FORMAT",
];

// ---------------------------------------------------------------------------
// Folders

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A unique folder under the system's temporary folder. Removed when dropped,
/// unless the test is failing (then it is kept, and its path printed).
pub struct TempDir {
    pub path: PathBuf,
}

impl TempDir {
    pub fn new(label: &str) -> TempDir {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let path = std::env::temp_dir().join(format!(
            "violeta-cli-{label}-{}-{}-{nanos}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&path)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", path.display()));
        TempDir { path }
    }

    pub fn join(&self, p: impl AsRef<Path>) -> PathBuf {
        self.path.join(p)
    }

    /// A sub-folder (created).
    pub fn sub(&self, name: &str) -> PathBuf {
        let p = self.path.join(name);
        std::fs::create_dir_all(&p)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", p.display()));
        p
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("[test] kept {} for inspection", self.path.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

/// A read-only sample file from the shared samples folder next to the workspace,
/// or `None` (with a note) when this checkout does not have it.
pub fn sample(name: &str) -> Option<PathBuf> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/samples/asistencia")
        .join(name);
    if path.exists() {
        Some(path)
    } else {
        eprintln!(
            "[test] SKIPPED part: sample file {} is not there",
            path.display()
        );
        None
    }
}

// ---------------------------------------------------------------------------
// Commands

/// `violeta` with Violeta's own variables removed from the environment, quiet logs,
/// run from `cwd`.
pub fn violeta(cwd: &Path) -> Command {
    let mut cmd = Command::new(BIN);
    for var in VIOLETA_ENV {
        cmd.env_remove(var);
    }
    cmd.env("VIOLETA_LOG", "warn").current_dir(cwd);
    cmd
}

/// What a finished command did.
pub struct Run {
    pub what: String,
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
    pub took: Duration,
}

impl Run {
    pub fn success(&self) -> bool {
        self.status.success()
    }

    /// Panics (showing the output) unless the command succeeded.
    pub fn assert_ok(&self) -> &Run {
        assert!(
            self.success(),
            "`{}` failed ({}):\n{}",
            self.what,
            self.status,
            self.output()
        );
        self
    }

    /// Panics unless the command failed, and returns its stderr.
    pub fn assert_failed(&self) -> &str {
        assert!(
            !self.success(),
            "`{}` should have failed but succeeded:\n{}",
            self.what,
            self.output()
        );
        &self.stderr
    }

    pub fn output(&self) -> String {
        format!(
            "--- stdout ---\n{}\n--- stderr ---\n{}\n---",
            self.stdout, self.stderr
        )
    }
}

/// Runs `violeta ARGS` in `cwd` (with [`violeta`]'s clean environment plus `env`),
/// killing it after [`COMMAND_TIMEOUT`].
pub fn run<I, S>(cwd: &Path, args: I, env: &[(&str, &str)]) -> Run
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut cmd = violeta(cwd);
    cmd.args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    run_command(cmd)
}

/// Runs a prepared command to its end, with a time limit.
pub fn run_command(mut cmd: Command) -> Run {
    let what = describe(&cmd);
    cmd.process_group(0)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let start = Instant::now();
    let child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start `{what}`: {e}"));
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    let output = match rx.recv_timeout(COMMAND_TIMEOUT) {
        Ok(out) => out.unwrap_or_else(|e| panic!("waiting for `{what}`: {e}")),
        Err(_) => {
            kill_group(pid);
            let out = rx.recv().ok().and_then(Result::ok);
            let shown = out
                .map(|o| {
                    format!(
                        "{}\n{}",
                        String::from_utf8_lossy(&o.stdout),
                        String::from_utf8_lossy(&o.stderr)
                    )
                })
                .unwrap_or_default();
            panic!(
                "`{what}` did not finish within {} s; killed.\n{shown}",
                COMMAND_TIMEOUT.as_secs()
            );
        }
    };
    let run = Run {
        what,
        status: output.status,
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        took: start.elapsed(),
    };
    eprintln!(
        "[test] `{}` → {} in {:.1} s",
        run.what,
        run.status,
        run.took.as_secs_f32()
    );
    run
}

fn describe(cmd: &Command) -> String {
    let mut s = String::from("violeta");
    for a in cmd.get_args() {
        s.push(' ');
        s.push_str(&a.to_string_lossy());
    }
    s
}

/// SIGKILL to a whole process group (the child was started as its leader).
fn kill_group(pid: u32) {
    let _ = Command::new("kill")
        .args(["-KILL", "--", &format!("-{pid}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

// ---------------------------------------------------------------------------
// Servers

pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local address").port()
}

/// A running `violeta serve` or `violeta demo`, killed (with its process group) when
/// dropped, also when the test panics. Its stdout and stderr go to a log file.
pub struct Server {
    pub name: String,
    pub port: u16,
    pub log: PathBuf,
    child: Child,
}

impl Server {
    /// Starts `make(port)` on a free port and waits until `/healthz` answers 200.
    /// If the process ends first because the port was taken in between, tries another.
    pub fn start(name: &str, log: &Path, make: impl Fn(u16) -> Command) -> Server {
        for attempt in 1..=3 {
            let port = free_port();
            let mut server = Server::launch(name, log, port, make(port));
            match server.wait_healthy() {
                Ok(took) => {
                    eprintln!(
                        "[test] {name} answers on 127.0.0.1:{port} after {:.1} s",
                        took.as_secs_f32()
                    );
                    return server;
                }
                Err(status) if attempt < 3 && server.log_text().contains("no se pudo escuchar") => {
                    eprintln!("[test] {name}: port {port} was taken ({status}); trying another");
                }
                Err(status) => panic!(
                    "{name} ended ({status}) before answering /healthz\n{}",
                    server.log_tail(60)
                ),
            }
        }
        unreachable!()
    }

    /// Starts a server without waiting for it (see [`Server::wait_ready`]).
    pub fn launch(name: &str, log: &Path, port: u16, mut cmd: Command) -> Server {
        let out = std::fs::File::create(log)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", log.display()));
        let err = out.try_clone().expect("clone log file handle");
        // Its own process group, so that nothing it starts outlives the test.
        cmd.process_group(0)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err);
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
        Server {
            name: name.to_string(),
            port,
            log: log.to_path_buf(),
            child,
        }
    }

    /// Waits until `/healthz` answers 200; panics (with the log) if the process ends first.
    pub fn wait_ready(&mut self) {
        match self.wait_healthy() {
            Ok(took) => eprintln!(
                "[test] {} answers on 127.0.0.1:{} after {:.1} s",
                self.name,
                self.port,
                took.as_secs_f32()
            ),
            Err(status) => panic!(
                "{} ended ({status}) before answering /healthz\n{}",
                self.name,
                self.log_tail(60)
            ),
        }
    }

    /// Waits for `/healthz`; `Err` with the exit status if the process ended first.
    fn wait_healthy(&mut self) -> Result<Duration, String> {
        let start = Instant::now();
        loop {
            if let Some(status) = self.exited() {
                return Err(status.to_string());
            }
            if let Ok(r) = request(self.port, "GET", "/healthz", &[], None)
                && r.status == 200
            {
                return Ok(start.elapsed());
            }
            if start.elapsed() > SERVER_START_TIMEOUT {
                panic!(
                    "{} did not answer /healthz with 200 within {} s\n{}",
                    self.name,
                    SERVER_START_TIMEOUT.as_secs(),
                    self.log_tail(60)
                );
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn log_tail(&self, lines: usize) -> String {
        let text = self.log_text();
        let all: Vec<&str> = text.lines().collect();
        let from = all.len().saturating_sub(lines);
        format!(
            "--- last lines of {} ---\n{}\n---",
            self.log.display(),
            all[from..].join("\n")
        )
    }

    /// Stops the server now (same as dropping it).
    pub fn stop(self) {}
}

impl Drop for Server {
    fn drop(&mut self) {
        if self.exited().is_none() {
            kill_group(self.child.id());
            if self.exited().is_none() {
                let _ = self.child.kill();
            }
        }
        let _ = self.child.wait();
        eprintln!("[test] stopped {}", self.name);
    }
}

// ---------------------------------------------------------------------------
// HTTP/1.1, by hand

#[derive(Debug)]
pub struct Response {
    pub status: u16,
    /// Header names in lower case, in the order received.
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn location(&self) -> &str {
        self.header("location").unwrap_or("")
    }

    /// The value this response sets for cookie `name`, if it sets it.
    pub fn set_cookie(&self, name: &str) -> Option<String> {
        self.headers
            .iter()
            .filter(|(k, _)| k == "set-cookie")
            .filter_map(|(_, v)| v.split(';').next()?.trim().split_once('='))
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_string())
    }

    /// Status, location and the start of the body, for failure messages.
    pub fn summary(&self) -> String {
        let body: String = self.body.chars().take(1500).collect();
        format!(
            "HTTP {} location={:?}\n{body}",
            self.status,
            self.header("location")
        )
    }
}

/// `application/x-www-form-urlencoded` encoding of one value.
pub fn urlencode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

pub fn form_body(fields: &[(&str, &str)]) -> String {
    fields
        .iter()
        .map(|(k, v)| format!("{}={}", urlencode(k), urlencode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// One request on a fresh connection (`Connection: close`). `form` makes it a
/// urlencoded POST body. Redirects are not followed.
pub fn request(
    port: u16,
    method: &str,
    path: &str,
    cookies: &[(&str, &str)],
    form: Option<&[(&str, &str)]>,
) -> std::io::Result<Response> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
    stream.set_read_timeout(Some(Duration::from_secs(60)))?;
    stream.set_write_timeout(Some(Duration::from_secs(10)))?;
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\nUser-Agent: violeta-cli-tests\r\n"
    );
    if !cookies.is_empty() {
        let c = cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        head.push_str(&format!("Cookie: {c}\r\n"));
    }
    let body = form.map(form_body).unwrap_or_default();
    if form.is_some() || method == "POST" {
        head.push_str("Content-Type: application/x-www-form-urlencoded\r\n");
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    stream.write_all(body.as_bytes())?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    parse_response(&raw).ok_or_else(|| {
        std::io::Error::other(format!(
            "unreadable HTTP response: {:?}",
            String::from_utf8_lossy(&raw)
        ))
    })
}

fn parse_response(raw: &[u8]) -> Option<Response> {
    let end = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&raw[..end]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines.next()?.split_whitespace().nth(1)?.parse().ok()?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let mut body = raw[end + 4..].to_vec();
    let chunked = headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v.to_ascii_lowercase().contains("chunked"));
    if chunked {
        body = dechunk(&body)?;
    }
    Some(Response {
        status,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

fn dechunk(mut data: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line_end = data.windows(2).position(|w| w == b"\r\n")?;
        let size_text = String::from_utf8_lossy(&data[..line_end]);
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        data = &data[line_end + 2..];
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(data.get(..size)?);
        data = data.get(size + 2..)?;
    }
}

/// The value of the hidden `csrf` field of a page.
pub fn csrf_field(html: &str) -> String {
    let marker = "name=\"csrf\" value=\"";
    let start = html.find(marker).unwrap_or_else(|| {
        panic!(
            "no csrf field in the page:\n{}",
            html.chars().take(2000).collect::<String>()
        )
    }) + marker.len();
    let len = html[start..].find('"').expect("end of the csrf value");
    html[start..start + len].to_string()
}

/// A cookie jar shared across servers (the cookie belongs to the browser, not the host,
/// which is what lets two processes behind one address share a session).
#[derive(Default, Clone)]
pub struct Browser {
    pub cookies: BTreeMap<String, String>,
}

impl Browser {
    fn jar(&self) -> Vec<(&str, &str)> {
        self.cookies
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect()
    }

    fn keep(&mut self, r: &Response) {
        for (_, v) in r.headers.iter().filter(|(k, _)| k == "set-cookie") {
            let Some((name, value)) = v.split(';').next().and_then(|p| p.trim().split_once('='))
            else {
                continue;
            };
            let removed = value.is_empty() || v.to_ascii_lowercase().contains("max-age=0");
            if removed {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_string(), value.to_string());
            }
        }
    }

    pub fn get(&mut self, port: u16, path: &str) -> Response {
        let r = request(port, "GET", path, &self.jar(), None)
            .unwrap_or_else(|e| panic!("GET {path} on port {port}: {e}"));
        self.keep(&r);
        r
    }

    pub fn post(&mut self, port: u16, path: &str, form: &[(&str, &str)]) -> Response {
        let r = request(port, "POST", path, &self.jar(), Some(form))
            .unwrap_or_else(|e| panic!("POST {path} on port {port}: {e}"));
        self.keep(&r);
        r
    }
}

// ---------------------------------------------------------------------------
// CURP

/// RENAPO's check digit for the first 17 characters of a CURP.
pub fn curp_check_digit(first17: &str) -> char {
    const DICT: &str = "0123456789ABCDEFGHIJKLMNÑOPQRSTUVWXYZ";
    let chars: Vec<char> = first17.chars().collect();
    assert_eq!(chars.len(), 17, "a CURP's first part has 17 characters");
    let sum: u32 = chars
        .iter()
        .enumerate()
        .map(|(i, c)| {
            DICT.chars()
                .position(|d| d == *c)
                .expect("character of the CURP dictionary") as u32
                * (18 - i as u32)
        })
        .sum();
    char::from_digit((10 - sum % 10) % 10, 10).unwrap()
}

pub fn valid_curp(first17: &str) -> String {
    format!("{first17}{}", curp_check_digit(first17))
}

pub fn curp_with_wrong_digit(first17: &str) -> String {
    let right = curp_check_digit(first17).to_digit(10).unwrap();
    format!(
        "{first17}{}",
        char::from_digit((right + 1) % 10, 10).unwrap()
    )
}

// ---------------------------------------------------------------------------
// Store access from tests

/// A single-threaded Tokio runtime for the few store calls a test makes.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// Opens the SQLite database of a `--dir` folder.
pub async fn open_dir(dir: &Path) -> violeta_store::Store {
    let url = format!("sqlite://{}", dir.join("violeta.db").display());
    violeta_store::Store::connect(&url)
        .await
        .unwrap_or_else(|e| panic!("open {url}: {e}"))
}

/// Whether `VIOLETA_TEST_POSTGRES` names a PostgreSQL server; prints a skip note if not.
pub fn postgres_configured(test: &str) -> bool {
    let set = std::env::var("VIOLETA_TEST_POSTGRES").is_ok_and(|v| !v.is_empty());
    if !set {
        eprintln!(
            "[test] SKIPPED {test}: VIOLETA_TEST_POSTGRES is not set (e.g. postgres://postgres@127.0.0.1:5432/test)"
        );
    }
    set
}

/// A migrated throw-away PostgreSQL database ([`violeta_store::testing::TestStore`]),
/// dropped when this is dropped (also when the test panics). Declare servers using
/// it after it, so that they stop first.
pub struct PgDb {
    pub rt: tokio::runtime::Runtime,
    test: Option<violeta_store::testing::TestStore>,
}

impl PgDb {
    pub fn new() -> PgDb {
        let rt = runtime();
        let test = rt
            .block_on(violeta_store::testing::TestStore::postgres())
            .expect("create a PostgreSQL test database")
            .expect("VIOLETA_TEST_POSTGRES is set");
        PgDb {
            rt,
            test: Some(test),
        }
    }

    pub fn url(&self) -> &str {
        &self.test.as_ref().expect("database").url
    }

    pub fn store(&self) -> &violeta_store::Store {
        &self.test.as_ref().expect("database").store
    }
}

impl Drop for PgDb {
    fn drop(&mut self) {
        if let Some(test) = self.test.take() {
            self.rt.block_on(test.cleanup());
        }
    }
}
