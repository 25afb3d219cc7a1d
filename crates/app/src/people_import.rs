//! Importing people from the CSV or XLSX lists units keep. Columns are found by name,
//! flexibly; every row is checked; a file with any problem is refused whole, with a report
//! that names each row and column. Lines that are clearly not people (totals, signatures)
//! are skipped and listed.

use crate::report::{ImportReport, column_name};
use std::collections::HashMap;
use violeta_domain::audit::Actor;
use violeta_domain::curp::Curp;
use violeta_domain::person::{FieldError, PersonDraft, PersonInput, SexConvention};
use violeta_domain::territory::{MunicipalityKey, StateKey};
use violeta_domain::text::search_key;
use violeta_ingest::{Format, Row, Table};
use violeta_store::Store;
use violeta_store::people::Progress;

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    pub created: usize,
    pub updated: usize,
    /// Lines that were not people (totals, signatures), with their row number.
    pub skipped: Vec<(usize, String)>,
}

struct Columns {
    curp: Option<usize>,
    full_name: Option<usize>,
    given: Option<usize>,
    first: Option<usize>,
    second: Option<usize>,
    sex: Option<usize>,
    institution: Option<usize>,
    position: Option<usize>,
    corps: Option<usize>,
    state: Option<usize>,
    municipality: Option<usize>,
    email: Option<usize>,
    phone: Option<usize>,
}

const EXPECTED: &[&str] = &["curp", "nombre", "nombre completo", "apellido paterno", "sexo", "género", "institución", "municipio", "cargo", "puesto"];

impl Columns {
    fn find(t: &Table) -> Result<Columns, ImportReport> {
        let c = Columns {
            curp: t.column(&["curp", "clave curp"]),
            full_name: t.column(&["nombre completo", "nombre y apellidos", "nombre(s) y apellidos"]),
            given: t.column(&["nombre(s)", "nombres", "nombre"]),
            first: t.column(&["apellido paterno", "primer apellido", "paterno"]),
            second: t.column(&["apellido materno", "segundo apellido", "materno"]),
            sex: t.column(&["sexo", "género", "genero"]),
            institution: t.column(&["institución", "dependencia", "institución o dependencia", "dependencia o entidad"]),
            position: t.column(&["cargo", "puesto"]),
            corps: t.column(&["corporación", "corporacion"]),
            state: t.column(&["entidad", "estado", "entidad federativa"]),
            municipality: t.column(&["municipio", "clave de municipio", "cvegeo"]),
            email: t.column(&["correo electrónico", "correo", "email", "e-mail"]),
            phone: t.column(&["teléfono", "telefono", "celular"]),
        };
        // A full-name column must not also be taken as the given-names column.
        let c = Columns { given: if c.given == c.full_name { None } else { c.given }, ..c };
        if c.full_name.is_none() && (c.given.is_none() || c.first.is_none()) {
            return Err(ImportReport::file(
                "el archivo debe tener una columna «Nombre completo», o bien «Nombre(s)» y «Apellido paterno»",
            ));
        }
        Ok(c)
    }
}

/// Splits "Leticia Ibáñez Domínguez" into given names and two surnames: the last two
/// words are taken as surnames, keeping Spanish particles ("de la Cruz") with them.
pub fn split_full_name(full: &str) -> (String, String, String) {
    let words: Vec<&str> = full.split_whitespace().collect();
    const PARTICLES: [&str; 6] = ["de", "del", "la", "las", "los", "y"];
    // Surnames are read from the end: a word plus any particles before it.
    let take_surname = |end: usize| -> usize {
        let mut start = end.saturating_sub(1);
        while start > 1 && PARTICLES.contains(&search_key(words[start - 1]).as_str()) {
            start -= 1;
        }
        start
    };
    if words.len() < 2 {
        return (full.trim().to_string(), String::new(), String::new());
    }
    if words.len() == 2 {
        return (words[0].to_string(), words[1].to_string(), String::new());
    }
    let second_start = take_surname(words.len());
    let first_start = take_surname(second_start).max(1);
    if first_start >= second_start {
        return (words[..second_start].join(" "), words[second_start..].join(" "), String::new());
    }
    (words[..first_start].join(" "), words[first_start..second_start].join(" "), words[second_start..].join(" "))
}

/// Whether a row is a total or a signature line rather than a person.
fn is_footer(row: &Row, c: &Columns) -> bool {
    let looks_like_curp = row.get_opt(c.curp).chars().filter(char::is_ascii_alphanumeric).count() >= 16;
    let has_name = [c.full_name, c.given, c.first].iter().any(|col| !row.get_opt(*col).is_empty());
    let has_person = looks_like_curp || has_name;
    if has_person {
        return false;
    }
    let text = search_key(&row.cells.join(" "));
    ["total", "firma", "elaboro", "reviso", "vo. bo", "vo.bo", "nombre y firma"].iter().any(|w| text.contains(w)) || row.filled() == 1
}

/// Reads and checks a file. Returns the drafts to store, or the report.
pub async fn prepare(store: &Store, file_name: &str, bytes: &[u8], default_state: Option<&StateKey>) -> Result<(Vec<PersonDraft>, Vec<(usize, String)>), ImportReport> {
    let table = read(file_name, bytes)?;
    let parsed = parse(store, &table, default_state).await?;
    if parsed.rows.is_empty() && parsed.report.is_empty() {
        return Err(ImportReport::file("el archivo no tiene ninguna persona"));
    }
    if parsed.report.is_empty() { Ok((parsed.rows.into_iter().map(|r| r.draft).collect(), parsed.skipped)) } else { Err(parsed.report) }
}

/// Reads a people list (CSV or XLSX), finding its header among the title rows.
pub fn read(file_name: &str, bytes: &[u8]) -> Result<Table, ImportReport> {
    let format = Format::from_path(std::path::Path::new(file_name))?;
    Ok(violeta_ingest::read_table(bytes, format, EXPECTED)?)
}

/// A person read from one row.
pub struct ParsedRow {
    /// The row number users see.
    pub line: usize,
    /// Index into `table.rows`, for callers that read more columns of the same row.
    pub index: usize,
    pub draft: PersonDraft,
}

/// Everything read from a people list: good rows, rows that are not people, problems.
pub struct Parsed {
    pub rows: Vec<ParsedRow>,
    /// Rows that looked like people but failed the checks: (line, name as written, CURP as written).
    pub failed: Vec<(usize, String, String)>,
    pub skipped: Vec<(usize, String)>,
    pub report: ImportReport,
}

/// What one row of a people list is, once checked on its own (without the other rows).
/// Most rows are people: boxing that variant would cost an allocation per row.
#[allow(clippy::large_enum_variant)]
enum RowCheck {
    /// Blank, or the header repeated.
    Nothing,
    /// A total or a signature line: its text.
    Footer(String),
    Person {
        /// Problems with the catalogues (institution, municipality): (column, message).
        problems: Vec<(Option<usize>, String)>,
        checked: Result<PersonDraft, Vec<FieldError>>,
    },
}

/// Rows checked per thread at least: fewer are not worth a thread.
const ROWS_PER_THREAD: usize = 2_000;

/// Checks every row of a people list against the domain rules and the catalogues
/// (institutions, municipalities). Duplicated CURPs within the file are problems.
///
/// The catalogue names the file uses are looked up first, once each; the rows are then
/// checked on every core (each row on its own), and the results gathered in file order.
pub async fn parse(store: &Store, table: &Table, default_state: Option<&StateKey>) -> Result<Parsed, ImportReport> {
    let c = Columns::find(table)?;
    let convention = SexConvention::infer(table.data_rows().map(|r| r.get_opt(c.sex)));

    // Institutions and municipalities as written, each looked up once (by its search key).
    let mut institutions: HashMap<&str, Option<i64>> = HashMap::new();
    let mut by_key: HashMap<String, Option<i64>> = HashMap::new();
    let mut municipalities: HashMap<(&str, &str), Result<MunicipalityKey, String>> = HashMap::new();
    let mut muni_by_key: HashMap<(String, String), Result<MunicipalityKey, String>> = HashMap::new();
    for row in &table.rows {
        let inst_name = row.get_opt(c.institution).trim();
        if !inst_name.is_empty() && !institutions.contains_key(inst_name) {
            let key = search_key(inst_name);
            let found = match by_key.get(&key) {
                Some(found) => *found,
                None => {
                    let found = store.find_institution(inst_name).await.map_err(ImportReport::from)?;
                    by_key.insert(key, found);
                    found
                }
            };
            institutions.insert(inst_name, found);
        }
        let muni = row.get_opt(c.municipality).trim();
        let state_text = row.get_opt(c.state).trim();
        if !muni.is_empty() && !municipalities.contains_key(&(state_text, muni)) {
            let key = (state_text.to_string(), search_key(muni));
            let resolved = match muni_by_key.get(&key) {
                Some(resolved) => resolved.clone(),
                None => {
                    let resolved = resolve_municipality(store, muni, state_text, default_state).await?;
                    muni_by_key.insert(key, resolved.clone());
                    resolved
                }
            };
            municipalities.insert((state_text, muni), resolved);
        }
    }

    let check = |row: &Row| -> RowCheck {
        if row.is_blank() || table.is_header_repeat(row) {
            return RowCheck::Nothing;
        }
        if is_footer(row, &c) {
            return RowCheck::Footer(row.cells.iter().filter(|s| !s.is_empty()).cloned().collect::<Vec<_>>().join(" "));
        }
        let (given, first, second) = match c.full_name {
            Some(col) if c.given.is_none() || row.get_opt(c.given).is_empty() => split_full_name(row.get(col)),
            _ => (row.get_opt(c.given).to_string(), row.get_opt(c.first).to_string(), row.get_opt(c.second).to_string()),
        };
        let mut input = PersonInput {
            curp: row.get_opt(c.curp).to_string(),
            given_names: given,
            first_surname: first,
            second_surname: second,
            sex: row.get_opt(c.sex).to_string(),
            position: row.get_opt(c.position).to_string(),
            corps: row.get_opt(c.corps).to_string(),
            email: row.get_opt(c.email).to_string(),
            phone: row.get_opt(c.phone).to_string(),
            ..Default::default()
        };
        let mut problems = Vec::new();
        // Institution, by name or acronym.
        let inst_name = row.get_opt(c.institution).trim();
        if !inst_name.is_empty() {
            match institutions[inst_name] {
                Some(id) => input.institution_id = Some(id),
                None => problems.push((
                    Some(c.institution.unwrap_or(0)),
                    format!("la institución «{inst_name}» no está en el catálogo; dé de alta la institución primero o corrija el nombre"),
                )),
            }
        }
        // Municipality, by INEGI key or by name within the row's or the default state.
        let muni = row.get_opt(c.municipality).trim();
        if !muni.is_empty() {
            match &municipalities[&(row.get_opt(c.state).trim(), muni)] {
                Ok(k) => input.municipality = k.to_string(),
                Err(m) => problems.push((Some(c.municipality.unwrap_or(0)), m.clone())),
            }
        }
        RowCheck::Person { problems, checked: input.validate(convention) }
    };
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(table.rows.len() / ROWS_PER_THREAD).max(1);
    let checks: Vec<RowCheck> = if threads == 1 {
        table.rows.iter().map(check).collect()
    } else {
        let per_thread = table.rows.len().div_ceil(threads);
        std::thread::scope(|scope| {
            let mut parts = table.rows.chunks(per_thread);
            let first = parts.next().unwrap_or_default();
            let others: Vec<_> = parts.map(|part| scope.spawn(|| part.iter().map(check).collect::<Vec<_>>())).collect();
            let mut checks: Vec<RowCheck> = first.iter().map(check).collect();
            for other in others {
                checks.extend(other.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)));
            }
            checks
        })
    };

    let mut report = ImportReport::default();
    let mut rows: Vec<ParsedRow> = Vec::with_capacity(checks.len());
    let mut failed = Vec::new();
    let mut skipped = Vec::new();
    let mut seen_curp: HashMap<Curp, usize> = HashMap::with_capacity(checks.len());
    for ((index, row), checked) in table.rows.iter().enumerate().zip(checks) {
        let (problems, checked) = match checked {
            RowCheck::Nothing => continue,
            RowCheck::Footer(text) => {
                skipped.push((row.line, text));
                continue;
            }
            RowCheck::Person { problems, checked } => (problems, checked),
        };
        for (col, message) in problems {
            report.push(row.line, col.map(|i| column_name(table, i)).unwrap_or_default(), message);
        }
        match checked {
            Ok(draft) => {
                if let Some(curp) = &draft.curp
                    && let Some(first_line) = seen_curp.insert(curp.clone(), row.line)
                {
                    report.push(
                        row.line,
                        column_name(table, c.curp.unwrap_or(0)),
                        format!("la CURP {curp} ya aparece en la fila {first_line}; una persona va una sola vez"),
                    );
                }
                rows.push(ParsedRow { line: row.line, index, draft });
            }
            Err(errors) => {
                let written = match c.full_name {
                    Some(col) => row.get(col).to_string(),
                    None => format!("{} {} {}", row.get_opt(c.given), row.get_opt(c.first), row.get_opt(c.second)).trim().to_string(),
                };
                failed.push((row.line, written, row.get_opt(c.curp).to_string()));
                for e in errors {
                    let col = match e.field {
                        "curp" => c.curp,
                        "given_names" => c.given.or(c.full_name),
                        "first_surname" | "second_surname" => c.first.or(c.full_name),
                        "sex" => c.sex,
                        "corps" => c.corps,
                        "email" => c.email,
                        "phone" => c.phone,
                        "municipality" => c.municipality,
                        _ => None,
                    };
                    report.push(row.line, col.map(|i| column_name(table, i)).unwrap_or_default(), e.message);
                }
            }
        }
    }
    Ok(Parsed { rows, failed, skipped, report })
}

async fn resolve_municipality(store: &Store, text: &str, state_text: &str, default_state: Option<&StateKey>) -> Result<Result<MunicipalityKey, String>, ImportReport> {
    if let Ok(k) = MunicipalityKey::parse(text) {
        return Ok(store.find_municipality(&k.state(), text).await?.ok_or_else(|| format!("no existe el municipio con clave INEGI {k}")));
    }
    let state = if state_text.is_empty() {
        default_state.cloned()
    } else {
        let states = store.states().await?;
        let key = search_key(state_text);
        states
            .iter()
            .find(|s| s.cve_ent == state_text || search_key(&s.name) == key || search_key(&s.abbreviation) == key)
            .and_then(|s| StateKey::parse(&s.cve_ent).ok())
    };
    match state {
        Some(st) => Ok(store
            .find_municipality(&st, text)
            .await?
            .ok_or_else(|| format!("no existe el municipio «{text}» en la entidad {st}"))),
        None => {
            // No state given: accept the name if it is unique in the country.
            let matches = store
                .municipalities(&violeta_store::territory::MunicipalityFilter::default())
                .await?
                .into_iter()
                .filter(|m| search_key(&m.name) == search_key(text))
                .collect::<Vec<_>>();
            Ok(match matches.as_slice() {
                [one] => MunicipalityKey::parse(&one.cvegeo).map_err(|e| e.to_string()),
                [] => Err(format!("no existe el municipio «{text}»")),
                many => Err(format!(
                    "hay {} municipios llamados «{text}»; agregue la columna «Entidad» o use la clave INEGI",
                    many.len()
                )),
            })
        }
    }
}

/// Checks and imports a file, all or nothing.
pub async fn import(
    store: &Store,
    actor: &Actor,
    file_name: &str,
    bytes: &[u8],
    default_state: Option<&StateKey>,
    progress: Progress<'_>,
) -> Result<Summary, ImportReport> {
    let (drafts, skipped) = prepare(store, file_name, bytes, default_state).await?;
    let (created, updated) = store.import_people(actor, &drafts, progress).await?;
    Ok(Summary { created, updated, skipped })
}

#[cfg(test)]
mod tests {
    use super::split_full_name;

    #[test]
    fn splits_names_with_particles() {
        assert_eq!(split_full_name("Leticia Ibáñez Domínguez"), ("Leticia".into(), "Ibáñez".into(), "Domínguez".into()));
        assert_eq!(split_full_name("Ana Sofía Cruz López"), ("Ana Sofía".into(), "Cruz".into(), "López".into()));
        assert_eq!(split_full_name("María de la Luz de la Cruz Pérez"), ("María de la Luz".into(), "de la Cruz".into(), "Pérez".into()));
        assert_eq!(split_full_name("Rubén Peña"), ("Rubén".into(), "Peña".into(), "".into()));
    }
}
