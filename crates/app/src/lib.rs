//! Application services: the use cases that combine the domain, the store and file
//! ingestion, shared by the web layer and the command line (imports, demo data).
//! Nothing here knows about HTTP.

pub mod learning;
pub mod credentials;
// Alerta Rosa: cases, fichas, feeds
pub mod alerta;
pub mod attendance;
pub mod avgm;
pub mod constancia;
pub mod certification;
pub mod coverage;
pub mod demo;
pub mod demo_courses;
pub mod people_import;
pub mod regions;
pub mod report;
pub mod safe_spaces;
// Alerta Rosa dissemination (branch alerta-difusion)
pub mod dissemination;

pub use report::{ImportReport, Problem};
