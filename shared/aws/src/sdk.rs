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
/// (region, credentials, `AWS_ENDPOINT_URL`, retries, profile files), with [`http_client`];
/// a non-empty `LOCAL_AWS_ENDPOINT_URL` (see [`crate::env::LOCAL_AWS_ENDPOINT_URL`]) names the
/// endpoint instead.
pub async fn load_from_env() -> SdkConfig {
    let loader = config_loader();
    match local_endpoint_url(std::env::var(crate::env::LOCAL_AWS_ENDPOINT_URL).ok()) {
        Some(url) => loader.endpoint_url(url),
        None => loader,
    }
    .load()
    .await
}

/// The local endpoint a `LOCAL_AWS_ENDPOINT_URL` value names: none when unset or blank.
fn local_endpoint_url(value: Option<String>) -> Option<String> {
    value
        .map(|url| url.trim().to_owned())
        .filter(|url| !url.is_empty())
}

/// An S3 client for `config`. With a custom endpoint (an emulator such as moto) requests use
/// path-style addresses: `<bucket>.127.0.0.1` would not resolve.
pub fn s3_client(config: &SdkConfig) -> aws_sdk_s3::Client {
    let s3 = aws_sdk_s3::config::Builder::from(config)
        .force_path_style(config.endpoint_url().is_some())
        .build();
    aws_sdk_s3::Client::from_conf(s3)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_blank_local_endpoint_is_no_endpoint() {
        assert_eq!(local_endpoint_url(None), None);
        assert_eq!(local_endpoint_url(Some(String::new())), None);
        assert_eq!(local_endpoint_url(Some("  ".into())), None);
        assert_eq!(
            local_endpoint_url(Some(" http://172.17.0.1:4566 ".into())).as_deref(),
            Some("http://172.17.0.1:4566")
        );
    }
}
