//! AVGM coverage: for each municipality under a declaration, what is in place (rapid-reaction
//! units, espacios seguros), the rate per 10,000 women inhabitants (2020 Census), and the gaps.
//! Exported as CSV and XLSX with the same columns the page shows.

use serde::Serialize;
use violeta_domain::safety::UnitStatus;
use violeta_domain::territory::rate_per_10k_women;
use violeta_store::safety::CoverageRow;

#[derive(Debug, Clone, Serialize)]
pub struct CoverageLine {
    pub cvegeo: String,
    pub municipality: String,
    pub region: String,
    pub women: i64,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub units_active: i64,
    /// "Activa", "En formación, Suspendida", or "Sin unidad".
    pub unit_status: String,
    pub safe_spaces: i64,
    /// Active espacios seguros per 10,000 women; `None` without Census population.
    pub spaces_per_10k: Option<f64>,
    /// Gaps, in Spanish: "sin unidad activa", "sin espacios seguros".
    pub gaps: Vec<&'static str>,
}

pub fn lines(rows: Vec<CoverageRow>) -> Vec<CoverageLine> {
    rows.into_iter()
        .map(|r| {
            let mut gaps = Vec::new();
            if r.units_active == 0 {
                gaps.push("sin unidad activa");
            }
            if r.safe_spaces == 0 {
                gaps.push("sin espacios seguros");
            }
            let statuses: Vec<&str> = r.unit_statuses.split(',').filter_map(UnitStatus::parse).map(|s| s.label()).collect();
            CoverageLine {
                spaces_per_10k: rate_per_10k_women(r.safe_spaces as u64, r.population_women.max(0) as u64),
                unit_status: if statuses.is_empty() { "Sin unidad".into() } else { statuses.join(", ") },
                cvegeo: r.cvegeo,
                municipality: r.municipality,
                region: r.region.unwrap_or_default(),
                women: r.population_women,
                lat: r.head_lat,
                lon: r.head_lon,
                units_active: r.units_active,
                safe_spaces: r.safe_spaces,
                gaps,
            }
        })
        .collect()
}

const HEADERS: [&str; 9] = [
    "Clave INEGI",
    "Municipio",
    "Región",
    "Mujeres (Censo 2020)",
    "Unidades activas",
    "Estado de las unidades",
    "Espacios seguros activos",
    "Espacios por 10,000 mujeres",
    "Brechas",
];

fn rate_text(v: Option<f64>) -> String {
    v.map(|r| format!("{r:.2}")).unwrap_or_else(|| "sin población".into())
}

pub fn to_csv(lines: &[CoverageLine]) -> Vec<u8> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let _ = w.write_record(HEADERS);
    for l in lines {
        let _ = w.write_record([
            l.cvegeo.clone(),
            l.municipality.clone(),
            l.region.clone(),
            l.women.to_string(),
            l.units_active.to_string(),
            l.unit_status.clone(),
            l.safe_spaces.to_string(),
            rate_text(l.spaces_per_10k),
            l.gaps.join("; "),
        ]);
    }
    // A BOM so that Excel opens the UTF-8 accents correctly.
    let mut out = vec![0xEF, 0xBB, 0xBF];
    out.extend(w.into_inner().unwrap_or_default());
    out
}

pub fn to_xlsx(title: &str, lines: &[CoverageLine]) -> Result<Vec<u8>, String> {
    use rust_xlsxwriter::{Format, Workbook};
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    let e = |e: rust_xlsxwriter::XlsxError| e.to_string();
    sheet.set_name("Cobertura").map_err(e)?;
    let bold = Format::new().set_bold();
    sheet.write_string_with_format(0, 0, title, &bold).map_err(e)?;
    for (c, h) in HEADERS.iter().enumerate() {
        sheet.write_string_with_format(2, c as u16, *h, &bold).map_err(e)?;
    }
    for (i, l) in lines.iter().enumerate() {
        let r = 3 + i as u32;
        sheet.write_string(r, 0, &l.cvegeo).map_err(e)?;
        sheet.write_string(r, 1, &l.municipality).map_err(e)?;
        sheet.write_string(r, 2, &l.region).map_err(e)?;
        sheet.write_number(r, 3, l.women as f64).map_err(e)?;
        sheet.write_number(r, 4, l.units_active as f64).map_err(e)?;
        sheet.write_string(r, 5, &l.unit_status).map_err(e)?;
        sheet.write_number(r, 6, l.safe_spaces as f64).map_err(e)?;
        match l.spaces_per_10k {
            Some(v) => sheet.write_number(r, 7, (v * 100.0).round() / 100.0).map_err(e)?,
            None => sheet.write_string(r, 7, "sin población").map_err(e)?,
        };
        sheet.write_string(r, 8, l.gaps.join("; ")).map_err(e)?;
    }
    sheet.autofit();
    book.save_to_buffer().map_err(e)
}
