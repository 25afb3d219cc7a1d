//! AVGM coverage: for each municipality under a declaration, what is in place (rapid-reaction
//! units, espacios seguros), the rate per 10,000 women inhabitants (2020 Census), and the gaps.
//! Exported as CSV and XLSX with the same columns the page shows.

use serde::Serialize;
use violeta_domain::safety::UnitStatus;
use violeta_domain::territory::rate_per_10k_women;
use violeta_store::safety::CoverageRow;
use violeta_store::training::TrainedPolice;

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
    /// Police registered here who attended a held session on each protocol: (protocol, people).
    pub trained_police: Vec<(String, i64)>,
    /// Gaps, in Spanish: "sin unidad activa", "sin espacios seguros".
    pub gaps: Vec<&'static str>,
}

/// Builds the coverage lines from the store's rows and the trained-police counts
/// (`Store::trained_police`), both computed from records.
pub fn lines(rows: Vec<CoverageRow>, trained: &[TrainedPolice]) -> Vec<CoverageLine> {
    rows.into_iter()
        .map(|r| {
            let trained_police: Vec<(String, i64)> =
                trained.iter().filter(|t| t.cvegeo == r.cvegeo).map(|t| (t.protocol.clone(), t.people)).collect();
            let mut gaps = Vec::new();
            if r.units_active == 0 {
                gaps.push("sin unidad activa");
            }
            if r.safe_spaces == 0 {
                gaps.push("sin espacios seguros");
            }
            if trained_police.is_empty() {
                gaps.push("sin policías capacitados");
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
                trained_police,
                gaps,
            }
        })
        .collect()
}

const HEADERS: [&str; 10] = [
    "Clave INEGI",
    "Municipio",
    "Región",
    "Mujeres (Censo 2020)",
    "Unidades activas",
    "Estado de las unidades",
    "Espacios seguros activos",
    "Espacios por 10,000 mujeres",
    "Policías capacitados por protocolo",
    "Brechas",
];

/// "Protocolo de actuación policial: 12; Otro: 3", or "ninguno".
pub fn trained_text(l: &CoverageLine) -> String {
    if l.trained_police.is_empty() {
        return "ninguno".into();
    }
    l.trained_police.iter().map(|(p, n)| format!("{p}: {n}")).collect::<Vec<_>>().join("; ")
}

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
            trained_text(l),
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
        sheet.write_string(r, 8, trained_text(l)).map_err(e)?;
        sheet.write_string(r, 9, l.gaps.join("; ")).map_err(e)?;
    }
    sheet.autofit();
    book.save_to_buffer().map_err(e)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(cvegeo: &str, units: i64, spaces: i64, women: i64) -> CoverageRow {
        CoverageRow {
            cvegeo: cvegeo.into(),
            municipality: format!("M{cvegeo}"),
            region: None,
            population_women: women,
            head_lat: None,
            head_lon: None,
            units_active: units,
            unit_statuses: if units > 0 { "activa".into() } else { String::new() },
            safe_spaces: spaces,
        }
    }

    #[test]
    fn gaps_rates_and_trained_police_come_from_records() {
        let trained = vec![TrainedPolice { cvegeo: "20067".into(), protocol: "Protocolo policial".into(), people: 12 }];
        let l = lines(vec![row("20067", 1, 25, 145_103), row("20390", 0, 0, 0)], &trained);
        assert!(l[0].gaps.is_empty());
        assert_eq!(trained_text(&l[0]), "Protocolo policial: 12");
        assert!((l[0].spaces_per_10k.unwrap() - 1.7229).abs() < 0.001);
        assert_eq!(l[1].gaps, vec!["sin unidad activa", "sin espacios seguros", "sin policías capacitados"]);
        assert_eq!(l[1].spaces_per_10k, None, "no population, no rate");
        assert_eq!(l[1].unit_status, "Sin unidad");
        let csv = String::from_utf8(to_csv(&l)).unwrap();
        assert!(csv.starts_with('\u{feff}') && csv.contains("Policías capacitados por protocolo"));
        assert!(to_xlsx("Cobertura", &l).unwrap().starts_with(b"PK"), "an xlsx is a zip");
    }
}
