//! The rule tables' statuses (`entra_tenant::status::Status`) as HTTP statuses: one exhaustive
//! match, so a table row cannot name a status the wire does not have.

use entra_tenant::status::Status;
use http::StatusCode;

pub fn status_code(s: Status) -> StatusCode {
    match s {
        Status::Ok => StatusCode::OK,
        Status::Created => StatusCode::CREATED,
        Status::NoContent => StatusCode::NO_CONTENT,
        Status::BadRequest => StatusCode::BAD_REQUEST,
        Status::Unauthorized => StatusCode::UNAUTHORIZED,
        Status::Forbidden => StatusCode::FORBIDDEN,
        Status::NotFound => StatusCode::NOT_FOUND,
        Status::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
        Status::Conflict => StatusCode::CONFLICT,
    }
}

/// A fault rule's status, which `FaultSpec::validate` keeps between 400 and 599.
pub fn fault_status(status: u16) -> StatusCode {
    StatusCode::from_u16(status).expect("fault rule statuses are validated to 400..=599")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_keeps_its_code() {
        for s in [
            Status::Ok,
            Status::Created,
            Status::NoContent,
            Status::BadRequest,
            Status::Unauthorized,
            Status::Forbidden,
            Status::NotFound,
            Status::MethodNotAllowed,
            Status::Conflict,
        ] {
            assert_eq!(status_code(s).as_u16(), s.code());
        }
        for n in 400..=599 {
            assert_eq!(fault_status(n).as_u16(), n);
        }
    }
}
