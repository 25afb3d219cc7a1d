//! The public feeds of Alerta Rosa: a CAP 1.2 message per alert (OASIS Common Alerting
//! Protocol, valid against `data/cap/CAP-v1.2.xsd`) and an Atom index of the active ones.
//!
//! While an alert is active its message carries her description, the area (the municipality
//! with its INEGI key and a circle around the last-seen place) and her photo as a resource.
//! Once it concludes, the message (an Update when she was located, a Cancel when the alert
//! was deactivated) says only that it concluded: no name, no photo, no place.

use chrono::{DateTime, SecondsFormat, Utc};
use violeta_domain::alerta::{CALL_TO_ACTION, PublicFacts, Translation, to_local};
use violeta_domain::geo::Point;

/// The media type CAP messages are served with.
pub const CAP_CONTENT_TYPE: &str = "application/cap+xml; charset=utf-8";
pub const ATOM_CONTENT_TYPE: &str = "application/atom+xml; charset=utf-8";
/// CAP's event for every Alerta Rosa message.
pub const EVENT: &str = "Alerta Rosa: búsqueda de una mujer o niña desaparecida";
const SENDER_NAME: &str = "Alerta Rosa";

/// A message as issued: who, which, when, what kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issued {
    pub identifier: String,
    pub sender: String,
    pub sent_at: DateTime<Utc>,
    /// `Alert`, `Update` or `Cancel`.
    pub msg_type: String,
}

/// What an active alert's message says.
pub struct Active<'a> {
    pub facts: &'a PublicFacts,
    pub cvegeo: &'a str,
    /// The centre of the search area (the last-seen place, or the head town).
    pub center: Option<Point>,
    pub radius_km: f64,
    pub page_url: &'a str,
    /// The photo's public address and size in bytes.
    pub photo: Option<(&'a str, i64)>,
    /// The square ficha's public address.
    pub ficha_url: Option<&'a str>,
    pub translations: &'a [Translation],
}

/// What a concluded alert's message says: nothing about her.
pub struct Concluded<'a> {
    pub folio: &'a str,
    pub municipality: &'a str,
    pub state: &'a str,
    pub cvegeo: &'a str,
    pub page_url: &'a str,
}

pub enum Body<'a> {
    Active(Active<'a>),
    Concluded(Concluded<'a>),
}

/// Escapes text for XML content and attributes.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Control characters are not allowed in XML 1.0.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// CAP's date-time: central Mexico time with its offset, `2026-03-03T18:40:00-06:00`.
pub fn cap_time(t: DateTime<Utc>) -> String {
    to_local(t).format("%Y-%m-%dT%H:%M:%S-06:00").to_string()
}

fn element(out: &mut String, indent: &str, name: &str, text: &str) {
    out.push_str(&format!("{indent}<{name}>{}</{name}>\n", escape(text)));
}

/// The CAP message `msg` for an alert; `earlier` are the messages issued before it, which
/// it references.
pub fn message(msg: &Issued, earlier: &[Issued], body: &Body<'_>) -> String {
    let mut out = String::with_capacity(4096);
    out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<alert xmlns=\"urn:oasis:names:tc:emergency:cap:1.2\">\n");
    element(&mut out, "  ", "identifier", &msg.identifier);
    element(&mut out, "  ", "sender", &msg.sender);
    element(&mut out, "  ", "sent", &cap_time(msg.sent_at));
    element(&mut out, "  ", "status", "Actual");
    element(&mut out, "  ", "msgType", &msg.msg_type);
    element(&mut out, "  ", "scope", "Public");
    if !earlier.is_empty() {
        let refs: Vec<String> = earlier.iter().map(|m| format!("{},{},{}", m.sender, m.identifier, cap_time(m.sent_at))).collect();
        element(&mut out, "  ", "references", &refs.join(" "));
    }
    match body {
        Body::Active(a) => {
            element(&mut out, "  ", "incidents", &a.facts.folio);
            active_info(&mut out, a, None);
            for t in a.translations {
                active_info(&mut out, a, Some(t));
            }
        }
        Body::Concluded(c) => {
            element(&mut out, "  ", "incidents", c.folio);
            concluded_info(&mut out, c);
        }
    }
    out.push_str("</alert>\n");
    out
}

fn info_head(out: &mut String, language: &str, response: &str, urgency: &str, severity: &str) {
    out.push_str("  <info>\n");
    element(out, "    ", "language", language);
    element(out, "    ", "category", "Rescue");
    element(out, "    ", "event", EVENT);
    element(out, "    ", "responseType", response);
    element(out, "    ", "urgency", urgency);
    element(out, "    ", "severity", severity);
    element(out, "    ", "certainty", "Observed");
    element(out, "    ", "senderName", SENDER_NAME);
}

fn active_info(out: &mut String, a: &Active<'_>, translation: Option<&Translation>) {
    let f = a.facts;
    info_head(out, translation.map(|t| t.language.as_str()).unwrap_or("es-MX"), "Monitor", "Immediate", "Severe");
    match translation {
        None => {
            element(out, "    ", "headline", &f.headline());
            element(out, "    ", "description", &f.description());
            element(out, "    ", "instruction", &format!("{CALL_TO_ACTION} {}.", f.hotline));
        }
        Some(t) => {
            element(out, "    ", "headline", &format!("{} {} — {}", t.heading, f.folio, f.full_name));
            element(out, "    ", "description", &t.body);
            let cta = if t.call_to_action.is_empty() { CALL_TO_ACTION } else { t.call_to_action.as_str() };
            element(out, "    ", "instruction", &format!("{cta} {}.", f.hotline));
        }
    }
    element(out, "    ", "web", a.page_url);
    element(out, "    ", "contact", &f.hotline);
    if let Some((uri, size)) = a.photo {
        out.push_str("    <resource>\n");
        element(out, "      ", "resourceDesc", &format!("Fotografía de {}", f.full_name));
        element(out, "      ", "mimeType", "image/jpeg");
        element(out, "      ", "size", &size.to_string());
        element(out, "      ", "uri", uri);
        out.push_str("    </resource>\n");
    }
    if let Some(uri) = a.ficha_url {
        out.push_str("    <resource>\n");
        element(out, "      ", "resourceDesc", &format!("Ficha de búsqueda {}", f.folio));
        element(out, "      ", "mimeType", "image/png");
        element(out, "      ", "uri", uri);
        out.push_str("    </resource>\n");
    }
    out.push_str("    <area>\n");
    element(out, "      ", "areaDesc", &format!("{}, {}", f.municipality, f.state));
    if let Some(c) = a.center {
        element(out, "      ", "circle", &format!("{:.5},{:.5} {:.1}", c.lat, c.lon, a.radius_km));
    }
    geocode(out, a.cvegeo);
    out.push_str("    </area>\n  </info>\n");
}

fn concluded_info(out: &mut String, c: &Concluded<'_>) {
    info_head(out, "es-MX", "AllClear", "Past", "Minor");
    element(out, "    ", "headline", &format!("Alerta Rosa {}: concluida", c.folio));
    element(
        out,
        "    ",
        "description",
        &format!("La Alerta Rosa {} concluyó. Por su seguridad y privacidad, sus datos y su fotografía se retiraron; por favor, deje de compartir la ficha.", c.folio),
    );
    element(out, "    ", "web", c.page_url);
    out.push_str("    <area>\n");
    element(out, "      ", "areaDesc", &format!("{}, {}", c.municipality, c.state));
    geocode(out, c.cvegeo);
    out.push_str("    </area>\n  </info>\n");
}

fn geocode(out: &mut String, cvegeo: &str) {
    out.push_str("      <geocode>\n");
    element(out, "        ", "valueName", "INEGI");
    element(out, "        ", "value", cvegeo);
    out.push_str("      </geocode>\n");
}

/// An entry of the Atom index: one active alert.
pub struct Entry<'a> {
    pub facts: &'a PublicFacts,
    pub page_url: String,
    pub cap_url: String,
    pub updated: DateTime<Utc>,
}

fn atom_time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// The Atom index of active alerts, each entry pointing at its CAP message (the usual CAP
/// index form) and at its public page. `updated`: the last change to any of them.
pub fn atom(base_url: &str, entries: &[Entry<'_>], updated: DateTime<Utc>) -> String {
    let mut out = String::with_capacity(1024 + entries.len() * 1024);
    out.push_str("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\" xml:lang=\"es-MX\">\n");
    element(&mut out, "  ", "id", &format!("{base_url}/alertas.atom"));
    element(&mut out, "  ", "title", "Alerta Rosa: alertas activas");
    element(&mut out, "  ", "subtitle", "Mujeres y niñas desaparecidas a quienes se busca ahora. Cada entrada enlaza su mensaje CAP 1.2.");
    element(&mut out, "  ", "updated", &atom_time(updated));
    out.push_str(&format!("  <author><name>{}</name></author>\n", escape(SENDER_NAME)));
    out.push_str(&format!("  <link rel=\"self\" type=\"application/atom+xml\" href=\"{}\"/>\n", escape(&format!("{base_url}/alertas.atom"))));
    out.push_str(&format!("  <link rel=\"alternate\" type=\"text/html\" href=\"{}\"/>\n", escape(&format!("{base_url}/alertas"))));
    for e in entries {
        out.push_str("  <entry>\n");
        element(&mut out, "    ", "id", &e.page_url);
        element(&mut out, "    ", "title", &e.facts.headline());
        element(&mut out, "    ", "updated", &atom_time(e.updated));
        out.push_str(&format!("    <link rel=\"alternate\" type=\"application/cap+xml\" href=\"{}\"/>\n", escape(&e.cap_url)));
        out.push_str(&format!("    <link rel=\"related\" type=\"text/html\" href=\"{}\"/>\n", escape(&e.page_url)));
        element(&mut out, "    ", "summary", &e.facts.description());
        out.push_str("  </entry>\n");
    }
    out.push_str("</feed>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn issued(n: u32, kind: &str) -> Issued {
        Issued {
            identifier: format!("AR-2026-0001-M{n}"),
            sender: "alerta-rosa@violeta.example.gob.mx".into(),
            sent_at: Utc.with_ymd_and_hms(2026, 3, 4, 1, n, 0).unwrap(),
            msg_type: kind.into(),
        }
    }

    #[test]
    fn active_message_has_the_required_parts() {
        let facts = crate::alerta::ficha::tests::facts();
        let t = Translation { language: "zap".into(), language_name: "Zapoteco".into(), heading: "¡Gacanenu!".into(), body: "Cuerpo <&>".into(), call_to_action: String::new() };
        let a = Active {
            facts: &facts,
            cvegeo: "20067",
            center: Some(Point { lat: 17.061, lon: -96.726 }),
            radius_km: 10.0,
            page_url: "https://v.mx/alertas/AR-2026-0001",
            photo: Some(("https://v.mx/alertas/AR-2026-0001/foto.jpg", 48211)),
            ficha_url: Some("https://v.mx/alertas/AR-2026-0001/ficha-1080x1080.png"),
            translations: std::slice::from_ref(&t),
        };
        let xml = message(&issued(2, "Update"), &[issued(1, "Alert")], &Body::Active(a));
        for part in [
            "<msgType>Update</msgType>",
            "<sent>2026-03-03T19:02:00-06:00</sent>",
            "<references>alerta-rosa@violeta.example.gob.mx,AR-2026-0001-M1,2026-03-03T19:01:00-06:00</references>",
            "<language>es-MX</language>",
            "<category>Rescue</category>",
            "<urgency>Immediate</urgency>",
            "<circle>17.06100,-96.72600 10.0</circle>",
            "<valueName>INEGI</valueName>\n        <value>20067</value>",
            "<mimeType>image/jpeg</mimeType>",
            "<size>48211</size>",
            "<language>zap</language>",
            "Cuerpo &lt;&amp;&gt;",
            "María Fernanda López Cruz",
        ] {
            assert!(xml.contains(part), "«{part}» missing from:\n{xml}");
        }
    }

    #[test]
    fn concluded_message_says_nothing_about_her() {
        let c = Concluded { folio: "AR-2026-0001", municipality: "Oaxaca de Juárez", state: "Oaxaca", cvegeo: "20067", page_url: "https://v.mx/alertas/AR-2026-0001" };
        let xml = message(&issued(3, "Cancel"), &[issued(1, "Alert"), issued(2, "Update")], &Body::Concluded(c));
        assert!(xml.contains("<msgType>Cancel</msgType>") && xml.contains("<responseType>AllClear</responseType>"));
        assert!(xml.contains("AR-2026-0001-M1") && xml.contains("AR-2026-0001-M2"));
        for absent in ["María", "<resource>", "<circle>", "foto.jpg", "Independencia"] {
            assert!(!xml.contains(absent), "«{absent}» in a concluded message:\n{xml}");
        }
    }

    #[test]
    fn atom_index() {
        let facts = crate::alerta::ficha::tests::facts();
        let e = Entry { facts: &facts, page_url: "https://v.mx/alertas/AR-2026-0001".into(), cap_url: "https://v.mx/alertas/AR-2026-0001/cap.xml".into(), updated: Utc.with_ymd_and_hms(2026, 3, 4, 1, 0, 0).unwrap() };
        let xml = atom("https://v.mx", &[e], Utc.with_ymd_and_hms(2026, 3, 4, 1, 0, 0).unwrap());
        assert!(xml.contains("<updated>2026-03-04T01:00:00Z</updated>"));
        assert!(xml.contains("type=\"application/cap+xml\" href=\"https://v.mx/alertas/AR-2026-0001/cap.xml\""));
        assert_eq!(escape("a\u{1}b"), "a b");
    }
}
