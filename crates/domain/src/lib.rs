//! Violeta's domain: the rules of the business, with no I/O, no HTTP and no SQL.
//!
//! Every type here that holds a value from the outside world (a CURP, an INEGI key,
//! a role name) can only be built through a parser that checks it, so the rest of the
//! program never meets an invalid one ("parse, don't validate").

pub mod access;
pub mod audit;
pub mod curp;
pub mod geo;
pub mod hours;
pub mod institution;
pub mod person;
pub mod safety;
pub mod territory;
pub mod text;

pub use curp::Curp;
pub mod secret;
