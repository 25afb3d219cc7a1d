//! Coordinates: where a place may be, and how far it is from its municipality's head town.

use serde::{Deserialize, Serialize};

/// A point in WGS 84 degrees.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Point {
    pub lat: f64,
    pub lon: f64,
}

/// Mexico's extreme points (INEGI), with a small margin for the coastline: a point outside
/// this box is certainly not in Mexico.
const MEXICO_LAT: (f64, f64) = (14.4, 32.8);
const MEXICO_LON: (f64, f64) = (-118.5, -86.6);

/// Past this distance from the head town a place is flagged for confirmation: the largest
/// Oaxacan municipalities span a few tens of kilometres.
pub const FLAG_DISTANCE_KM: f64 = 40.0;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PointError {
    #[error("la latitud y la longitud deben ser números (por ejemplo 17.0600 y -96.7254)")]
    NotANumber,
    #[error("las coordenadas ({lat}, {lon}) quedan fuera de México; revise que la longitud sea negativa y no estén invertidas")]
    OutsideMexico { lat: f64, lon: f64 },
}

impl Point {
    /// Parses and checks that the point lies in Mexico.
    pub fn parse(lat: &str, lon: &str) -> Result<Point, PointError> {
        let parse = |s: &str| s.trim().replace(',', ".").parse::<f64>().map_err(|_| PointError::NotANumber);
        Point::new(parse(lat)?, parse(lon)?)
    }

    pub fn new(lat: f64, lon: f64) -> Result<Point, PointError> {
        if !lat.is_finite() || !lon.is_finite() {
            return Err(PointError::NotANumber);
        }
        if !(MEXICO_LAT.0..=MEXICO_LAT.1).contains(&lat) || !(MEXICO_LON.0..=MEXICO_LON.1).contains(&lon) {
            return Err(PointError::OutsideMexico { lat, lon });
        }
        Ok(Point { lat, lon })
    }

    /// Great-circle distance in kilometres (haversine).
    pub fn distance_km(&self, other: &Point) -> f64 {
        const R: f64 = 6_371.0;
        let (p1, p2) = (self.lat.to_radians(), other.lat.to_radians());
        let dp = (other.lat - self.lat).to_radians();
        let dl = (other.lon - self.lon).to_radians();
        let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
        2.0 * R * a.sqrt().asin()
    }
}

/// Why a point deserves a second look, in Spanish, or `None` when it is plausible.
/// Without head-town coordinates (INEGI lacks some) nothing can be said.
pub fn distance_warning(point: &Point, head_town: Option<Point>, municipality: &str) -> Option<String> {
    let head = head_town?;
    let d = point.distance_km(&head);
    (d > FLAG_DISTANCE_KM).then(|| {
        format!("el punto queda a {d:.0} km de la cabecera de {municipality}; confirme que las coordenadas y el municipio son correctos")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_points_outside_mexico() {
        assert!(Point::parse("17.06", "-96.72").is_ok());
        assert!(matches!(Point::parse("-96.72", "17.06"), Err(PointError::OutsideMexico { .. })), "swapped");
        assert!(matches!(Point::parse("17.06", "96.72"), Err(PointError::OutsideMexico { .. })), "positive longitude");
        assert_eq!(Point::parse("abc", "1"), Err(PointError::NotANumber));
        assert!(Point::parse("17,06", "-96,72").is_ok(), "decimal comma");
    }

    #[test]
    fn distance_and_warning() {
        let oaxaca = Point::new(17.059993, -96.72545).unwrap();
        let huatulco = Point::new(15.836111, -96.322092).unwrap();
        let d = oaxaca.distance_km(&huatulco);
        assert!((140.0..150.0).contains(&d), "{d}");
        assert!(distance_warning(&huatulco, Some(oaxaca), "Oaxaca de Juárez").unwrap().contains("km de la cabecera"));
        assert_eq!(distance_warning(&oaxaca, Some(oaxaca), "Oaxaca de Juárez"), None);
        assert_eq!(distance_warning(&huatulco, None, "X"), None);
    }
}
