//! The learner's side of the Centro de Aprendizaje Digital: her dashboard (courses, progress,
//! where she left off, constancias), the catalogue and self-enrolment, lessons, quizzes, and
//! her own constancias. Light pages: no script, one stylesheet, work on a phone.
//!
//! A learner reaches only her own records: every enrolment is looked up from the signed-in
//! account's person, never from an id in the request.

use super::{render, render_invalid, see_other};
use crate::AppState;
use crate::auth::Ctx;
use crate::error::{AppError, PageResult};
use crate::layout::Layout;
use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::IntoResponse;
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use violeta_domain::learning::{EnrolmentSource, Grade};
use violeta_domain::person::{PersonInput, SexConvention};
use violeta_store::credentials::Signing;
use crate::course_cache::CourseContent;
use std::sync::Arc;
use violeta_domain::learning::CourseStatus;
use violeta_store::learning::{Attempt, Course, Done, Enrolment, Item, LearnerCourse, LearnerView, Question};

/// The signed-in learner's person, or a redirect to tie her account first.
fn person_of(ctx: &Ctx) -> Result<i64, AppError> {
    ctx.user.as_ref().and_then(|u| u.person_id).ok_or_else(|| AppError::Conflict("Vincule primero su cuenta con su CURP en «Mis cursos».".into()))
}

/// What signing a constancia at completion needs; `None` when this server cannot sign (the
/// completion is still recorded, and the constancia is issued later by staff).
fn signing<'a>(state: &'a AppState, base: &'a str) -> Option<Signing<'a>> {
    state.config.credential_key.as_ref().map(|master| Signing { master, base_url: base })
}

async fn enrolment(state: &AppState, ctx: &Ctx, course_id: i64) -> Result<Enrolment, AppError> {
    let person = person_of(ctx)?;
    state.store.enrolment_of(course_id, person).await?.ok_or_else(|| AppError::NotFound("no está inscrita en ese curso".into()))
}

// ----- dashboard and catalogue -----

#[derive(Template)]
#[template(path = "learn/dashboard.html")]
struct Dashboard {
    l: Layout,
    linked: bool,
    mine: Vec<LearnerCourse>,
    open: Vec<Course>,
    f: LinkForm,
    error: Option<String>,
}

impl Dashboard {
    fn completed_on(&self, c: &LearnerCourse) -> String {
        c.enrolment.completed_at.map(|d| crate::layout::date(&violeta_domain::hours::mexico_city_date(d))).unwrap_or_default()
    }
    fn resume(&self, c: &LearnerCourse) -> String {
        match c.resume_item {
            Some(item) => format!("/aprender/cursos/{}/elementos/{item}", c.course.id),
            None => format!("/aprender/cursos/{}", c.course.id),
        }
    }
}

#[derive(Deserialize, Default, Clone)]
pub struct LinkForm {
    #[serde(default)]
    curp: String,
    #[serde(default)]
    given_names: String,
    #[serde(default)]
    first_surname: String,
    #[serde(default)]
    second_surname: String,
}

#[derive(Deserialize, Default)]
pub struct NoticeQuery {
    aviso: Option<String>,
}

async fn dashboard_page(state: &AppState, ctx: &Ctx, f: LinkForm, error: Option<String>, notice: Option<&str>) -> Result<Dashboard, AppError> {
    let person = ctx.user.as_ref().and_then(|u| u.person_id);
    let mine = match person {
        Some(p) => state.store.learner_courses(p).await?,
        None => Vec::new(),
    };
    let today = violeta_domain::hours::mexico_city_now().date();
    let open = state
        .store
        .courses(Some(violeta_domain::learning::CourseStatus::Publicado))
        .await?
        .into_iter()
        .filter(|c| c.enrolment_open(today) && !mine.iter().any(|m| m.course.id == c.id))
        .collect();
    Ok(Dashboard { l: Layout::new(ctx, state, "Mis cursos").with_notice(notice), linked: person.is_some(), mine, open, f, error })
}

pub async fn dashboard(State(state): State<AppState>, ctx: Ctx, Query(q): Query<NoticeQuery>) -> PageResult {
    render(&dashboard_page(&state, &ctx, LinkForm::default(), None, q.aviso.as_deref()).await?)
}

/// Ties the account to the learner's record by CURP.
pub async fn link(State(state): State<AppState>, ctx: Ctx, Form(f): Form<LinkForm>) -> PageResult {
    let user = ctx.user.clone().ok_or(AppError::Forbidden)?;
    let input = PersonInput {
        curp: f.curp.clone(),
        given_names: f.given_names.clone(),
        first_surname: f.first_surname.clone(),
        second_surname: f.second_surname.clone(),
        email: user.email.clone(),
        ..Default::default()
    };
    let draft = match input.validate(SexConvention::MujerHombre) {
        Ok(d) => d,
        Err(errors) => {
            let msg = errors.into_iter().map(|e| e.message).collect::<Vec<_>>().join("; ");
            return render_invalid(&dashboard_page(&state, &ctx, f, Some(msg), None).await?);
        }
    };
    match state.store.link_learner(&ctx.actor(), user.id, &user.email, &draft).await {
        Ok(_) => see_other("/aprender", "vinculada"),
        Err(e @ (violeta_store::StoreError::Conflict(_) | violeta_store::StoreError::Invalid(_))) => {
            render_invalid(&dashboard_page(&state, &ctx, f, Some(e.to_string()), None).await?)
        }
        Err(e) => Err(e.into()),
    }
}

// ----- a course -----

#[derive(Template)]
#[template(path = "learn/course.html")]
struct CoursePage {
    l: Layout,
    course: Course,
    cached: Arc<CourseContent>,
    enrolment: Option<Enrolment>,
    done: BTreeMap<i64, bool>,
    percent: i64,
    folio: Option<String>,
    open: bool,
}

impl CoursePage {
    fn is_done(&self, item: &Item) -> bool {
        self.done.get(&item.id).copied().unwrap_or(false)
    }
}

/// A course's page: one query for her rows (enrolment, what she has done, constancia) besides
/// the session's; the content is cached by the course's revision.
pub async fn course(State(state): State<AppState>, ctx: Ctx, Path(id): Path<i64>, Query(q): Query<NoticeQuery>) -> PageResult {
    let view = match ctx.user.as_ref().and_then(|u| u.person_id) {
        Some(person) => state.store.learner_view(id, person).await?,
        None => LearnerView { course: state.store.course_light(id).await?, enrolment: None, done: Default::default(), folio: None },
    };
    let LearnerView { course, enrolment, done, folio } = view;
    // Drafts are for their authors; a learner sees published courses and those she took.
    if course.status() == CourseStatus::Borrador || (course.status() == CourseStatus::Archivado && enrolment.is_none()) {
        return Err(AppError::NotFound("no existe ese curso".into()));
    }
    let cached = state.courses.content(&state.store, &course).await?;
    let (done, percent) = match &enrolment {
        Some(e) => {
            let progress = cached.content.progress(&done);
            let items: Vec<_> = progress.values().copied().collect();
            let percent = if e.completed_at.is_some() { 100 } else { violeta_domain::learning::progress_percent(course.rule(), &items) };
            (progress.into_iter().map(|(k, v)| (k, v.done)).collect(), percent)
        }
        None => (BTreeMap::new(), 0),
    };
    let open = course.enrolment_open(violeta_domain::hours::mexico_city_now().date());
    render(&CoursePage { l: Layout::new(&ctx, &state, course.title.clone()).with_notice(q.aviso.as_deref()), course, cached, enrolment, done, percent, folio, open })
}

pub async fn enrol(State(state): State<AppState>, ctx: Ctx, Path(id): Path<i64>) -> PageResult {
    let person = person_of(&ctx)?;
    state.store.enrol(&ctx.actor(), id, person, EnrolmentSource::Autoinscripcion, None).await?;
    see_other(&format!("/aprender/cursos/{id}"), "inscrita")
}

// ----- lessons -----

#[derive(Template)]
#[template(path = "learn/lesson.html")]
struct LessonPage {
    l: Layout,
    course: Course,
    cached: Arc<CourseContent>,
    item: Item,
    seen: bool,
    next: Option<Item>,
    preview: bool,
}

impl LessonPage {
    fn body_html(&self) -> &str {
        self.cached.lesson_html(self.item.id)
    }
}

/// A course the signed-in learner is enrolled in: her rows and its cached content.
struct Enrolled {
    course: Course,
    e: Enrolment,
    done: Done,
    cached: Arc<CourseContent>,
}

async fn enrolled_view(state: &AppState, ctx: &Ctx, course_id: i64) -> Result<Enrolled, AppError> {
    let view = state.store.learner_view(course_id, person_of(ctx)?).await?;
    let e = view.enrolment.ok_or_else(|| AppError::NotFound("no está inscrita en ese curso".into()))?;
    let cached = state.courses.content(&state.store, &view.course).await?;
    Ok(Enrolled { course: view.course, e, done: view.done, cached })
}

fn item_of(cached: &CourseContent, item_id: i64) -> Result<Item, AppError> {
    cached.content.item(item_id).cloned().ok_or_else(|| AppError::NotFound("ese elemento no es de este curso".into()))
}

pub async fn item(State(state): State<AppState>, ctx: Ctx, Path((course_id, item_id)): Path<(i64, i64)>) -> PageResult {
    let Enrolled { course, e, done, cached } = enrolled_view(&state, &ctx, course_id).await?;
    let item = item_of(&cached, item_id)?;
    if item.is_quiz() {
        return quiz_page(&state, &ctx, course, &e, item, None).await;
    }
    let seen = done.has(item_id, false);
    let next = cached.content.next_after(item_id).cloned();
    render(&LessonPage { l: Layout::new(&ctx, &state, item.title.clone()), course, cached, item, seen, next, preview: false })
}

/// A lesson as its learners will see it, for its authors.
pub async fn preview(State(state): State<AppState>, ctx: Ctx, Path((course_id, item_id)): Path<(i64, i64)>) -> PageResult {
    let course = state.store.course(course_id).await?;
    let cached = state.courses.content(&state.store, &course).await?;
    let item = item_of(&cached, item_id)?;
    let next = cached.content.next_after(item_id).cloned();
    render(&LessonPage { l: Layout::new(&ctx, &state, format!("Vista previa: {}", item.title)), course, cached, item, seen: false, next, preview: true })
}

/// Marks a lesson as seen and goes on to the next item (or back to the course when it was the
/// last, or when seeing it completed the course).
pub async fn seen(State(state): State<AppState>, ctx: Ctx, headers: HeaderMap, Path((course_id, item_id)): Path<(i64, i64)>) -> PageResult {
    let Enrolled { e, cached, .. } = enrolled_view(&state, &ctx, course_id).await?;
    let base = super::constancias::base_url(&state, &headers);
    let step = state.store.visit_item(&ctx.actor(), e.id, item_id, signing(&state, &base)).await?;
    if step.completed {
        return see_other(&format!("/aprender/cursos/{course_id}"), "concluido");
    }
    match cached.content.next_after(item_id) {
        Some(next) => Ok(super::redirect(&format!("/aprender/cursos/{course_id}/elementos/{}", next.id))),
        None => see_other(&format!("/aprender/cursos/{course_id}"), "guardado"),
    }
}

// ----- quizzes -----

/// An attempt just graded: its grade, its questions and the options she chose.
type Graded = (Grade, Vec<Question>, BTreeMap<i64, BTreeSet<i64>>);

#[derive(Template)]
#[template(path = "learn/quiz.html")]
struct QuizPage {
    l: Layout,
    course: Course,
    item: Item,
    attempts: Vec<Attempt>,
    /// The open attempt and its questions, when one is open.
    open: Option<(Attempt, Vec<Question>)>,
    /// The attempt just graded, with its questions.
    graded: Option<Graded>,
    passed: bool,
    left: Option<i64>,
}

impl QuizPage {
    fn input_type(&self, q: &Question) -> &'static str {
        if q.kind() == violeta_domain::learning::QuestionKind::Multiple { "checkbox" } else { "radio" }
    }
    fn chosen(&self, q: &Question, option: &i64) -> bool {
        self.graded.as_ref().is_some_and(|(_, _, chosen)| chosen.get(&q.id).is_some_and(|s| s.contains(option)))
    }
    fn right(&self, q: &Question) -> bool {
        self.graded.as_ref().is_some_and(|(g, _, _)| g.per_question.get(&q.id).copied().unwrap_or(false))
    }
    fn submitted(&self, a: &Attempt) -> String {
        a.submitted_at.map(|d| violeta_domain::hours::mexico_city_time(d).format("%d/%m/%Y %H:%M").to_string()).unwrap_or_else(|| "En curso".into())
    }
}

async fn quiz_page(
    state: &AppState,
    ctx: &Ctx,
    course: Course,
    e: &Enrolment,
    item: Item,
    graded: Option<Graded>,
) -> PageResult {
    let attempts = state.store.attempts(e.id, item.id).await?;
    let passed = attempts.iter().any(|a| a.passed == Some(true));
    let used = attempts.iter().filter(|a| a.submitted_at.is_some()).count() as i64;
    // Attempts staff granted her on top of the quiz's limit count too.
    let granted = if item.attempt_limit.is_some() { state.store.attempts_granted(e.id, item.id).await? } else { 0 };
    let left = violeta_domain::learning::attempts_left(item.attempt_limit, granted, used);
    let open = match attempts.iter().find(|a| a.submitted_at.is_none()) {
        Some(a) if graded.is_none() => {
            let bank = state.store.questions(item.id).await?;
            let questions = a.drawn_ids().iter().filter_map(|id| bank.iter().find(|q| q.id == *id).cloned()).collect();
            Some((a.clone(), questions))
        }
        _ => None,
    };
    render(&QuizPage { l: Layout::new(ctx, state, item.title.clone()), course, item, attempts, open, graded, passed, left })
}

/// Starts (or resumes) an attempt: the questions are drawn now.
pub async fn start_attempt(State(state): State<AppState>, ctx: Ctx, Path((course_id, item_id)): Path<(i64, i64)>) -> PageResult {
    let e = enrolment(&state, &ctx, course_id).await?;
    state.store.open_attempt(&ctx.actor(), e.id, item_id).await?;
    Ok(super::redirect(&format!("/aprender/cursos/{course_id}/elementos/{item_id}")))
}

/// Grades the open attempt. The form sends `p{question}` = option id, once per option chosen.
pub async fn submit_attempt(
    State(state): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    Path((course_id, item_id, attempt_id)): Path<(i64, i64, i64)>,
    body: String,
) -> PageResult {
    let Enrolled { course, e, cached, .. } = enrolled_view(&state, &ctx, course_id).await?;
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(&body).map_err(|_| AppError::BadRequest("no se pudieron leer sus respuestas".into()))?;
    let mut answers: BTreeMap<i64, BTreeSet<i64>> = BTreeMap::new();
    for (k, v) in pairs {
        if let (Some(q), Ok(o)) = (k.strip_prefix('p').and_then(|q| q.parse::<i64>().ok()), v.parse::<i64>()) {
            answers.entry(q).or_default().insert(o);
        }
    }
    let base = super::constancias::base_url(&state, &headers);
    let (grade, step) = state.store.submit_attempt(&ctx.actor(), e.id, attempt_id, &answers, signing(&state, &base)).await?;
    if step.completed {
        return see_other(&format!("/aprender/cursos/{course_id}"), "concluido");
    }
    let item = item_of(&cached, item_id)?;
    let attempt = state.store.attempts(e.id, item_id).await?.into_iter().find(|a| a.id == attempt_id).ok_or_else(|| AppError::NotFound("no existe ese intento".into()))?;
    let bank = state.store.questions(item_id).await?;
    let questions = attempt.drawn_ids().iter().filter_map(|id| bank.iter().find(|q| q.id == *id).cloned()).collect();
    quiz_page(&state, &ctx, course, &e, item, Some((grade, questions, attempt.chosen()))).await
}

// ----- her constancias -----

/// `/aprender/constancias/VIO-….pdf`: a learner's own constancia.
pub async fn constancia_pdf(State(state): State<AppState>, ctx: Ctx, headers: HeaderMap, Path(file): Path<String>) -> PageResult {
    let person = person_of(&ctx)?;
    let raw = file.strip_suffix(".pdf").ok_or_else(|| AppError::NotFound("no existe esa constancia".into()))?;
    let folio = violeta_domain::credential::Folio::parse(raw).map_err(|e| AppError::NotFound(e.to_string()))?;
    let c = state.store.credential(&folio).await?.filter(|c| c.person_id == person).ok_or_else(|| AppError::NotFound("no existe esa constancia".into()))?;
    let base = super::constancias::base_url(&state, &headers);
    let bytes = tokio::task::spawn_blocking(move || violeta_app::constancia::pdf(&c, &base))
        .await
        .map_err(|e| AppError::Internal(format!("pdf: {e}")))?
        .map_err(AppError::Internal)?;
    let disposition = HeaderValue::from_str(&format!("attachment; filename=\"constancia-{folio}.pdf\"")).map_err(|e| AppError::Internal(e.to_string()))?;
    Ok(([(header::CONTENT_TYPE, HeaderValue::from_static("application/pdf")), (header::CONTENT_DISPOSITION, disposition)], bytes).into_response())
}

/// A course's image or attachment, for its learners and authors.
pub async fn file(State(state): State<AppState>, Path((course_id, name)): Path<(i64, String)>) -> PageResult {
    let (content_type, bytes) = state.store.course_file(course_id, &name).await?;
    let content_type = HeaderValue::from_str(&content_type).map_err(|e| AppError::Internal(e.to_string()))?;
    // SVG can carry script: never render it inline as a document.
    Ok((
        [(header::CONTENT_TYPE, content_type), (header::CONTENT_SECURITY_POLICY, HeaderValue::from_static("default-src 'none'; img-src 'self'; style-src 'unsafe-inline'")), (header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"))],
        bytes,
    )
        .into_response())
}
