//! A TCP relay on 127.0.0.1 that holds every byte a client sends for a fixed time before passing
//! it on: a stand-in for the network between a function and DynamoDB or SQS, whose round trips
//! moto on the same machine does not have. It shows how many requests a code path makes one
//! after another, which a latency measured against moto alone hides (moto answers one request
//! at a time, in well under a round trip of a region).

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// Forwards connections to `target`, each request delayed by `delay`; stops when dropped.
pub struct LatencyProxy {
    addr: SocketAddr,
    accepting: JoinHandle<()>,
}

impl LatencyProxy {
    /// Listens on a free port of 127.0.0.1. Every chunk a client writes reaches `target`
    /// `delay` after it arrived, in order, so a request of several chunks is late by `delay`
    /// once; answers come back at once.
    pub async fn start(target: SocketAddr, delay: Duration) -> std::io::Result<Self> {
        let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
        let addr = listener.local_addr()?;
        let accepting = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                tokio::spawn(relay(client, target, delay));
            }
        });
        Ok(Self { addr, accepting })
    }

    /// `http://127.0.0.1:{port}`: an endpoint URL for the SDK.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for LatencyProxy {
    fn drop(&mut self) {
        self.accepting.abort();
    }
}

async fn relay(client: TcpStream, target: SocketAddr, delay: Duration) {
    let Ok(server) = TcpStream::connect(target).await else {
        return;
    };
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    let (held, mut due) = mpsc::unbounded_channel::<(Instant, Vec<u8>)>();
    let receive = async move {
        let mut buffer = vec![0; 64 * 1024];
        while let Ok(n @ 1..) = client_read.read(&mut buffer).await {
            if held
                .send((Instant::now() + delay, buffer[..n].to_vec()))
                .is_err()
            {
                break;
            }
        }
    };
    let pass_on = async move {
        while let Some((at, bytes)) = due.recv().await {
            tokio::time::sleep_until(at).await;
            if server_write.write_all(&bytes).await.is_err() {
                break;
            }
        }
        let _ = server_write.shutdown().await;
    };
    let answer = async move {
        let _ = tokio::io::copy(&mut server_read, &mut client_write).await;
        let _ = client_write.shutdown().await;
    };
    tokio::join!(receive, pass_on, answer);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_request_arrives_late_by_the_delay_and_its_answer_comes_back() {
        let server = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .unwrap();
        let target = server.local_addr().unwrap();
        let echo = tokio::spawn(async move {
            let (mut socket, _) = server.accept().await.unwrap();
            let mut received = vec![0; 5];
            socket.read_exact(&mut received).await.unwrap();
            let arrived = Instant::now();
            socket.write_all(&received).await.unwrap();
            arrived
        });
        let delay = Duration::from_millis(150);
        let proxy = LatencyProxy::start(target, delay).await.unwrap();
        let mut client = TcpStream::connect(proxy.addr).await.unwrap();
        let sent = Instant::now();
        client.write_all(b"ab").await.unwrap();
        client.write_all(b"cde").await.unwrap();
        let mut answer = vec![0; 5];
        client.read_exact(&mut answer).await.unwrap();
        let arrived = echo.await.unwrap();
        assert_eq!(answer, b"abcde");
        let late = arrived - sent;
        assert!(late >= delay, "arrived after {late:?}");
        assert!(proxy.url().starts_with("http://127.0.0.1:"));
    }
}
