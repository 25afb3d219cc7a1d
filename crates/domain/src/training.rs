//! Training sessions and attendance, and the three counts reports must never mix.

use sha2::{Digest, Sha256};

coded_enum!(
    Modality {
        Presencial => ("presencial", "Presencial"),
        Virtual => ("virtual", "Virtual"),
        Hibrida => ("hibrida", "Híbrida"),
    }
);

coded_enum!(
    SessionStatus {
        Planeada => ("planeada", "Planeada"),
        Realizada => ("realizada", "Realizada"),
        Cancelada => ("cancelada", "Cancelada"),
    }
);

coded_enum!(
    AttendanceStatus {
        Asistio => ("asistio", "Asistió"),
        Retardo => ("retardo", "Retardo"),
        Justificada => ("justificada", "Falta justificada"),
        Falto => ("falto", "Faltó"),
    }
);

coded_enum!(
    /// Who a session is for.
    Audience {
        Ayuntamiento => ("ayuntamiento", "Ayuntamiento"),
        DependenciaEstatal => ("dependencia_estatal", "Dependencia estatal"),
        PoliciaEstatal => ("policia_estatal", "Policía estatal"),
        PoliciaMunicipal => ("policia_municipal", "Policía municipal"),
        Topiles => ("topiles", "Topiles"),
        SectorPrivado => ("sector_privado", "Sector privado"),
        Otro => ("otro", "Otro público"),
    }
);

impl AttendanceStatus {
    /// Whether the person was there: only then does the attendance count.
    pub fn attended(self) -> bool {
        matches!(self, AttendanceStatus::Asistio | AttendanceStatus::Retardo)
    }
}

/// The three counts behind every training figure, each with the definition printed beside
/// it. They measure different things and are never added to one another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Count {
    /// Unique people who attended at least one session held.
    PersonasCapacitadas,
    /// Attendances: one per person and session held.
    Participaciones,
    /// Sessions held.
    CapacitacionesImpartidas,
}

impl Count {
    pub const ALL: [Count; 3] = [Count::PersonasCapacitadas, Count::Participaciones, Count::CapacitacionesImpartidas];
    pub fn label(self) -> &'static str {
        match self {
            Count::PersonasCapacitadas => "Personas capacitadas",
            Count::Participaciones => "Participaciones",
            Count::CapacitacionesImpartidas => "Capacitaciones impartidas",
        }
    }
    pub fn definition(self) -> &'static str {
        match self {
            Count::PersonasCapacitadas => {
                "Personas distintas que asistieron (a tiempo o con retardo) al menos a una capacitación realizada en el periodo. Cada persona cuenta una sola vez, aunque haya asistido a varias."
            }
            Count::Participaciones => {
                "Asistencias registradas (a tiempo o con retardo) en capacitaciones realizadas en el periodo. Una persona que asistió a tres capacitaciones suma tres participaciones."
            }
            Count::CapacitacionesImpartidas => {
                "Capacitaciones con estado «realizada» cuya primera fecha cae en el periodo, sin importar cuántas personas asistieron."
            }
        }
    }
}

/// Length of a check-in code window: the code shown at the venue changes this often.
pub const CHECKIN_WINDOW_SECONDS: i64 = 30;

/// The six-digit code a venue screen shows at `unix_seconds`. It depends on the session's
/// secret and the current 30-second window, so a code shared from home is soon useless.
pub fn checkin_code(secret: &str, unix_seconds: i64) -> String {
    code_for_window(secret, unix_seconds.div_euclid(CHECKIN_WINDOW_SECONDS))
}

fn code_for_window(secret: &str, window: i64) -> String {
    let digest = Sha256::new().chain_update(secret.as_bytes()).chain_update(b":").chain_update(window.to_be_bytes()).finalize();
    let n = u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]]) % 1_000_000;
    format!("{n:06}")
}

/// Accepts the current code and the previous window's (someone who scanned just before it
/// changed).
pub fn checkin_code_is_valid(secret: &str, code: &str, unix_seconds: i64) -> bool {
    let window = unix_seconds.div_euclid(CHECKIN_WINDOW_SECONDS);
    let code = code.trim();
    [window, window - 1].iter().any(|w| code_for_window(secret, *w) == code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_rotate_and_tolerate_one_window() {
        let t = 1_800_000_000;
        let c = checkin_code("s3cr3t", t);
        assert_eq!(c.len(), 6);
        assert!(checkin_code_is_valid("s3cr3t", &c, t));
        assert!(checkin_code_is_valid("s3cr3t", &c, t + CHECKIN_WINDOW_SECONDS), "previous window still accepted");
        assert!(!checkin_code_is_valid("s3cr3t", &c, t + 3 * CHECKIN_WINDOW_SECONDS), "old code expires");
        assert!(!checkin_code_is_valid("otro", &c, t), "other session's secret");
    }

    #[test]
    fn counts_have_definitions_and_statuses_parse() {
        for c in Count::ALL {
            assert!(c.definition().len() > 40);
        }
        assert_eq!(AttendanceStatus::parse("Asistió"), Some(AttendanceStatus::Asistio));
        assert!(AttendanceStatus::Retardo.attended());
        assert!(!AttendanceStatus::Justificada.attended());
        assert_eq!(Modality::parse("híbrida"), Some(Modality::Hibrida));
        assert_eq!(Audience::parse("topiles"), Some(Audience::Topiles));
    }
}
