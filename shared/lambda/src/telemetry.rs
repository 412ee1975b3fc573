//! Logs and metrics of the functions, set up once at start-up.
//!
//! Logs: `tracing`, written as the runtime's default subscriber writes them: JSON when the
//! function's log format is JSON (`LoggingConfig` in `template.yaml`), with the request id of
//! each invocation. Metrics: the `metrics` facade, published as CloudWatch Embedded Metric Format
//! documents on stdout, one per invocation, so CloudWatch extracts them from the logs without
//! any `PutMetricData` call on the request path.

use metrics_cloudwatch_embedded::Collector;
use taskpulse_app::metric;
use tracing::Subscriber;
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// Starts logging and metrics for the function named `function` (`api`, `consumer`, `relay`).
pub fn init(function: &'static str) -> Result<&'static Collector, lambda_runtime::Error> {
    init_logs();
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

/// Sets up the logs of `lambda_runtime::tracing::init_default_subscriber` (see [`subscriber`]).
fn init_logs() {
    let filter = log_filter(
        std::env::var("AWS_LAMBDA_LOG_LEVEL").ok().as_deref(),
        std::env::var("RUST_LOG").ok().as_deref(),
    );
    let json = std::env::var("AWS_LAMBDA_LOG_FORMAT")
        .is_ok_and(|format| format.eq_ignore_ascii_case("json"));
    subscriber(filter, json).init();
}

/// The subscriber of `lambda_runtime::tracing::init_default_subscriber`: events on stdout,
/// without time (CloudWatch adds it) or target, in JSON when `json`. Built here because that
/// one filters with an `EnvFilter`, whose regex engine took a few hundred kilobytes of every
/// `bootstrap`; [`log_filter`] reads the same settings.
fn subscriber(filter: Targets, json: bool) -> Box<dyn Subscriber + Send + Sync> {
    // The builder's own level (INFO unless set) would apply before `filter`: let it pass all.
    let logs = tracing_subscriber::fmt()
        .with_max_level(LevelFilter::TRACE)
        .with_target(false)
        .without_time()
        .with_writer(std::io::stdout);
    if json {
        Box::new(logs.json().finish().with(filter))
    } else {
        Box::new(logs.finish().with(filter))
    }
}

/// What the runtime's `EnvFilter` lets through: the directives of `RUST_LOG` (`debug`,
/// `aws_smithy_runtime=debug`, comma-separated, invalid ones ignored) when it has any; else the
/// level of `AWS_LAMBDA_LOG_LEVEL` (Lambda's log level setting), INFO when unset or unknown.
/// Span and field directives (`target[span{field}]=level`) are not supported.
fn log_filter(aws_lambda_log_level: Option<&str>, rust_log: Option<&str>) -> Targets {
    let directives: Vec<&str> = rust_log
        .unwrap_or_default()
        .split(',')
        .filter(|directive| !directive.is_empty() && directive.parse::<Targets>().is_ok())
        .collect();
    if let Ok(targets) = directives.join(",").parse::<Targets>()
        && !directives.is_empty()
    {
        return targets;
    }
    let level = aws_lambda_log_level
        .or(rust_log)
        .and_then(|level| level.parse::<LevelFilter>().ok())
        .unwrap_or(LevelFilter::INFO);
    Targets::new().with_default(level)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn targets(filter: &Targets) -> Vec<(String, LevelFilter)> {
        filter
            .iter()
            .map(|(target, level)| (target.to_owned(), level))
            .collect()
    }

    #[test]
    fn the_subscriber_passes_the_configured_level_and_nothing_finer() {
        for json in [false, true] {
            let logs = subscriber(log_filter(Some("DEBUG"), None), json);
            tracing::subscriber::with_default(logs, || {
                assert!(tracing::enabled!(tracing::Level::DEBUG), "json: {json}");
                assert!(!tracing::enabled!(tracing::Level::TRACE), "json: {json}");
            });
        }
    }

    #[test]
    fn level_from_lambda_log_level_else_info() {
        assert_eq!(
            log_filter(None, None).default_level(),
            Some(LevelFilter::INFO)
        );
        for (setting, level) in [
            ("DEBUG", LevelFilter::DEBUG),
            ("warn", LevelFilter::WARN),
            ("ERROR", LevelFilter::ERROR),
            ("TRACE", LevelFilter::TRACE),
            ("FATAL", LevelFilter::INFO),
        ] {
            let filter = log_filter(Some(setting), None);
            assert_eq!(filter.default_level(), Some(level), "{setting}");
            assert!(targets(&filter).is_empty(), "{setting}");
        }
    }

    #[test]
    fn rust_log_directives_take_over_when_valid() {
        let filter = log_filter(Some("INFO"), Some("warn,aws_smithy_runtime=debug"));
        assert_eq!(filter.default_level(), Some(LevelFilter::WARN));
        assert_eq!(
            targets(&filter),
            [("aws_smithy_runtime".to_owned(), LevelFilter::DEBUG)]
        );

        let only_target = log_filter(Some("INFO"), Some("taskpulse_lambda=trace"));
        assert_eq!(only_target.default_level(), None);
        assert_eq!(
            targets(&only_target),
            [("taskpulse_lambda".to_owned(), LevelFilter::TRACE)]
        );
    }

    #[test]
    fn invalid_rust_log_directives_are_ignored() {
        let filter = log_filter(Some("ERROR"), Some("a=b=c,debug"));
        assert_eq!(filter.default_level(), Some(LevelFilter::DEBUG));
        let nothing_valid = log_filter(Some("ERROR"), Some("a=b=c,,"));
        assert_eq!(nothing_valid.default_level(), Some(LevelFilter::ERROR));
    }
}
