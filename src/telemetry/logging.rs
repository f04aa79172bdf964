//! Log setup: `--log-format json|text`, filter from `RUST_LOG` (default `info`, noisy HTTP/DNS
//! internals at `warn`).

use std::io;

use tracing::Subscriber;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

/// Log output format (`--log-format`).
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    /// One JSON object per line.
    Json,
    /// Compact human-readable lines.
    #[default]
    Text,
}

/// Filter used when `RUST_LOG` is unset or invalid.
pub const DEFAULT_FILTER: &str = "info,hyper=warn,hyper_util=warn,h2=warn,reqwest=warn,rustls=warn,tower=warn,\
hickory_proto=warn,hickory_net=warn,hickory_resolver=warn";

/// Errors setting up logging.
#[derive(Debug, thiserror::Error)]
pub enum LoggingError {
    /// A global subscriber was already installed.
    #[error("installing the log subscriber: {0}")]
    Install(String),
}

/// The filter from `RUST_LOG`, or [`DEFAULT_FILTER`].
pub fn env_filter() -> EnvFilter {
    EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER))
}

/// A subscriber writing `format` lines to `writer` (tests pass a buffer; [`init`] uses stderr).
pub fn subscriber<W>(format: LogFormat, filter: EnvFilter, writer: W) -> Box<dyn Subscriber + Send + Sync>
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer);
    match format {
        // Span fields (ns, name, tenant, endpoint) are in the current span; keep them on each line.
        LogFormat::Json => Box::new(
            builder
                .json()
                .with_current_span(true)
                .with_span_list(false)
                .finish(),
        ),
        LogFormat::Text => Box::new(builder.compact().finish()),
    }
}

/// Installs the global subscriber: `format` to stderr, filter from `RUST_LOG`.
pub fn init(format: LogFormat) -> Result<(), LoggingError> {
    tracing::subscriber::set_global_default(subscriber(format, env_filter(), io::stderr))
        .map_err(|e| LoggingError::Install(e.to_string()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Buf(Arc<Mutex<Vec<u8>>>);

    impl io::Write for Buf {
        fn write(&mut self, b: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Buf {
        type Writer = Buf;
        fn make_writer(&'a self) -> Self::Writer {
            self.clone()
        }
    }

    fn text(buf: &Buf) -> String {
        String::from_utf8(buf.0.lock().unwrap().clone()).unwrap()
    }

    #[test]
    fn json_lines_carry_fields_and_span() {
        let buf = Buf::default();
        let sub = subscriber(LogFormat::Json, EnvFilter::new("info"), buf.clone());
        tracing::subscriber::with_default(sub, || {
            let span = tracing::info_span!("reconcile", ns = "team-a", name = "login");
            let _e = span.enter();
            tracing::info!(state = "Ready", "domain is ready");
            tracing::debug!("filtered out");
        });
        let out = text(&buf);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 1, "{out}");
        let v: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
        assert_eq!(v["level"], "INFO");
        assert_eq!(v["fields"]["message"], "domain is ready");
        assert_eq!(v["fields"]["state"], "Ready");
        assert_eq!(v["span"]["ns"], "team-a");
    }

    #[test]
    fn text_lines_are_not_json() {
        let buf = Buf::default();
        let sub = subscriber(LogFormat::Text, EnvFilter::new("warn"), buf.clone());
        tracing::subscriber::with_default(sub, || {
            tracing::info!("quiet");
            tracing::warn!(tenant = "default", "slow down");
        });
        let out = text(&buf);
        assert!(out.contains("slow down") && out.contains("tenant"), "{out}");
        assert!(!out.contains("quiet"));
        assert!(serde_json::from_str::<serde_json::Value>(out.trim()).is_err());
    }
}
