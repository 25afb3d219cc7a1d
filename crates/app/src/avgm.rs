//! Importing AVGM declarations from CSV or XLSX. One row per municipality (and/or per
//! measure); rows with the same state, type, date and title form one declaration.
//! Columns: Entidad, Tipo, Fecha, Título, Municipio, and optionally Fuente, Categoría,
//! Medida. All or nothing.

use crate::report::{ImportReport, column_name};
use chrono::NaiveDate;
use violeta_domain::audit::Actor;
use violeta_domain::territory::{AvgmKind, StateKey};
use violeta_domain::text::search_key;
use violeta_ingest::Format;
use violeta_store::Store;
use violeta_store::territory::NewDeclaration;

/// Dates as Mexican documents write them (30/08/2018) or ISO (2018-08-30).
pub fn parse_date(s: &str) -> Option<NaiveDate> {
    let s = s.trim();
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .or_else(|_| NaiveDate::parse_from_str(s, "%d/%m/%Y"))
        .or_else(|_| NaiveDate::parse_from_str(s, "%d-%m-%Y"))
        .ok()
}

pub async fn import(store: &Store, actor: &Actor, file_name: &str, bytes: &[u8]) -> Result<Vec<i64>, ImportReport> {
    let format = Format::from_path(std::path::Path::new(file_name))?;
    let table = violeta_ingest::read_table(bytes, format, &["entidad", "tipo", "fecha", "título", "municipio"])?;
    let c_state = table.require("Entidad", &["entidad", "estado", "entidad federativa"])?;
    let c_kind = table.require("Tipo", &["tipo", "tipo de alerta"])?;
    let c_date = table.require("Fecha", &["fecha", "fecha de declaratoria"])?;
    let c_title = table.require("Título", &["título", "titulo", "declaratoria"])?;
    let c_muni = table.column(&["municipio", "clave inegi", "cvegeo"]);
    let c_source = table.column(&["fuente"]);
    let c_category = table.column(&["categoría", "categoria"]);
    let c_measure = table.column(&["medida"]);
    let states = store.states().await?;

    let mut report = ImportReport::default();
    let mut declarations: Vec<NewDeclaration> = Vec::new();
    for row in table.data_rows() {
        let state_text = row.get(c_state).trim();
        let key = search_key(state_text);
        let Some(state) = states
            .iter()
            .find(|s| s.cve_ent == state_text || format!("0{state_text}") == s.cve_ent || search_key(&s.name) == key || search_key(&s.abbreviation) == key)
            .and_then(|s| StateKey::parse(&s.cve_ent).ok())
        else {
            report.push(row.line, column_name(&table, c_state), format!("«{state_text}» no es una entidad federativa"));
            continue;
        };
        let Some(kind) = AvgmKind::parse(row.get(c_kind)) else {
            report.push(row.line, column_name(&table, c_kind), format!("«{}» no es un tipo de alerta (violencia feminicida o desaparición)", row.get(c_kind)));
            continue;
        };
        let Some(date) = parse_date(row.get(c_date)) else {
            report.push(row.line, column_name(&table, c_date), format!("«{}» no es una fecha (use DD/MM/AAAA)", row.get(c_date)));
            continue;
        };
        let title = row.get(c_title).trim().to_string();
        if title.is_empty() {
            report.push(row.line, column_name(&table, c_title), "falta el título de la declaratoria");
            continue;
        }
        let index = match declarations.iter().position(|d| d.state == state && d.kind == kind && d.declared_on == date && d.title == title) {
            Some(i) => i,
            None => {
                declarations.push(NewDeclaration {
                    state: state.clone(),
                    kind,
                    declared_on: date,
                    title,
                    source_note: row.get_opt(c_source).trim().to_string(),
                    municipalities: vec![],
                    measures: vec![],
                });
                declarations.len() - 1
            }
        };
        let muni = row.get_opt(c_muni).trim();
        if !muni.is_empty() {
            match store.find_municipality(&state, muni).await? {
                Some(k) if !declarations[index].municipalities.contains(&k) => declarations[index].municipalities.push(k),
                Some(_) => {}
                None => report.push(row.line, column_name(&table, c_muni.unwrap_or(0)), format!("no existe el municipio «{muni}» en la entidad {state}")),
            }
        }
        let measure = row.get_opt(c_measure).trim();
        if !measure.is_empty() {
            declarations[index].measures.push((row.get_opt(c_category).trim().to_string(), measure.to_string()));
        }
    }
    if !report.is_empty() {
        return Err(report);
    }
    if declarations.is_empty() {
        return Err(ImportReport::file("el archivo no tiene declaratorias"));
    }
    Ok(store.import_declarations(actor, &declarations).await?)
}

#[cfg(test)]
mod tests {
    #[test]
    fn dates_in_both_forms() {
        let d = chrono::NaiveDate::from_ymd_opt(2018, 8, 30);
        assert_eq!(super::parse_date("30/08/2018"), d);
        assert_eq!(super::parse_date("2018-08-30"), d);
        assert_eq!(super::parse_date("31/02/2018"), None);
    }
}
