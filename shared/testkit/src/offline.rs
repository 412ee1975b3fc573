//! Endpoints where nothing answers, for testing what happens when a service is down.

use std::net::SocketAddr;

use aws_config::SdkConfig;
use aws_sdk_sqs::config::retry::RetryConfig;
use taskpulse_app::{PlanLimits, TaskCommands};
use taskpulse_aws::{DynamoAnalyticsStore, DynamoTaskStore, SqsEventPublisher, SqsWorkQueue};
use taskpulse_devstack::sdk_config_for;
use taskpulse_lambda::api::Api;

use crate::client::AwsApi;

/// An SQS client on `config` whose every call fails to connect: nothing listens on port 9 of
/// 127.0.0.1 (a port below those handed out for the servers the tests start). Retries are off
/// so a caller does not wait out the SDK's backoff on each call.
pub fn offline_sqs(config: &SdkConfig) -> aws_sdk_sqs::Client {
    aws_sdk_sqs::Client::from_conf(
        aws_sdk_sqs::config::Builder::from(config)
            .endpoint_url("http://127.0.0.1:9")
            .retry_config(RetryConfig::disabled())
            .build(),
    )
}

/// The API on the DynamoDB and SQS adapters, wired as the function wires them, with every
/// endpoint at `closed`: the tables and queues are down. Retries are off, so a call that needs
/// them fails at once.
pub async fn offline_api(closed: &ClosedPort) -> AwsApi {
    let config = sdk_config_for(&closed.url())
        .await
        .to_builder()
        .retry_config(RetryConfig::disabled())
        .build();
    let dynamodb = aws_sdk_dynamodb::Client::new(&config);
    let sqs = aws_sdk_sqs::Client::new(&config);
    let queue_url = format!("{}/000000000000/unreachable", closed.url());
    Api::new(
        TaskCommands::new(
            DynamoTaskStore::new(dynamodb.clone(), "tasks"),
            SqsEventPublisher::new(sqs.clone(), &queue_url),
        ),
        DynamoAnalyticsStore::new(dynamodb, "analytics", PlanLimits::default().global_shards),
        SqsWorkQueue::new(sqs, &queue_url),
    )
}

/// A 127.0.0.1 port that refuses connections for as long as this lives: it is bound, so no
/// server started meanwhile (by this test or one running beside it) can take it, but nothing
/// listens on it.
pub struct ClosedPort {
    socket: tokio::net::TcpSocket,
}

impl ClosedPort {
    pub fn new() -> Self {
        let socket = tokio::net::TcpSocket::new_v4().expect("a TCP socket");
        socket
            .bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .expect("bind 127.0.0.1");
        Self { socket }
    }

    pub fn port(&self) -> u16 {
        self.socket.local_addr().expect("a bound socket").port()
    }

    /// `http://127.0.0.1:{port}`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port())
    }
}

impl Default for ClosedPort {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_closed_port_refuses_connections_and_cannot_be_taken() {
        let closed = ClosedPort::new();
        let address = SocketAddr::from(([127, 0, 0, 1], closed.port()));
        let refused = std::net::TcpStream::connect(address).unwrap_err();
        assert_eq!(refused.kind(), std::io::ErrorKind::ConnectionRefused);
        assert!(std::net::TcpListener::bind(address).is_err());
        assert_eq!(closed.url(), format!("http://{address}"));
    }
}
