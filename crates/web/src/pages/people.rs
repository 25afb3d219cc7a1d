//! The people registry: search, add, edit, view (private data on request, audited),
//! merge, import.

use super::{Upload, render, render_invalid, see_other};
use crate::AppState;
use crate::auth::Ctx;
use crate::error::{AppError, PageResult};
use crate::layout::{Layout, datetime, thousands};
use askama::Template;
use axum::Form;
use axum::extract::{Multipart, Path, Query, State};
use serde::Deserialize;
use violeta_app::ImportReport;
use violeta_domain::access::Permission;
use violeta_domain::person::{Corps, FieldError, PersonInput, Sex, SexConvention};
use violeta_store::institutions::Institution;
use violeta_store::people::{PeopleFilter, Person, PersonalData};

const PAGE: i64 = 50;

#[derive(Template)]
#[template(path = "people/list.html")]
struct ListPage {
    l: Layout,
    people: Vec<Person>,
    total: String,
    q: String,
    without_curp: bool,
    page: i64,
    has_more: bool,
    can_edit: bool,
    can_manage: bool,
}

#[derive(Deserialize, Default)]
pub struct ListQuery {
    q: Option<String>,
    sin_curp: Option<String>,
    pagina: Option<i64>,
    aviso: Option<String>,
}

pub async fn list(State(state): State<AppState>, ctx: Ctx, Query(q): Query<ListQuery>) -> PageResult {
    let query = q.q.clone().filter(|s| !s.trim().is_empty());
    let without_curp = q.sin_curp.as_deref() == Some("1");
    let page = q.pagina.unwrap_or(0).max(0);
    let filter = PeopleFilter { query: query.clone(), without_curp, ..Default::default() };
    let (people, total) = state.store.people(ctx.principal.people_scope(), &filter, PAGE, page * PAGE).await?;
    render(&ListPage {
        l: Layout::new(&ctx, &state, "Personas").with_notice(q.aviso.as_deref()),
        has_more: (page + 1) * PAGE < total,
        people,
        total: thousands(total),
        q: query.unwrap_or_default(),
        without_curp,
        page,
        can_edit: ctx.can(Permission::EditPeople),
        can_manage: ctx.can(Permission::ManagePeople),
    })
}

#[derive(Template)]
#[template(path = "people/form.html")]
struct FormPage {
    l: Layout,
    action: String,
    f: PersonInput,
    errors: Vec<FieldError>,
    error: Option<String>,
    institutions: Vec<Institution>,
    sexes: [Sex; 3],
    corps: [Corps; 4],
}

impl FormPage {
    fn error_for(&self, field: &str) -> Option<&str> {
        self.errors.iter().find(|e| e.field == field).map(|e| e.message.as_str())
    }
    fn selected_institution(&self, id: &i64) -> bool {
        self.f.institution_id == Some(*id)
    }
}

/// Institutions an editor may assign: an enlace only their own.
async fn assignable_institutions(state: &AppState, ctx: &Ctx) -> Result<Vec<Institution>, AppError> {
    let all = state.store.institutions(None).await?;
    Ok(all.into_iter().filter(|i| ctx.principal.may_see_person_of(Some(i.id))).collect())
}

async fn form_page(state: &AppState, ctx: &Ctx, title: &str, action: String, f: PersonInput, errors: Vec<FieldError>, error: Option<String>) -> PageResult {
    let page = FormPage {
        l: Layout::new(ctx, state, title),
        action,
        f,
        errors,
        error,
        institutions: assignable_institutions(state, ctx).await?,
        sexes: Sex::ALL,
        corps: Corps::ALL,
    };
    if page.errors.is_empty() && page.error.is_none() { render(&page) } else { render_invalid(&page) }
}

pub async fn new_form(State(state): State<AppState>, ctx: Ctx) -> PageResult {
    let mut f = PersonInput::default();
    if let violeta_domain::access::PeopleScope::Institution(id) = ctx.principal.people_scope() {
        f.institution_id = Some(id);
    }
    form_page(&state, &ctx, "Nueva persona", "/personas".into(), f, vec![], None).await
}

/// Reads the form; an empty institution select arrives as "".
#[derive(Deserialize)]
pub struct PersonForm {
    #[serde(flatten)]
    input: PersonInput,
    #[serde(default)]
    institution: String,
}

impl PersonForm {
    fn into_input(self) -> PersonInput {
        PersonInput { institution_id: self.institution.parse().ok(), ..self.input }
    }
}

pub async fn create(State(state): State<AppState>, ctx: Ctx, Form(form): Form<PersonForm>) -> PageResult {
    let input = form.into_input();
    if !ctx.principal.may_see_person_of(input.institution_id) {
        return form_page(&state, &ctx, "Nueva persona", "/personas".into(), input, vec![], Some("solo puede registrar personas de su institución".into())).await;
    }
    match input.validate(SexConvention::MujerHombre) {
        Err(errors) => form_page(&state, &ctx, "Nueva persona", "/personas".into(), input, errors, None).await,
        Ok(draft) => match state.store.create_person(&ctx.actor(), &draft).await {
            Ok(id) => see_other(&format!("/personas/{id}"), "creada"),
            Err(e) => form_page(&state, &ctx, "Nueva persona", "/personas".into(), input, vec![], Some(AppError::from(e).to_string())).await,
        },
    }
}

#[derive(Template)]
#[template(path = "people/show.html")]
struct ShowPage {
    l: Layout,
    p: Person,
    contact: Option<PersonalData>,
    can_edit: bool,
    can_contact: bool,
    can_merge: bool,
}

impl ShowPage {
    fn when(&self, t: &chrono::DateTime<chrono::Utc>) -> String {
        datetime(t)
    }
}

#[derive(Deserialize, Default)]
pub struct ShowQuery {
    aviso: Option<String>,
}

pub async fn show(State(state): State<AppState>, ctx: Ctx, Path(id): Path<i64>, Query(q): Query<ShowQuery>) -> PageResult {
    show_page(&state, &ctx, id, q.aviso.as_deref(), None).await
}

async fn show_page(state: &AppState, ctx: &Ctx, id: i64, notice: Option<&str>, contact: Option<PersonalData>) -> PageResult {
    let p = state.store.person(ctx.principal.people_scope(), id).await?;
    render(&ShowPage {
        l: Layout::new(ctx, state, p.full_name()).with_notice(notice),
        p,
        contact,
        can_edit: ctx.can(Permission::EditPeople),
        can_contact: ctx.can(Permission::ViewPersonalData),
        can_merge: ctx.can(Permission::ManagePeople),
    })
}

/// Shows private contact data: a deliberate action, recorded in the audit trail.
pub async fn contact(State(state): State<AppState>, ctx: Ctx, Path(id): Path<i64>) -> PageResult {
    let data = state.store.personal_data(&ctx.actor(), ctx.principal.people_scope(), id).await?;
    show_page(&state, &ctx, id, None, Some(data)).await
}

pub async fn edit_form(State(state): State<AppState>, ctx: Ctx, Path(id): Path<i64>) -> PageResult {
    let p = state.store.person(ctx.principal.people_scope(), id).await?;
    // Editing shows contact data in the form: that is a read of personal data too.
    let contact = if ctx.can(Permission::ViewPersonalData) {
        Some(state.store.personal_data(&ctx.actor(), ctx.principal.people_scope(), id).await?)
    } else {
        None
    };
    let f = PersonInput {
        curp: p.curp.clone().unwrap_or_default(),
        given_names: p.given_names.clone(),
        first_surname: p.first_surname.clone(),
        second_surname: p.second_surname.clone(),
        sex: p.sex_label().to_string(),
        institution_id: p.institution_id,
        position: p.position.clone(),
        corps: p.corps.clone().unwrap_or_default(),
        municipality: p.cvegeo.clone().unwrap_or_default(),
        email: contact.as_ref().map(|c| c.email.clone()).unwrap_or_default(),
        phone: contact.as_ref().map(|c| c.phone.clone()).unwrap_or_default(),
    };
    form_page(&state, &ctx, "Editar persona", format!("/personas/{id}"), f, vec![], None).await
}

pub async fn update(State(state): State<AppState>, ctx: Ctx, Path(id): Path<i64>, Form(form): Form<PersonForm>) -> PageResult {
    let input = form.into_input();
    let action = format!("/personas/{id}");
    if !ctx.principal.may_see_person_of(input.institution_id) {
        return form_page(&state, &ctx, "Editar persona", action, input, vec![], Some("solo puede asignar personas a su institución".into())).await;
    }
    match input.validate(SexConvention::MujerHombre) {
        Err(errors) => form_page(&state, &ctx, "Editar persona", action, input, errors, None).await,
        Ok(draft) => {
            // Without access to contact data, the form did not show it: keep what is stored.
            let keep_contact = !ctx.can(Permission::ViewPersonalData);
            match state.store.update_person(&ctx.actor(), ctx.principal.people_scope(), id, &draft, keep_contact).await {
                Ok(()) => see_other(&action, "guardado"),
                Err(e) => form_page(&state, &ctx, "Editar persona", action, input, vec![], Some(AppError::from(e).to_string())).await,
            }
        }
    }
}

#[derive(Deserialize)]
pub struct MergeForm {
    /// The CURP of the record to merge this one into.
    curp: String,
}

pub async fn merge(State(state): State<AppState>, ctx: Ctx, Path(id): Path<i64>, Form(f): Form<MergeForm>) -> PageResult {
    let curp = violeta_domain::Curp::parse(&f.curp).map_err(|e| AppError::BadRequest(e.to_string()))?;
    let into = state
        .store
        .person_by_curp(ctx.principal.people_scope(), curp.as_str())
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no hay nadie registrado con la CURP {curp}")))?;
    state.store.merge_people(&ctx.actor(), id, into.id).await?;
    see_other(&format!("/personas/{}", into.id), "fusionada")
}

#[derive(Template)]
#[template(path = "people/import.html")]
struct ImportPage {
    l: Layout,
    report: Option<ImportReport>,
    summary: Option<violeta_app::people_import::Summary>,
    file_name: String,
    states: Vec<violeta_store::territory::State>,
}

pub async fn import_form(State(state): State<AppState>, ctx: Ctx) -> PageResult {
    render(&ImportPage { l: Layout::new(&ctx, &state, "Importar personas"), report: None, summary: None, file_name: String::new(), states: state.store.states().await? })
}

pub async fn import(State(state): State<AppState>, ctx: Ctx, multipart: Multipart) -> PageResult {
    let upload = Upload::read(multipart, &ctx).await?;
    let default_state = upload.field("entidad").and_then(|s| violeta_domain::territory::StateKey::parse(&s).ok());
    let result = violeta_app::people_import::import(&state.store, &ctx.actor(), &upload.file_name, &upload.bytes, default_state.as_ref(), &|_, _| {}).await;
    let mut page = ImportPage {
        l: Layout::new(&ctx, &state, "Importar personas"),
        report: None,
        summary: None,
        file_name: upload.file_name.clone(),
        states: state.store.states().await?,
    };
    match result {
        Ok(summary) => {
            page.summary = Some(summary);
            render(&page)
        }
        Err(report) => {
            page.report = Some(report);
            render_invalid(&page)
        }
    }
}
