//! Logs and metrics of the functions, set up once at start-up.
//!
//! Logs: `tracing` through the runtime's subscriber, which writes JSON when the function's
//! log format is JSON (`LoggingConfig` in `template.yaml`), with the request id of each
//! invocation. Metrics: the `metrics` facade, published as CloudWatch Embedded Metric Format
//! documents on stdout, one per invocation, so CloudWatch extracts them from the logs without
//! any `PutMetricData` call on the request path.

use metrics_cloudwatch_embedded::Collector;
use taskpulse_app::metric;

/// Starts logging and metrics for the function named `function` (`api`, `consumer`, `relay`).
pub fn init(function: &'static str) -> Result<&'static Collector, lambda_runtime::Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let collector = metrics_cloudwatch_embedded::Builder::new()
        .cloudwatch_namespace(metric::NAMESPACE)
        .with_dimension(metric::FUNCTION, function)
        .init()?;
    Ok(collector)
}

/// Writes the metrics recorded during one invocation as an EMF document on stdout.
pub fn flush(collector: &Collector, request_id: &str) {
    let flushed = collector
        .set_property("RequestId", request_id.to_owned())
        .flush(std::io::stdout());
    if let Err(error) = flushed {
        tracing::warn!(%error, "metrics could not be written");
    }
}
