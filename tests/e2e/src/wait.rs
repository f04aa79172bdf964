//! Bounded polling.

use std::future::Future;
use std::time::{Duration, Instant};

use crate::error::{Error, Result};

/// How often conditions are re-checked.
pub const POLL: Duration = Duration::from_millis(200);

/// Polls `check` every [`POLL`] until it returns `Some`, or fails after `timeout`. `context` is
/// called once on timeout to describe what was last seen.
pub async fn wait_for<T, F, Fut>(
    what: &str,
    timeout: Duration,
    mut check: F,
    context: impl FnOnce() -> String,
) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(v) = check().await {
            return Ok(v);
        }
        if start.elapsed() >= timeout {
            return Err(Error::Timeout {
                what: what.to_string(),
                seconds: start.elapsed().as_secs_f64(),
                context: context(),
            });
        }
        tokio::time::sleep(POLL).await;
    }
}
