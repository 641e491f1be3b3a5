//! Reading a request's JSON payload as Graph does: the body must be an object, properties have
//! their types, annotations (`@odata.type`, ...) and writable properties the mock does not model
//! are passed over, and object ids are GUIDs.

use serde_json::{Map, Value};
use uuid::Uuid;

use super::error::GraphError;

/// The payload as an object, or Graph's "Unable to read JSON request payload".
pub fn object(body: &Value) -> Result<&Map<String, Value>, GraphError> {
    body.as_object().ok_or(GraphError::UnreadablePayload)
}

/// A string property, or "Invalid value specified for property '{name}'."
pub fn string(v: &Value, name: &str) -> Result<String, GraphError> {
    v.as_str()
        .map(str::to_string)
        .ok_or_else(|| GraphError::invalid(name))
}

/// Whether a property of the payload is one the rules pass over: an annotation, or one of the
/// type's writable properties that the mock does not model.
pub fn passed_over(name: &str, ignored: &[&str]) -> bool {
    name.starts_with('@') || ignored.contains(&name)
}

/// An object id from a URL or a payload (surrounding space allowed), or "Invalid object
/// identifier".
pub fn guid(text: &str) -> Result<Uuid, GraphError> {
    Uuid::parse_str(text.trim()).map_err(|_| GraphError::invalid_id(text))
}

/// A property after a PATCH that sets it to `v`: OData updates a complex value member by
/// member (members the request leaves out keep their value); anything else is replaced.
pub fn patched(v: &Value, old: Option<&Value>) -> Value {
    match (v, old) {
        (Value::Object(new), Some(Value::Object(old))) => {
            let mut merged = old.clone();
            merged.extend(new.clone());
            Value::Object(merged)
        }
        _ => v.clone(),
    }
}
