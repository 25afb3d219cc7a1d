//! Lesson text: Markdown to HTML, safely. Raw HTML in the source is shown as text, links
//! may only be http(s), mailto or the course's own files (`archivos/NAME`, rewritten to
//! the course's file route), so an author cannot put a script in a learner's page.

use pulldown_cmark::{CowStr, Event, Options, Parser, Tag, html};

pub fn render(source: &str, course_id: i64) -> String {
    let options = Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_HEADING_ATTRIBUTES;
    let safe = |url: CowStr<'static>| -> CowStr<'static> {
        let u = url.trim();
        if let Some(name) = u.strip_prefix("archivos/") {
            return format!("/cursos/{course_id}/archivos/{name}").into();
        }
        if u.starts_with("https://") || u.starts_with("http://") || u.starts_with("mailto:") || u.starts_with('#') {
            url
        } else {
            "#".into()
        }
    };
    let events = Parser::new_ext(source, options).map(|event| match event {
        Event::Html(t) | Event::InlineHtml(t) => Event::Text(t),
        Event::Start(Tag::Link { link_type, dest_url, title, id }) => {
            Event::Start(Tag::Link { link_type, dest_url: safe(dest_url.into_static()), title, id })
        }
        Event::Start(Tag::Image { link_type, dest_url, title, id }) => {
            Event::Start(Tag::Image { link_type, dest_url: safe(dest_url.into_static()), title, id })
        }
        other => other,
    });
    let mut out = String::with_capacity(source.len() * 3 / 2);
    html::push_html(&mut out, events);
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn scripts_and_script_links_do_not_pass() {
        let html = super::render("<script>alert(1)</script>\n\n[x](javascript:alert(1)) ![f](archivos/foto.png)", 7);
        assert!(!html.contains("<script>"), "{html}");
        assert!(html.contains("&lt;script&gt;"));
        assert!(html.contains("href=\"#\""));
        assert!(html.contains("src=\"/cursos/7/archivos/foto.png\""));
    }
}
