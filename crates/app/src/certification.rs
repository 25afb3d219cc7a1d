//! Importing CONOCER standards into the catalogue from CSV or XLSX, all or nothing: new
//! codes are added, known codes updated, and any problem is reported by row and column.

use crate::report::{ImportReport, column_name};
use std::collections::HashMap;
use violeta_domain::audit::Actor;
use violeta_domain::certification::StandardInput;
use violeta_ingest::Format;
use violeta_store::Store;

/// Imports standards; returns (created, updated).
pub async fn import_standards(store: &Store, actor: &Actor, file_name: &str, bytes: &[u8]) -> Result<(usize, usize), ImportReport> {
    let format = Format::from_path(std::path::Path::new(file_name))?;
    let t = violeta_ingest::read_table(bytes, format, &["codigo", "titulo", "nivel", "vigencia", "fuente"])?;
    let c_code = t.require("Código", &["código", "codigo", "clave", "clave del estándar", "estándar", "estandar"])?;
    let c_title = t.require("Título", &["título", "titulo", "título oficial", "nombre"])?;
    let c_source = t.require("Fuente", &["fuente", "fuente del título", "origen"])?;
    let c_level = t.column(&["nivel", "nivel de competencia"]);
    let c_years = t.column(&["vigencia_anios", "vigencia (años)", "vigencia en años", "vigencia", "años de vigencia"]);
    let c_active = t.column(&["activo", "vigente en el catálogo"]);
    let mut report = ImportReport::default();
    let mut drafts = Vec::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    for row in t.data_rows() {
        let input = StandardInput {
            code: row.get(c_code).into(),
            title: row.get(c_title).into(),
            level: row.get_opt(c_level).into(),
            valid_years: row.get_opt(c_years).into(),
            source: row.get(c_source).into(),
            active: row.get_opt(c_active).into(),
        };
        match input.validate() {
            Ok(d) => {
                if let Some(first) = seen.insert(d.code.to_string(), row.line) {
                    report.push(row.line, column_name(&t, c_code), format!("el estándar {} ya aparece en la fila {first}", d.code));
                }
                drafts.push(d);
            }
            Err(errors) => {
                for (field, message) in errors {
                    let c = match field {
                        "code" => Some(c_code),
                        "title" => Some(c_title),
                        "source" => Some(c_source),
                        "level" => c_level,
                        "valid_years" => c_years,
                        "active" => c_active,
                        _ => None,
                    };
                    report.push(row.line, c.map(|c| column_name(&t, c)).unwrap_or_default(), message);
                }
            }
        }
    }
    if !report.is_empty() {
        return Err(report);
    }
    if drafts.is_empty() {
        return Err(ImportReport::file("el archivo no tiene estándares"));
    }
    Ok(store.import_standards(actor, &drafts).await?)
}
