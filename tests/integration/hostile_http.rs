//! The local stack against hostile clients, over raw TCP: unusual `Host` and forwarding
//! headers, bodies that are too large, malformed or never sent, request heads that never end,
//! more connections than it takes, and Ctrl-C while such clients hang on.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use taskpulse_local::server::{DRAIN_TIMEOUT, HEADER_READ_TIMEOUT};

use crate::local_stack::{LocalStack, send_raw};

/// A connection that the test keeps, for requests that stay unfinished.
fn connect(stack: &LocalStack) -> TcpStream {
    let stream =
        TcpStream::connect(stack.url.trim_start_matches("http://")).expect("the stack accepts");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    stream
}

/// What the server sends until it closes the connection (or 30 s pass).
fn read_to_close(stream: &mut TcpStream) -> String {
    let mut answer = vec![];
    let _ = stream.read_to_end(&mut answer);
    String::from_utf8_lossy(&answer).into_owned()
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
        let answer = send_raw(
            &stack.url,
            &format!(
                "GET /tasks HTTP/1.1\r\n{extra}\r\nX-Local-User: ana\r\nConnection: close\r\n\r\n"
            ),
        );
        assert_eq!(answer.status, 200, "{extra}: {}", answer.body);
        assert!(
            answer.body.contains("\"items\""),
            "the task list answered: {}",
            answer.body
        );
    }
    assert!(!stack.output().contains("panicked"), "{}", stack.output());
}

#[test]
fn a_body_is_refused_before_it_is_read_and_a_malformed_one_is_a_bad_request() {
    let stack = LocalStack::start(&[], &[]);
    // Only the head is sent: the answers come without the 10 MB the head announces.
    let announced = "POST /tasks HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 10000000\r\n";
    let anonymous = send_raw(&stack.url, &format!("{announced}\r\n"));
    assert_eq!(anonymous.status, 401, "{}", anonymous.body);
    let too_large = send_raw(&stack.url, &format!("{announced}X-Local-User: ana\r\n\r\n"));
    assert_eq!(too_large.status, 413, "{}", too_large.body);

    let chunked = "POST /tasks HTTP/1.1\r\nHost: localhost\r\nX-Local-User: ana\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
    let malformed = send_raw(&stack.url, &format!("{chunked}zz\r\n{{}}\r\n0\r\n\r\n"));
    assert_eq!(malformed.status, 400, "{}", malformed.body);
    let at_the_limit = format!("{chunked}10000\r\n{}\r\n", "x".repeat(0x10000));
    let growing = send_raw(
        &stack.url,
        &format!("{at_the_limit}10\r\n{}\r\n0\r\n\r\n", "x".repeat(16)),
    );
    assert_eq!(
        growing.status, 413,
        "past the limit while it is read: {}",
        growing.body
    );
}

#[test]
fn slow_and_surplus_connections_do_not_hold_the_server() {
    const CAP: usize = 8;
    let stack = LocalStack::start(&["--max-connections", &CAP.to_string()], &[]);
    let health = "GET /health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
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

    // Every connection the server takes is held open; one more is answered 503 at once. The
    // server accepts in its own time, and a held connection is closed after the header read
    // timeout: both bound the wait for the refusal.
    let held: Vec<TcpStream> = (0..CAP).map(|_| connect(&stack)).collect();
    let deadline = Instant::now() + HEADER_READ_TIMEOUT / 2;
    let refused = loop {
        let answer = send_raw(&stack.url, health);
        if answer.status == 503 {
            break answer;
        }
        assert!(
            Instant::now() < deadline,
            "no connection was refused: {}",
            answer.status
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(
        refused.body.contains("too many open connections"),
        "{}",
        refused.body
    );
    drop(held);
    let deadline = Instant::now() + Duration::from_secs(10);
    while send_raw(&stack.url, health).status != 200 {
        assert!(
            Instant::now() < deadline,
            "the server did not take connections again"
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
    // `100 Continue` comes once the server reads the body: the request is then in progress.
    let mut stalled_body = connect(&stack);
    stalled_body
        .write_all(b"POST /tasks HTTP/1.1\r\nHost: localhost\r\nX-Local-User: ana\r\nContent-Type: application/json\r\nContent-Length: 100\r\nExpect: 100-continue\r\n\r\n")
        .unwrap();
    let mut go_on = [0u8; 25];
    stalled_body.read_exact(&mut go_on).unwrap();
    assert_eq!(&go_on, b"HTTP/1.1 100 Continue\r\n\r\n");
    stalled_body.write_all(b"{\"title\":").unwrap();

    let started = Instant::now();
    let exit = stack.interrupt();
    let took = started.elapsed();
    assert!(exit.success(), "{exit:?}\n{}", stack.output());
    assert!(took < DRAIN_TIMEOUT / 2, "the stop took {took:?}");
    let answer = read_to_close(&mut stalled_body);
    assert!(answer.starts_with("HTTP/1.1 503 "), "{answer}");
}
