//! Test doubles for the client's injectable seams: an HTTP transport that answers from a
//! script and records what it was sent. Used by unit tests here and by the harness.

use std::collections::VecDeque;
use std::sync::Mutex;

use crate::http::{BoxFuture, HttpRequest, HttpResponse, HttpTransport, TransportError};

/// Answers requests with queued responses, in order, and records every request.
#[derive(Debug, Default)]
pub struct ScriptedTransport {
    responses: Mutex<VecDeque<HttpResponse>>,
    requests: Mutex<Vec<HttpRequest>>,
}

impl ScriptedTransport {
    pub fn new() -> Self {
        Self::default()
    }

    /// Queues a response with a JSON (or any text) body and extra headers.
    pub fn push(&self, status: u16, headers: &[(&str, &str)], body: &str) -> &Self {
        let mut all: Vec<(String, String)> = headers
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect();
        all.push(("content-type".into(), "application/json".into()));
        self.lock_responses().push_back(HttpResponse {
            status,
            headers: all,
            body: body.as_bytes().to_vec(),
        });
        self
    }

    /// The requests sent so far.
    pub fn requests(&self) -> Vec<HttpRequest> {
        self.requests
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn lock_responses(&self) -> std::sync::MutexGuard<'_, VecDeque<HttpResponse>> {
        self.responses.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl HttpTransport for ScriptedTransport {
    fn send(&self, request: HttpRequest) -> BoxFuture<'_, Result<HttpResponse, TransportError>> {
        self.requests
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(request.clone());
        let next = self.lock_responses().pop_front();
        Box::pin(async move {
            next.ok_or_else(|| {
                TransportError::Setup(format!(
                    "script exhausted at {} {}",
                    request.method, request.url
                ))
            })
        })
    }
}
