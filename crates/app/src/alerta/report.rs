//! The Alerta Rosa report: per alert, how long each step took (report → activation,
//! activation → every channel posted, activation → localization), and for the period the
//! counts per year, municipality and outcome with the median times. Drills never count.

use std::collections::BTreeMap;
use violeta_domain::alerta::{AlertStatus, Spread, duration_label, to_local};
use violeta_store::alerts::AlertTiming;

/// One alert's line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub id: i64,
    pub folio: String,
    pub year: i32,
    pub cvegeo: String,
    pub municipality: String,
    pub status: AlertStatus,
    pub reported: String,
    pub report_to_activation: Option<i64>,
    pub activation_to_all_posted: Option<i64>,
    pub activation_to_localization: Option<i64>,
}

/// How many alerts, by outcome.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub total: usize,
    /// Not yet concluded (reported or active).
    pub open: usize,
    pub alive: usize,
    pub dead: usize,
    pub deactivated: usize,
}

impl Counts {
    fn add(&mut self, s: AlertStatus) {
        self.total += 1;
        match s {
            AlertStatus::LocalizadaConVida => self.alive += 1,
            AlertStatus::LocalizadaSinVida => self.dead += 1,
            AlertStatus::Desactivada => self.deactivated += 1,
            _ => self.open += 1,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Report {
    pub lines: Vec<Line>,
    pub total: Counts,
    pub by_year: Vec<(i32, Counts)>,
    /// (cvegeo, municipality, counts), most alerts first.
    pub by_municipality: Vec<(String, String, Counts)>,
    pub report_to_activation: Spread,
    pub activation_to_all_posted: Spread,
    pub activation_to_localization: Spread,
}

pub fn build(timings: &[AlertTiming]) -> Report {
    let mut r = Report::default();
    let mut years: BTreeMap<i32, Counts> = BTreeMap::new();
    let mut places: BTreeMap<String, (String, Counts)> = BTreeMap::new();
    for t in timings {
        let tl = t.timeline();
        let line = Line {
            id: t.id,
            folio: t.folio.clone(),
            year: t.year(),
            cvegeo: t.cvegeo.clone(),
            municipality: t.municipality.clone(),
            status: tl.status,
            reported: to_local(t.reported_at).format("%d/%m/%Y %H:%M").to_string(),
            report_to_activation: tl.report_to_activation(),
            activation_to_all_posted: tl.activation_to_all_posted(),
            activation_to_localization: tl.activation_to_localization(),
        };
        r.total.add(line.status);
        years.entry(line.year).or_default().add(line.status);
        places.entry(line.cvegeo.clone()).or_insert_with(|| (line.municipality.clone(), Counts::default())).1.add(line.status);
        r.lines.push(line);
    }
    r.by_year = years.into_iter().collect();
    r.by_municipality = places.into_iter().map(|(k, (name, c))| (k, name, c)).collect();
    r.by_municipality.sort_by(|a, b| b.2.total.cmp(&a.2.total).then_with(|| violeta_domain::text::search_key(&a.1).cmp(&violeta_domain::text::search_key(&b.1))));
    r.report_to_activation = Spread::of(r.lines.iter().filter_map(|l| l.report_to_activation));
    r.activation_to_all_posted = Spread::of(r.lines.iter().filter_map(|l| l.activation_to_all_posted));
    r.activation_to_localization = Spread::of(r.lines.iter().filter_map(|l| l.activation_to_localization));
    r
}

/// "2 h 05 min", or "—".
pub fn minutes_label(m: Option<i64>) -> String {
    m.map(duration_label).unwrap_or_else(|| "—".into())
}

const HEADERS: [&str; 9] = [
    "Folio",
    "Año",
    "Clave INEGI del municipio",
    "Municipio",
    "Estado del caso",
    "Reporte (hora del centro de México)",
    "Minutos del reporte a la activación",
    "Minutos de la activación a la difusión en todos los canales",
    "Minutos de la activación a la localización",
];

/// The lines as CSV (UTF-8 with BOM, for Excel): one row per alert, times in minutes.
pub fn to_csv(r: &Report) -> Vec<u8> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let _ = w.write_record(HEADERS);
    let n = |m: Option<i64>| m.map(|v| v.to_string()).unwrap_or_default();
    for l in &r.lines {
        let _ = w.write_record([
            l.folio.clone(),
            l.year.to_string(),
            l.cvegeo.clone(),
            l.municipality.clone(),
            l.status.label().to_string(),
            l.reported.clone(),
            n(l.report_to_activation),
            n(l.activation_to_all_posted),
            n(l.activation_to_localization),
        ]);
    }
    let mut out = vec![0xEF, 0xBB, 0xBF];
    out.extend(w.into_inner().unwrap_or_default());
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone, Utc};

    #[allow(clippy::too_many_arguments)]
    fn timing(id: i64, cvegeo: &str, name: &str, status: &str, year: i32, activation: i64, posted: Option<i64>, closed: Option<i64>) -> AlertTiming {
        let reported = Utc.with_ymd_and_hms(year, 5, 10, 18, 0, 0).unwrap();
        let activated = reported + Duration::minutes(activation);
        AlertTiming {
            id,
            folio: format!("AR-{year}-{id:04}"),
            status: status.into(),
            cvegeo: cvegeo.into(),
            municipality: name.into(),
            reported_at: reported,
            activated_at: Some(activated),
            disseminated_at: posted.map(|p| activated + Duration::minutes(p)),
            closed_at: closed.map(|c| activated + Duration::minutes(c)),
        }
    }

    #[test]
    fn counts_and_medians() {
        let t = [
            timing(1, "20067", "Oaxaca de Juárez", "localizada_con_vida", 2018, 60, Some(10), Some(600)),
            timing(2, "20067", "Oaxaca de Juárez", "localizada_sin_vida", 2019, 120, Some(20), Some(3000)),
            timing(3, "20413", "Santa Lucía del Camino", "desactivada", 2019, 30, None, Some(100)),
            timing(4, "20413", "Santa Lucía del Camino", "activada", 2019, 90, None, None),
            timing(5, "20067", "Oaxaca de Juárez", "localizada_con_vida", 2019, 45, Some(5), Some(200)),
        ];
        let r = build(&t);
        assert_eq!(r.total, Counts { total: 5, open: 1, alive: 2, dead: 1, deactivated: 1 });
        assert_eq!(r.by_year, [(2018, Counts { total: 1, open: 0, alive: 1, dead: 0, deactivated: 0 }), (2019, Counts { total: 4, open: 1, alive: 1, dead: 1, deactivated: 1 })]);
        assert_eq!(r.by_municipality[0].1, "Oaxaca de Juárez");
        assert_eq!(r.by_municipality[0].2.total, 3);
        assert_eq!(r.report_to_activation, Spread { count: 5, median: Some(60), min: Some(30), max: Some(120) });
        assert_eq!(r.activation_to_all_posted.median, Some(10));
        assert_eq!(r.activation_to_localization, Spread { count: 3, median: Some(600), min: Some(200), max: Some(3000) }, "deactivations are not localizations");
        let csv = String::from_utf8(to_csv(&r)).unwrap();
        assert!(csv.starts_with('\u{feff}'));
        assert!(csv.contains("AR-2018-0001,2018,20067,Oaxaca de Juárez,Localizada con vida,10/05/2018 12:00,60,10,600"), "{csv}");
        assert!(csv.contains("AR-2019-0003,2019,20413,Santa Lucía del Camino,Desactivada,10/05/2019 12:00,30,,"), "{csv}");
    }
}
