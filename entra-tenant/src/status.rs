//! The HTTP statuses the rule tables answer with, as a closed set: a table row names one of
//! these, so a status cannot be mistyped, and the HTTP layer maps each to its wire status with
//! one exhaustive match. (A fault rule's status is any number from 400 to 599 and is checked
//! where the rule is made, `faults::FaultSpec::validate`.)

/// A status a rule answers with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Status {
    Ok,
    Created,
    NoContent,
    BadRequest,
    Unauthorized,
    Forbidden,
    NotFound,
    MethodNotAllowed,
    Conflict,
}

impl Status {
    /// The status code.
    pub const fn code(self) -> u16 {
        match self {
            Status::Ok => 200,
            Status::Created => 201,
            Status::NoContent => 204,
            Status::BadRequest => 400,
            Status::Unauthorized => 401,
            Status::Forbidden => 403,
            Status::NotFound => 404,
            Status::MethodNotAllowed => 405,
            Status::Conflict => 409,
        }
    }
}
