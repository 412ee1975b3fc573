//! The `taskpulse` binary as a process the tests start, read and stop with Ctrl-C (SIGINT),
//! and plain HTTP/1.1 requests to it, byte for byte.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub(crate) const BINARY: &str = env!("CARGO_BIN_EXE_taskpulse");

/// `serve` flags for a stack on moto: short windows keep a test quick, and moto answers one
/// request at a time, so ten pollers would only queue on it.
pub(crate) const ON_MOTO: [&str; 6] = [
    "--batching-window-ms",
    "100",
    "--visibility-timeout-secs",
    "4",
    "--concurrency",
    "2",
];

/// A running `taskpulse serve` process; killed if the test ends without stopping it.
pub(crate) struct LocalStack {
    child: Child,
    pub(crate) url: String,
    output: Arc<Mutex<String>>,
    /// One message from each output reader when its pipe has ended: after an exit, what the
    /// process printed last is in `output` only once both have arrived.
    readers_done: std::sync::mpsc::Receiver<()>,
}

impl LocalStack {
    pub(crate) fn start(args: &[&str], envs: &[(&str, String)]) -> Self {
        let serve = ["serve", "--port", "0"].iter().chain(args);
        let mut child = spawn(serve, envs);
        let output = Arc::new(Mutex::new(String::new()));
        let (url_tx, url_rx) = std::sync::mpsc::channel();
        let (done_tx, readers_done) = std::sync::mpsc::channel();
        let stdout = child.stdout.take().expect("piped stdout");
        let collected = Arc::clone(&output);
        let stdout_done = done_tx.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(rest) = line.strip_prefix("listening on ") {
                    let url = rest
                        .split_whitespace()
                        .next()
                        .unwrap_or_default()
                        .to_owned();
                    let _ = url_tx.send(url);
                }
                let mut all = collected.lock().unwrap();
                all.push_str(&line);
                all.push('\n');
            }
            let _ = stdout_done.send(());
        });
        let stderr = child.stderr.take().expect("piped stderr");
        let collected = Arc::clone(&output);
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = BufReader::new(stderr).read_to_string(&mut text);
            collected.lock().unwrap().push_str(&text);
            let _ = done_tx.send(());
        });
        let url = url_rx
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| {
                let _ = child.kill();
                panic!(
                    "the stack did not print its address within 60 s:\n{}",
                    output.lock().unwrap()
                )
            });
        Self {
            child,
            url,
            output,
            readers_done,
        }
    }

    pub(crate) fn output(&self) -> String {
        self.output.lock().unwrap().clone()
    }

    /// Ctrl-C, then the exit status (the stack must stop within 30 s), once everything the
    /// process printed is in `output`: an exit does not wait for the reader threads, and on a
    /// loaded machine the last lines of stdout could still be in the pipe.
    pub(crate) fn interrupt(&mut self) -> ExitStatus {
        let status = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success());
        let status = wait_for_exit(&mut self.child, Duration::from_secs(30));
        for _reader in 0..2 {
            // A process the stack started (moto) could hold the pipes open: bounded.
            if self
                .readers_done
                .recv_timeout(Duration::from_secs(10))
                .is_err()
            {
                break;
            }
        }
        status
    }
}

impl Drop for LocalStack {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn wait_for_exit(child: &mut Child, limit: Duration) -> ExitStatus {
    let give_up = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return status;
        }
        if Instant::now() > give_up {
            let _ = child.kill();
            panic!("the process did not exit within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Starts the binary with its output piped, with `envs` and without the configuration of the
/// AWS backend that this process may have inherited.
fn spawn<'a>(args: impl IntoIterator<Item = &'a &'a str>, envs: &[(&str, String)]) -> Child {
    Command::new(BINARY)
        .args(args)
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("TASKS_TABLE")
        .envs(envs.iter().map(|(name, value)| (name, value)))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the taskpulse binary starts")
}

/// Runs the binary to completion, for start-up failures: (status, stdout + stderr).
pub(super) fn run_to_exit(args: &[&str], envs: &[(&str, String)]) -> (ExitStatus, String) {
    let mut child = spawn(args, envs);
    let status = wait_for_exit(&mut child, Duration::from_secs(60));
    let mut text = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut text)
        .unwrap();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut text)
        .unwrap();
    (status, text)
}

/// A plain HTTP/1.1 answer: status, header lines (names in lower case) and body.
pub(crate) struct Answer {
    pub(crate) status: u16,
    headers: Vec<(String, String)>,
    pub(crate) body: String,
}

impl Answer {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// One plain HTTP/1.1 request to the stack, with `headers` ("Name: value") and `body`.
pub(crate) fn request(url: &str, method: &str, path: &str, headers: &[&str], body: &str) -> Answer {
    let addr = url.trim_start_matches("http://");
    let mut request = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for header in headers {
        request.push_str(header);
        request.push_str("\r\n");
    }
    request.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    send_raw(url, &request)
}

/// Sends `request` to the stack byte for byte and reads the answer until the server closes
/// the connection (or 10 s pass).
pub(crate) fn send_raw(url: &str, request: &str) -> Answer {
    use std::io::Write;
    let addr = url.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(addr).expect("the stack accepts connections");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|line| line.split_whitespace().nth(1))
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP answer: {answer:?}"));
    let headers = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    Answer {
        status,
        headers,
        body: body.to_owned(),
    }
}
