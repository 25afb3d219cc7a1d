//! Alerta Rosa use cases and file formats: the photo, the ficha de búsqueda (PNG and PDF),
//! the CAP messages and the Atom index, the content handed to dissemination, the report.

pub mod ficha;
pub mod photo;
pub mod ficha_pdf;
