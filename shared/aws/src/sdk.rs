//! The AWS SDK configuration every taskpulse client is built from.
//!
//! The SDK's default HTTPS client brings rustls with aws-lc, a large C crypto library that
//! made up a good part of each function's `bootstrap`. The SDK crates are therefore compiled
//! without a default client, and every configuration gets this one: the same hyper 1 client,
//! on rustls with the `ring` crypto provider and the platform's root certificates.

use aws_config::{BehaviorVersion, SdkConfig};
use aws_sdk_dynamodb::config::SharedHttpClient;
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};

/// The HTTP(S) client of every SDK client (plain HTTP too, for a local endpoint such as moto).
pub fn http_client() -> SharedHttpClient {
    aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
        .build_https()
}

/// The SDK configuration from the environment, as `aws_config::load_from_env` reads it
/// (region, credentials, `AWS_ENDPOINT_URL`, retries, profile files), with [`http_client`].
pub async fn load_from_env() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .http_client(http_client())
        .load()
        .await
}
