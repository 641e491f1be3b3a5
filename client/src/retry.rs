//! Bounded retries for throttling (429) and server errors (5xx): honour `Retry-After`, else
//! exponential backoff. Waiting goes through a [`Sleeper`] so tests wait for nothing.

use std::fmt::Debug;
use std::sync::Mutex;
use std::time::Duration;

use crate::clock::FixedClock;
use crate::http::{BoxFuture, HttpRequest, HttpResponse, HttpTransport, TransportError};

/// Something that waits.
pub trait Sleeper: Send + Sync + Debug {
    fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()>;
}

/// Real waiting, on tokio's timer.
#[derive(Debug, Clone, Copy, Default)]
pub struct TokioSleeper;

impl Sleeper for TokioSleeper {
    fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()> {
        Box::pin(tokio::time::sleep(duration))
    }
}

/// Simulated waiting: records each wait and, if given a clock, moves it forward instead.
#[derive(Debug, Default)]
pub struct SimulatedSleeper {
    clock: Option<FixedClock>,
    slept: Mutex<Vec<Duration>>,
}

impl SimulatedSleeper {
    /// A sleeper that advances `clock` by each wait.
    pub fn with_clock(clock: FixedClock) -> Self {
        Self {
            clock: Some(clock),
            slept: Mutex::new(Vec::new()),
        }
    }

    /// The waits so far, in order.
    pub fn slept(&self) -> Vec<Duration> {
        self.slept.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

impl Sleeper for SimulatedSleeper {
    fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()> {
        self.slept
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(duration);
        if let Some(clock) = &self.clock {
            clock.advance(time::Duration::try_from(duration).unwrap_or(time::Duration::MAX));
        }
        Box::pin(std::future::ready(()))
    }
}

/// How many times and how long to retry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// First backoff when the server gives no `Retry-After`; doubles each retry.
    pub base_delay: Duration,
    /// Upper bound for any wait, including a server's `Retry-After`.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: 3,
            base_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// No retries at all.
    pub fn none() -> Self {
        Self {
            max_retries: 0,
            ..Self::default()
        }
    }

    fn delay(&self, retry: u32, response: &HttpResponse) -> Duration {
        let backoff = self.base_delay.saturating_mul(2u32.saturating_pow(retry));
        retry_after(response).unwrap_or(backoff).min(self.max_delay)
    }
}

/// Whether a status is worth another try.
pub fn is_retryable(status: u16) -> bool {
    status == 429 || (500..=599).contains(&status) && status != 501 && status != 505
}

/// The `Retry-After` header in seconds (the HTTP-date form is treated as absent).
pub fn retry_after(response: &HttpResponse) -> Option<Duration> {
    response
        .header("retry-after")
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs)
}

/// Sends `request`, retrying 429 and 5xx answers per `policy`. Returns the last answer,
/// whatever its status, when retries run out; transport failures are not retried (a token
/// request may have reached the server).
pub async fn send_with_retry(
    transport: &dyn HttpTransport,
    sleeper: &dyn Sleeper,
    policy: &RetryPolicy,
    request: &HttpRequest,
) -> Result<HttpResponse, TransportError> {
    let mut retry = 0;
    loop {
        let response = transport.send(request.clone()).await?;
        if !is_retryable(response.status) || retry >= policy.max_retries {
            return Ok(response);
        }
        let wait = policy.delay(retry, &response);
        tracing::warn!(status = response.status, url = %request.url, ?wait, "retrying");
        sleeper.sleep(wait).await;
        retry += 1;
    }
}
