//! Which service a request belongs to, known by construction: `http::router` layers each
//! sub-router (login, Graph, the service models, the control plane) with its side, so answers
//! that no rule produced (limits, framework rejections, injected faults) take that service's
//! wire format without looking at the path.

/// The service whose wire format a request's answers take.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    /// The login endpoints: Entra's AADSTS error JSON.
    Login,
    /// Graph and the first-party service models: Graph's error JSON.
    Graph,
    /// The test control plane under `/_mock/`: `{"error": ...}`.
    Control,
}
