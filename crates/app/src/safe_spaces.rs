//! Espacios seguros as users enter them — one by one in a form, or many in a CSV/XLSX — checked
//! the same way: a real municipality, coordinates inside Mexico and near the municipality's head
//! town (or confirmed), opening hours that can be read.

use crate::avgm::parse_date;
use crate::report::{ImportReport, column_name};
use violeta_domain::audit::Actor;
use violeta_domain::geo::{Point, distance_warning};
use violeta_domain::hours::OpeningHours;
use violeta_domain::safety::{SafeSpaceKind, SafeSpaceStatus};
use violeta_domain::territory::{MunicipalityKey, StateKey};
use violeta_ingest::Format;
use violeta_store::Store;
use violeta_store::safety::NewSafeSpace;

/// What a form or an import row says about an espacio seguro.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct SafeSpaceInput {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub address: String,
    /// INEGI key, or a name within `state`.
    #[serde(default)]
    pub municipality: String,
    #[serde(default)]
    pub state: String,
    #[serde(default)]
    pub lat: String,
    #[serde(default)]
    pub lon: String,
    #[serde(default)]
    pub hours: String,
    #[serde(default)]
    pub contact_name: String,
    #[serde(default)]
    pub contact_phone: String,
    #[serde(default)]
    pub notes: String,
    #[serde(default)]
    pub installed_on: String,
    #[serde(default)]
    pub status: String,
    /// The user confirms coordinates far from the head town.
    #[serde(default)]
    pub confirm_far: bool,
}

/// Problems by field name (`name`, `kind`, `municipality`, `lat`, `hours`, …), in Spanish.
pub type FieldProblems = Vec<(&'static str, String)>;

pub async fn check(store: &Store, i: &SafeSpaceInput) -> Result<Result<NewSafeSpace, FieldProblems>, violeta_store::StoreError> {
    let mut p: FieldProblems = Vec::new();
    if i.name.trim().is_empty() {
        p.push(("name", "falta el nombre del lugar".into()));
    }
    if i.address.trim().is_empty() {
        p.push(("address", "falta el domicilio".into()));
    }
    let kind = SafeSpaceKind::parse(&i.kind);
    if kind.is_none() {
        p.push(("kind", format!("«{}» no es un tipo de lugar (comercio, institución pública, transporte, escuela, centro de salud u otro)", i.kind.trim())));
    }
    let status = if i.status.trim().is_empty() { Some(SafeSpaceStatus::Activo) } else { SafeSpaceStatus::parse(&i.status) };
    if status.is_none() {
        p.push(("status", format!("«{}» no es un estado (activo, suspendido o retirado)", i.status.trim())));
    }
    let hours = match OpeningHours::parse(&i.hours) {
        Ok(h) => Some(h),
        Err(m) => {
            p.push(("hours", m));
            None
        }
    };
    let installed_on = match i.installed_on.trim() {
        "" => None,
        s => match parse_date(s) {
            Some(d) => Some(d),
            None => {
                p.push(("installed_on", format!("«{s}» no es una fecha (use DD/MM/AAAA)")));
                None
            }
        },
    };
    let municipality = resolve_municipality(store, &i.municipality, &i.state).await?;
    let municipality = match municipality {
        Ok(k) => Some(k),
        Err(m) => {
            p.push(("municipality", m));
            None
        }
    };
    let point = match Point::parse(&i.lat, &i.lon) {
        Ok(pt) => Some(pt),
        Err(e) => {
            p.push(("lat", e.to_string()));
            None
        }
    };
    if let (Some(pt), Some(k)) = (&point, &municipality) {
        let m = store.municipality(k).await?;
        let head = match (m.head_lat, m.head_lon) {
            (Some(a), Some(b)) => Point::new(a, b).ok(),
            _ => None,
        };
        if let Some(w) = distance_warning(pt, head, &m.name)
            && !i.confirm_far
        {
            p.push(("lat", w));
        }
    }
    if !p.is_empty() {
        return Ok(Err(p));
    }
    let (Some(kind), Some(status), Some(hours), Some(municipality), Some(point)) = (kind, status, hours, municipality, point) else {
        return Ok(Err(vec![("name", "datos incompletos".into())]));
    };
    Ok(Ok(NewSafeSpace {
        name: i.name.trim().to_string(),
        kind,
        address: i.address.trim().to_string(),
        municipality,
        point,
        hours,
        contact_name: i.contact_name.trim().to_string(),
        contact_phone: i.contact_phone.trim().to_string(),
        notes: i.notes.trim().to_string(),
        installed_on,
        status,
    }))
}

async fn resolve_municipality(store: &Store, text: &str, state: &str) -> Result<Result<MunicipalityKey, String>, violeta_store::StoreError> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(Err("falta el municipio".into()));
    }
    if let Ok(k) = MunicipalityKey::parse(text) {
        if !state.trim().is_empty() && StateKey::parse(state).is_ok_and(|s| s != k.state()) {
            return Ok(Err(format!("el municipio {k} no pertenece a la entidad {}", state.trim())));
        }
        return Ok(store.find_municipality(&k.state(), text).await?.ok_or_else(|| format!("no existe el municipio con clave INEGI {k}")));
    }
    let Some(st) = find_state(store, state).await? else {
        return Ok(Err(format!("para buscar «{text}» por nombre indique la entidad, o use la clave INEGI de 5 dígitos")));
    };
    Ok(store.find_municipality(&st, text).await?.ok_or_else(|| format!("no existe el municipio «{text}» en la entidad {st}")))
}

async fn find_state(store: &Store, text: &str) -> Result<Option<StateKey>, violeta_store::StoreError> {
    let t = text.trim();
    if t.is_empty() {
        return Ok(None);
    }
    if let Ok(k) = StateKey::parse(t) {
        return Ok(Some(k));
    }
    let key = violeta_domain::text::search_key(t);
    Ok(store
        .states()
        .await?
        .into_iter()
        .find(|s| violeta_domain::text::search_key(&s.name) == key || violeta_domain::text::search_key(&s.abbreviation) == key)
        .and_then(|s| StateKey::parse(&s.cve_ent).ok()))
}

/// Imports espacios seguros from CSV or XLSX, all or nothing.
pub async fn import(store: &Store, actor: &Actor, file_name: &str, bytes: &[u8]) -> Result<usize, ImportReport> {
    let format = Format::from_path(std::path::Path::new(file_name))?;
    let t = violeta_ingest::read_table(bytes, format, &["nombre", "tipo", "domicilio", "municipio", "latitud", "longitud", "horario"])?;
    let col = |aliases: &[&str]| t.column(aliases);
    let c_name = t.require("Nombre", &["nombre", "nombre del lugar"])?;
    let c_kind = t.require("Tipo", &["tipo", "tipo de lugar"])?;
    let c_address = t.require("Domicilio", &["domicilio", "dirección", "direccion"])?;
    let c_muni = t.require("Municipio", &["municipio", "clave inegi", "cvegeo"])?;
    let c_lat = t.require("Latitud", &["latitud", "lat"])?;
    let c_lon = t.require("Longitud", &["longitud", "lon", "lng"])?;
    let c_hours = t.require("Horario", &["horario", "horario de atención"])?;
    let c_state = col(&["entidad", "estado federativo"]);
    let c_contact = col(&["contacto", "persona de contacto"]);
    let c_phone = col(&["teléfono de contacto", "telefono de contacto", "teléfono", "telefono"]);
    let c_notes = col(&["notas", "observaciones"]);
    let c_installed = col(&["fecha de instalación", "fecha de instalacion", "instalación", "instalado"]);
    let c_status = col(&["estado", "situación", "situacion"]);
    let c_confirm = col(&["confirmado", "coordenadas confirmadas"]);
    let mut report = ImportReport::default();
    let mut spaces = Vec::new();
    for row in t.data_rows() {
        let input = SafeSpaceInput {
            name: row.get(c_name).into(),
            kind: row.get(c_kind).into(),
            address: row.get(c_address).into(),
            municipality: row.get(c_muni).into(),
            state: row.get_opt(c_state).into(),
            lat: row.get(c_lat).into(),
            lon: row.get(c_lon).into(),
            hours: row.get(c_hours).into(),
            contact_name: row.get_opt(c_contact).into(),
            contact_phone: row.get_opt(c_phone).into(),
            notes: row.get_opt(c_notes).into(),
            installed_on: row.get_opt(c_installed).into(),
            status: row.get_opt(c_status).into(),
            confirm_far: matches!(violeta_domain::text::search_key(row.get_opt(c_confirm)).as_str(), "si" | "x" | "1" | "verdadero"),
        };
        match check(store, &input).await? {
            Ok(s) => spaces.push(s),
            Err(problems) => {
                for (field, message) in problems {
                    let c = match field {
                        "name" => Some(c_name),
                        "kind" => Some(c_kind),
                        "address" => Some(c_address),
                        "municipality" => Some(c_muni),
                        "lat" => Some(c_lat),
                        "hours" => Some(c_hours),
                        "installed_on" => c_installed,
                        "status" => c_status,
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
    if spaces.is_empty() {
        return Err(ImportReport::file("el archivo no tiene espacios seguros"));
    }
    Ok(store.import_safe_spaces(actor, &spaces).await?)
}
