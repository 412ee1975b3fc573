//! The AWS SDK configuration every taskpulse SDK client is built from.
//!
//! The SDK's default HTTPS client brings rustls with aws-lc, a large C crypto library that
//! made up a good part of each function's `bootstrap`. The SDK crates are therefore compiled
//! without a default client (no `default-https-client` feature), and every configuration gets
//! this one instead: the same hyper 1 client, on rustls with the `ring` crypto provider and the
//! platform's root certificates. A configuration built without it has no HTTP client, and its
//! clients fail on their first request.

use aws_config::{BehaviorVersion, ConfigLoader, SdkConfig};
use aws_sdk_dynamodb::config::SharedHttpClient;
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};

/// The HTTP client of every SDK client: HTTPS on rustls + ring, and plain HTTP for a local
/// endpoint such as moto.
pub fn http_client() -> SharedHttpClient {
    aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
        .build_https()
}

/// `aws_config::defaults(BehaviorVersion::latest())` with [`http_client`]: the starting point
/// of every SDK configuration.
pub fn config_loader() -> ConfigLoader {
    aws_config::defaults(BehaviorVersion::latest()).http_client(http_client())
}

/// The SDK configuration from the environment, as `aws_config::load_from_env` reads it
/// (region, credentials, `AWS_ENDPOINT_URL`, retries, profile files), with [`http_client`].
pub async fn load_from_env() -> SdkConfig {
    config_loader().load().await
}

/// An S3 client for `config`. With a custom endpoint (an emulator such as moto) requests use
/// path-style addresses: `<bucket>.127.0.0.1` would not resolve.
pub fn s3_client(config: &SdkConfig) -> aws_sdk_s3::Client {
    let s3 = aws_sdk_s3::config::Builder::from(config)
        .force_path_style(config.endpoint_url().is_some())
        .build();
    aws_sdk_s3::Client::from_conf(s3)
}
