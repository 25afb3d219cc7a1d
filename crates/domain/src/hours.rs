//! Opening hours, as people write them on a sign: "lun-vie 09:00-18:00; sáb 10:00-14:00",
//! or "24 horas". Parsed once, then asked "is it open at this moment?".

use chrono::{Datelike, NaiveDateTime, Timelike, Weekday};
use serde::{Serialize, Serializer};
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpeningHours {
    /// For each weekday (Monday = 0), the open intervals in minutes from midnight. An
    /// interval may end past midnight (end > 1440) for night opening.
    days: [Vec<(u16, u16)>; 7],
    text: String,
}

const DAYS: [(&str, Weekday); 7] = [
    ("lun", Weekday::Mon),
    ("mar", Weekday::Tue),
    ("mie", Weekday::Wed),
    ("jue", Weekday::Thu),
    ("vie", Weekday::Fri),
    ("sab", Weekday::Sat),
    ("dom", Weekday::Sun),
];

fn day_index(word: &str) -> Option<usize> {
    let k = crate::text::search_key(word);
    let k: String = k.chars().take(3).collect();
    DAYS.iter().position(|(d, _)| *d == k)
}

fn minutes(s: &str) -> Option<u16> {
    let (h, m) = s.trim().split_once(':').unwrap_or((s.trim(), "0"));
    let (h, m) = (h.parse::<u16>().ok()?, m.parse::<u16>().ok()?);
    (h <= 24 && m < 60 && h * 60 + m <= 1440).then_some(h * 60 + m)
}

impl OpeningHours {
    /// Parses a schedule. Errors are in Spanish and quote the part that failed.
    pub fn parse(input: &str) -> Result<OpeningHours, String> {
        let text = crate::text::clean(input);
        let mut days: [Vec<(u16, u16)>; 7] = Default::default();
        let key = crate::text::search_key(&text);
        if key == "24 horas" || key == "24h" || key == "24 hrs" || key == "todos los dias 24 horas" {
            for d in days.iter_mut() {
                d.push((0, 1440));
            }
            return Ok(OpeningHours { days, text });
        }
        if text.is_empty() {
            return Err("indique el horario, por ejemplo «lun-vie 09:00-18:00; sáb 10:00-14:00» o «24 horas»".into());
        }
        for part in text.split(';').map(str::trim).filter(|p| !p.is_empty()) {
            let bad = || format!("no se entiende «{part}»; escriba días y horas, por ejemplo «lun-vie 09:00-18:00»");
            let (day_spec, time_spec) = part.split_once(' ').ok_or_else(bad)?;
            let mut selected = [false; 7];
            for piece in day_spec.split(',') {
                match piece.split_once('-') {
                    Some((a, b)) => {
                        let (a, b) = (day_index(a).ok_or_else(bad)?, day_index(b).ok_or_else(bad)?);
                        let mut i = a;
                        loop {
                            selected[i] = true;
                            if i == b {
                                break;
                            }
                            i = (i + 1) % 7;
                        }
                    }
                    None => selected[day_index(piece).ok_or_else(bad)?] = true,
                }
            }
            for range in time_spec.split(',').map(str::trim) {
                let (a, b) = range.split_once('-').ok_or_else(bad)?;
                let (start, mut end) = (minutes(a).ok_or_else(bad)?, minutes(b).ok_or_else(bad)?);
                if end <= start {
                    end += 1440; // closes after midnight
                }
                for (i, on) in selected.iter().enumerate() {
                    if *on {
                        days[i].push((start, end));
                    }
                }
            }
        }
        Ok(OpeningHours { days, text })
    }

    /// Whether it is open at a local (Mexico City) time.
    pub fn is_open(&self, at: NaiveDateTime) -> bool {
        let day = at.weekday().num_days_from_monday() as usize;
        let minute = (at.hour() * 60 + at.minute()) as u16;
        let today = self.days[day].iter().any(|(s, e)| *s <= minute && minute < *e);
        let yesterday = self.days[(day + 6) % 7].iter().any(|(_, e)| *e > 1440 && minute < e - 1440);
        today || yesterday
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl fmt::Display for OpeningHours {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl Serialize for OpeningHours {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text)
    }
}

/// Local time in central Mexico, which has kept UTC−6 all year since 2022.
pub fn mexico_city_now() -> NaiveDateTime {
    mexico_city_time(chrono::Utc::now())
}

/// An instant as central Mexico's clock reads it.
pub fn mexico_city_time(t: chrono::DateTime<chrono::Utc>) -> NaiveDateTime {
    (t - chrono::Duration::hours(6)).naive_utc()
}

/// The calendar day of an instant in central Mexico.
pub fn mexico_city_date(t: chrono::DateTime<chrono::Utc>) -> chrono::NaiveDate {
    mexico_city_time(t).date()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn at(y: i32, m: u32, d: u32, h: u32, min: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(y, m, d).unwrap().and_hms_opt(h, min, 0).unwrap()
    }

    #[test]
    fn weekday_ranges() {
        // 2026-11-23 is a Monday.
        let h = OpeningHours::parse("Lun-Vie 09:00-18:00; sáb 10:00-14:00").unwrap();
        assert!(h.is_open(at(2026, 11, 23, 9, 0)));
        assert!(!h.is_open(at(2026, 11, 23, 18, 0)));
        assert!(h.is_open(at(2026, 11, 28, 13, 59)));
        assert!(!h.is_open(at(2026, 11, 29, 12, 0)), "Sunday closed");
    }

    #[test]
    fn night_and_all_day() {
        let night = OpeningHours::parse("vie-sab 20:00-02:00").unwrap();
        assert!(night.is_open(at(2026, 11, 27, 23, 0)));
        assert!(night.is_open(at(2026, 11, 28, 1, 30)), "Friday night into Saturday");
        assert!(!night.is_open(at(2026, 11, 27, 3, 0)));
        let always = OpeningHours::parse("24 horas").unwrap();
        assert!(always.is_open(at(2026, 11, 29, 3, 0)));
    }

    #[test]
    fn errors_quote_the_part() {
        let e = OpeningHours::parse("lunes a viernes 9 a 6").unwrap_err();
        assert!(e.contains("no se entiende"), "{e}");
        assert!(OpeningHours::parse("").is_err());
        assert!(OpeningHours::parse("lun 25:00-26:00").is_err());
    }
}
