//! Who may do what. Every permission decision in Violeta is made here, from a
//! [`Principal`] and a [`Permission`]; handlers ask, they never decide.

use serde::{Deserialize, Serialize};

/// The roles of the people who use Violeta. A user may hold several.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Runs the system: users, roles, audit, everything else.
    Administracion,
    /// Coordinates programmes and reports; keeps the registries.
    Coordinacion,
    /// Gives training sessions and courses.
    Instruccion,
    /// Evaluates candidates for competency certification.
    Evaluacion,
    /// Operates Alerta Rosa cases.
    OperacionAlertaRosa,
    /// An institution's liaison: sees and keeps only its own institution's people.
    EnlaceInstitucional,
    /// A public servant who takes courses.
    Participante,
}

impl Role {
    pub const ALL: [Role; 7] = [
        Role::Administracion,
        Role::Coordinacion,
        Role::Instruccion,
        Role::Evaluacion,
        Role::OperacionAlertaRosa,
        Role::EnlaceInstitucional,
        Role::Participante,
    ];
    pub fn code(self) -> &'static str {
        match self {
            Role::Administracion => "administracion",
            Role::Coordinacion => "coordinacion",
            Role::Instruccion => "instruccion",
            Role::Evaluacion => "evaluacion",
            Role::OperacionAlertaRosa => "operacion_alerta_rosa",
            Role::EnlaceInstitucional => "enlace_institucional",
            Role::Participante => "participante",
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            Role::Administracion => "Administración",
            Role::Coordinacion => "Coordinación",
            Role::Instruccion => "Instrucción",
            Role::Evaluacion => "Evaluación",
            Role::OperacionAlertaRosa => "Operación de Alerta Rosa",
            Role::EnlaceInstitucional => "Enlace institucional",
            Role::Participante => "Participante",
        }
    }
    pub fn parse(s: &str) -> Option<Role> {
        let k = crate::text::search_key(s).replace([' ', '-'], "_");
        let label_key = |r: Role| crate::text::search_key(r.label()).replace(' ', "_");
        Role::ALL.into_iter().find(|r| r.code() == k || label_key(*r) == k)
    }
}

/// Things a principal may be allowed to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Permission {
    /// Staff pages: dashboard, territory, institutions.
    ViewRegistry,
    /// Regions, AVGM declarations and institutions: create, edit, import.
    EditRegistry,
    /// The people registry (within the principal's scope).
    ViewPeople,
    /// Add and edit people (within scope).
    EditPeople,
    /// A person's private contact data (within scope). Every read is audited.
    ViewPersonalData,
    /// Bulk import and merging of people.
    ManagePeople,
    /// Accounts, roles, password links.
    ManageUsers,
    /// API tokens for integrations.
    ManageApiTokens,
    /// The audit trail and its verification.
    ViewAudit,
    /// Schedule training sessions and take their attendance.
    ManageTrainings,
    /// Competency certification: the standards catalogue, cohorts, counts and the
    /// processes of people within the principal's scope.
    ViewCertification,
    /// Keep the standards catalogue and cohorts; open and advance processes; record
    /// certificates.
    ManageCertification,
    /// Record a candidate's evaluation (evaluator, date, result, evidence portfolio).
    RecordEvaluations,
    /// The learning centre as a learner: enrol, study, take quizzes, own constancias.
    TakeCourses,
    /// The learning centre as staff: author and publish courses, cohorts, bulk enrolment,
    /// Moodle history, course constancias and completion reports (figures only).
    ManageCourses,
    /// Alerta Rosa: cases, channels and dissemination
    OperateAlerts,
    /// Alerta Rosa: the private part of a case (who reported and how to reach them, the
    /// investigation file, health details). Every read is audited.
    ViewAlertPrivate,
}

impl Role {
    /// What each role grants. Least privilege: a role gets only what its work needs.
    fn grants(self) -> &'static [Permission] {
        use Permission::*;
        match self {
            Role::Administracion => &[
                ViewRegistry, EditRegistry, ViewPeople, EditPeople, ViewPersonalData, ManagePeople, ManageUsers,
                ManageApiTokens, ViewAudit, ManageTrainings, ViewCertification, ManageCertification, RecordEvaluations, TakeCourses,
                ManageCourses, OperateAlerts,
            ],
            Role::Coordinacion => &[
                ViewRegistry, EditRegistry, ViewPeople, EditPeople, ViewPersonalData, ManagePeople, ManageApiTokens, ManageTrainings,
                ViewCertification, ManageCertification, RecordEvaluations, TakeCourses, ManageCourses,
            ],
            Role::Instruccion => &[ViewRegistry, ViewPeople, EditPeople, ManageTrainings, TakeCourses, ManageCourses],
            Role::Evaluacion => &[ViewRegistry, ViewPeople, ViewCertification, RecordEvaluations, TakeCourses],
            // The case's private part goes only to the people who work the case, not to the
            // administrator who runs the system.
            Role::OperacionAlertaRosa => &[ViewRegistry, OperateAlerts, ViewAlertPrivate, TakeCourses],
            Role::EnlaceInstitucional => &[ViewRegistry, ViewPeople, EditPeople, ViewPersonalData, ViewCertification, TakeCourses],
            // Public servants who take courses: their own learning and nothing else.
            Role::Participante => &[TakeCourses],
        }
    }
}

/// Which people a principal may see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeopleScope {
    All,
    Institution(i64),
    Nobody,
}

/// Whoever is making a request: a signed-in user (by session or API token) or the public.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Principal {
    pub user_id: Option<i64>,
    pub roles: Vec<Role>,
    /// The institution of an enlace institucional.
    pub institution_id: Option<i64>,
}

impl Principal {
    pub fn anonymous() -> Principal {
        Principal::default()
    }

    pub fn is_authenticated(&self) -> bool {
        self.user_id.is_some()
    }

    pub fn has_role(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    pub fn can(&self, permission: Permission) -> bool {
        self.is_authenticated() && self.roles.iter().any(|r| r.grants().contains(&permission))
    }

    /// The people this principal may see. A role with a registry-wide grant wins over
    /// the enlace's institution scope; an enlace without an institution sees nobody.
    pub fn people_scope(&self) -> PeopleScope {
        if !self.can(Permission::ViewPeople) {
            return PeopleScope::Nobody;
        }
        let wide = self
            .roles
            .iter()
            .any(|r| *r != Role::EnlaceInstitucional && r.grants().contains(&Permission::ViewPeople));
        if wide {
            PeopleScope::All
        } else {
            match self.institution_id {
                Some(id) => PeopleScope::Institution(id),
                None => PeopleScope::Nobody,
            }
        }
    }

    /// Whether a person of `institution_id` is within this principal's scope.
    pub fn may_see_person_of(&self, institution_id: Option<i64>) -> bool {
        match self.people_scope() {
            PeopleScope::All => true,
            PeopleScope::Institution(own) => institution_id == Some(own),
            PeopleScope::Nobody => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(roles: &[Role], institution: Option<i64>) -> Principal {
        Principal { user_id: Some(1), roles: roles.to_vec(), institution_id: institution }
    }

    #[test]
    fn anonymous_can_do_nothing_private() {
        let p = Principal::anonymous();
        assert!(!p.can(Permission::ViewRegistry));
        assert_eq!(p.people_scope(), PeopleScope::Nobody);
    }

    #[test]
    fn enlace_sees_only_its_institution() {
        let p = user(&[Role::EnlaceInstitucional], Some(7));
        assert_eq!(p.people_scope(), PeopleScope::Institution(7));
        assert!(p.may_see_person_of(Some(7)));
        assert!(!p.may_see_person_of(Some(8)));
        assert!(!p.may_see_person_of(None));
        assert_eq!(user(&[Role::EnlaceInstitucional], None).people_scope(), PeopleScope::Nobody);
        assert_eq!(user(&[Role::EnlaceInstitucional, Role::Coordinacion], Some(7)).people_scope(), PeopleScope::All);
    }

    #[test]
    fn least_privilege() {
        assert!(!user(&[Role::Instruccion], None).can(Permission::ViewPersonalData));
        assert!(!user(&[Role::OperacionAlertaRosa], None).can(Permission::ViewPeople));
        assert!(!user(&[Role::Participante], None).can(Permission::ViewRegistry));
        assert!(user(&[Role::Administracion], None).can(Permission::ViewAudit));
        assert!(!user(&[Role::Coordinacion], None).can(Permission::ManageUsers));
    }

    #[test]
    fn certification_roles() {
        use Permission::{ManageCertification, RecordEvaluations, ViewCertification};
        for r in [Role::Administracion, Role::Coordinacion] {
            let p = user(&[r], None);
            assert!(p.can(ViewCertification) && p.can(ManageCertification) && p.can(RecordEvaluations), "{r:?}");
        }
        // Evaluators record evaluations, but neither keep the catalogue nor record certificates.
        let eva = user(&[Role::Evaluacion], None);
        assert!(eva.can(ViewCertification) && eva.can(RecordEvaluations));
        assert!(!eva.can(ManageCertification));
        // The enlace only looks, and only at its institution's people (scoped in the store).
        let enl = user(&[Role::EnlaceInstitucional], Some(7));
        assert!(enl.can(ViewCertification));
        assert!(!enl.can(RecordEvaluations) && !enl.can(ManageCertification));
        assert_eq!(enl.people_scope(), PeopleScope::Institution(7));
        for r in [Role::Instruccion, Role::OperacionAlertaRosa, Role::Participante] {
            let p = user(&[r], None);
            assert!(!p.can(ViewCertification) && !p.can(RecordEvaluations) && !p.can(ManageCertification), "{r:?}");
        }
    }

    #[test]
    fn alerta_rosa_private_part() {
        use Permission::ViewAlertPrivate;
        assert!(user(&[Role::OperacionAlertaRosa], None).can(ViewAlertPrivate));
        for r in [Role::Administracion, Role::Coordinacion, Role::Instruccion, Role::Evaluacion, Role::EnlaceInstitucional, Role::Participante] {
            assert!(!user(&[r], None).can(ViewAlertPrivate), "{r:?}");
        }
    }

    #[test]
    fn alerta_rosa_operation() {
        for r in [Role::Administracion, Role::OperacionAlertaRosa] {
            assert!(user(&[r], None).can(Permission::OperateAlerts), "{r:?}");
        }
        for r in [Role::Coordinacion, Role::Instruccion, Role::Evaluacion, Role::EnlaceInstitucional, Role::Participante] {
            assert!(!user(&[r], None).can(Permission::OperateAlerts), "{r:?}");
        }
    }

    #[test]
    fn role_codes_round_trip() {
        for r in Role::ALL {
            assert_eq!(Role::parse(r.code()), Some(r));
            assert_eq!(Role::parse(r.label()), Some(r));
        }
    }
}
