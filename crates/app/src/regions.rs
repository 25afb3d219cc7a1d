//! Importing regions: a CSV or XLSX with a municipality (INEGI key or name) and its region
//! per row, for one state. All or nothing.

use crate::report::{ImportReport, column_name};
use violeta_domain::audit::Actor;
use violeta_domain::territory::StateKey;
use violeta_ingest::Format;
use violeta_store::Store;
use violeta_store::territory::RegionAssignment;

pub async fn import(store: &Store, actor: &Actor, state: &StateKey, file_name: &str, bytes: &[u8], source_note: &str) -> Result<usize, ImportReport> {
    let format = Format::from_path(std::path::Path::new(file_name))?;
    let table = violeta_ingest::read_table(bytes, format, &["municipio", "región", "region"])?;
    let municipality = table.require("Municipio", &["clave inegi", "cvegeo", "municipio"])?;
    let region = table.require("Región", &["región", "region"])?;
    let alias = table.column(&["alias", "otros nombres", "nombre anterior"]);
    let mut report = ImportReport::default();
    let mut rows = Vec::new();
    for row in table.data_rows() {
        let m = row.get(municipality).trim();
        let r = row.get(region).trim();
        if r.is_empty() {
            report.push(row.line, column_name(&table, region), "falta el nombre de la región");
            continue;
        }
        match store.find_municipality(state, m).await? {
            Some(key) => rows.push(RegionAssignment {
                municipality: key,
                region: r.to_string(),
                aliases: row.get_opt(alias).split(['|', ',', ';']).map(|a| a.trim().to_string()).filter(|a| !a.is_empty()).collect(),
            }),
            None => report.push(row.line, column_name(&table, municipality), format!("no existe el municipio «{m}» en la entidad {state}")),
        }
    }
    if !report.is_empty() {
        return Err(report);
    }
    if rows.is_empty() {
        return Err(ImportReport::file("el archivo no tiene filas"));
    }
    Ok(store.import_regions(actor, state, &rows, source_note).await?)
}
