//! The local stack against hostile clients, over raw TCP: unusual `Host` and forwarding
//! headers, bodies that are too large, malformed or never sent, request heads that never end,
//! more connections than it takes, and Ctrl-C while such clients hang on.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use taskpulse_local::server::{DRAIN_TIMEOUT, HEADER_READ_TIMEOUT, MAX_CONNECTIONS};

use crate::local_stack::LocalStack;

fn address(stack: &LocalStack) -> String {
    stack.url.trim_start_matches("http://").to_owned()
}

fn connect(stack: &LocalStack) -> TcpStream {
    let stream = TcpStream::connect(address(stack)).expect("the stack accepts");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    stream
}

/// Sends `request` as it is and reads what comes back until the server closes the connection
/// (each request says `Connection: close`) or 30 s pass.
fn exchange(stack: &LocalStack, request: &str) -> String {
    let mut stream = connect(stack);
    stream.write_all(request.as_bytes()).unwrap();
    read_to_close(&mut stream)
}

fn read_to_close(stream: &mut TcpStream) -> String {
    let mut answer = vec![];
    let _ = stream.read_to_end(&mut answer);
    String::from_utf8_lossy(&answer).into_owned()
}

fn status(answer: &str) -> u16 {
    answer
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {answer:?}"))
}

#[test]
fn unusual_host_and_forwarding_headers_are_answered_and_never_pick_the_route() {
    let stack = LocalStack::start(&[], &[]);
    for extra in [
        "Host: localhost:99999",
        "Host: a b",
        "Host: [::1",
        "Host: x/analytics/global?",
        "Host: localhost\r\nX-Forwarded-Proto: 1x",
        "Host: localhost\r\nX-Forwarded-Host: x/analytics/global?",
    ] {
        let answer = exchange(
            &stack,
            &format!(
                "GET /tasks HTTP/1.1\r\n{extra}\r\nX-Local-User: ana\r\nConnection: close\r\n\r\n"
            ),
        );
        assert_eq!(status(&answer), 200, "{extra}: {answer}");
        assert!(
            answer.contains("\"items\""),
            "the task list answered: {answer}"
        );
    }
    assert!(!stack.output().contains("panicked"), "{}", stack.output());
}

#[test]
fn a_body_is_refused_before_it_is_read_and_a_malformed_one_is_a_bad_request() {
    let stack = LocalStack::start(&[], &[]);
    // Only the head is sent: the answers come without the 10 MB the head announces.
    let announced = "POST /tasks HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 10000000\r\n";
    let anonymous = exchange(&stack, &format!("{announced}\r\n"));
    assert_eq!(status(&anonymous), 401, "{anonymous}");
    let too_large = exchange(&stack, &format!("{announced}X-Local-User: ana\r\n\r\n"));
    assert_eq!(status(&too_large), 413, "{too_large}");

    let chunked = "POST /tasks HTTP/1.1\r\nHost: localhost\r\nX-Local-User: ana\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
    let malformed = exchange(&stack, &format!("{chunked}zz\r\n{{}}\r\n0\r\n\r\n"));
    assert_eq!(status(&malformed), 400, "{malformed}");
    let growing = format!("{chunked}10000\r\n{}\r\n", "x".repeat(0x10000));
    let answer = exchange(
        &stack,
        &format!("{growing}10\r\n{}\r\n0\r\n\r\n", "x".repeat(16)),
    );
    assert_eq!(
        status(&answer),
        413,
        "past the limit while it is read: {answer}"
    );
}

#[test]
fn slow_and_surplus_connections_do_not_hold_the_server() {
    let stack = LocalStack::start(&[], &[]);
    // A head that never ends is closed after the header read timeout.
    let mut dripping = connect(&stack);
    dripping
        .write_all(b"GET /health HTTP/1.1\r\nHost: loc")
        .unwrap();
    let started = Instant::now();
    let _ = read_to_close(&mut dripping);
    let waited = started.elapsed();
    assert!(
        waited >= HEADER_READ_TIMEOUT - Duration::from_secs(1) && waited < HEADER_READ_TIMEOUT * 2,
        "closed after {waited:?}"
    );

    // Every connection the server takes is held open; the next one is answered 503 at once.
    let held: Vec<TcpStream> = (0..MAX_CONNECTIONS).map(|_| connect(&stack)).collect();
    // The server accepts them in its own time: wait until one more is turned away.
    let deadline = Instant::now() + Duration::from_secs(10);
    let refused = loop {
        let answer = exchange(&stack, "GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n");
        if !answer.is_empty() && status(&answer) == 503 {
            break answer;
        }
        assert!(
            Instant::now() < deadline,
            "no connection was refused: {answer}"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(refused.contains("too many open connections"), "{refused}");
    drop(held);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let answer = exchange(
            &stack,
            "GET /health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
        );
        if !answer.is_empty() && status(&answer) == 200 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the server did not recover: {answer}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn ctrl_c_does_not_wait_for_idle_or_stalled_clients() {
    let mut stack = LocalStack::start(&[], &[]);
    let mut kept_alive = connect(&stack);
    kept_alive
        .write_all(b"GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .unwrap();
    let mut first = [0u8; 12];
    kept_alive.read_exact(&mut first).unwrap();
    assert_eq!(&first, b"HTTP/1.1 200");
    let mut stalled_head = connect(&stack);
    stalled_head
        .write_all(b"GET /tasks HTTP/1.1\r\nHo")
        .unwrap();
    let mut stalled_body = connect(&stack);
    stalled_body
        .write_all(b"POST /tasks HTTP/1.1\r\nHost: localhost\r\nX-Local-User: ana\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"title\":")
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));

    let started = Instant::now();
    let exit = stack.interrupt();
    let took = started.elapsed();
    assert!(exit.success(), "{exit:?}\n{}", stack.output());
    assert!(took < DRAIN_TIMEOUT / 2, "the stop took {took:?}");
    let answer = read_to_close(&mut stalled_body);
    assert_eq!(status(&answer), 503, "{answer}");
}
