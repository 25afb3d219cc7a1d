//! Courses' content (modules, items, the course summary and lessons rendered from Markdown),
//! kept in memory per course revision. The content is the same for every learner and changes
//! only when its authors edit it; each change raises the course's revision in its own
//! transaction, and learners' pages read the revision with their own rows (one query), so a
//! page never shows content older than the revision it read — on one server or many.

use crate::markdown;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use violeta_store::learning::{Content, Course};
use violeta_store::{Store, StoreError};

/// Courses remembered at most; past it the memory starts over.
const CAPACITY: usize = 512;

/// One course's content at one revision.
pub struct CourseContent {
    pub revision: i64,
    pub content: Content,
    pub summary_html: String,
    /// Each lesson's body, rendered.
    lessons_html: HashMap<i64, String>,
}

impl CourseContent {
    pub fn lesson_html(&self, item_id: i64) -> &str {
        self.lessons_html.get(&item_id).map(String::as_str).unwrap_or("")
    }
}

#[derive(Default)]
pub struct CourseCache {
    courses: RwLock<HashMap<i64, Arc<CourseContent>>>,
}

impl CourseCache {
    /// The content of `course` at the revision just read with it. Content read after the
    /// revision can only be newer; it is then cached under the older revision and replaced
    /// on the next request, which reads the newer one.
    pub async fn content(&self, store: &Store, course: &Course) -> Result<Arc<CourseContent>, StoreError> {
        if let Some(hit) = self.courses.read().expect("course cache").get(&course.id).filter(|c| c.revision == course.revision) {
            return Ok(hit.clone());
        }
        let content = store.course_content(course.id).await?;
        let lessons_html = content.items().filter(|i| !i.is_quiz()).map(|i| (i.id, markdown::render(&i.body, course.id))).collect();
        let fresh = Arc::new(CourseContent { revision: course.revision, summary_html: markdown::render(&course.summary, course.id), content, lessons_html });
        let mut courses = self.courses.write().expect("course cache");
        if courses.len() >= CAPACITY {
            courses.clear();
        }
        courses.insert(course.id, fresh.clone());
        Ok(fresh)
    }
}
