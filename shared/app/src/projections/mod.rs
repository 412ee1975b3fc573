//! Projection versions: which version the read side serves, which one a rebuild is filling,
//! and the steps between them. The steps are pure transitions of [`ProjectionConfig`]; the
//! configuration is saved with a conditional write on its revision, so two operators (or a
//! rerun coordinator) can never both move it.
//!
//! ```text
//!   active N ──start──▶ active N, building N+1 ──verify──▶ … verified ──activate──▶ active N+1,
//!                                                                                  retiring N
//! ```

mod cache;

use chrono::{DateTime, Utc};
use taskpulse_domain::analytics::{Projection, ProjectionVersion};

pub use self::cache::{CachedProjectionConfig, PROJECTION_CONFIG_TTL};

/// A projection version and the rule it is built with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProjectionSpec {
    pub version: ProjectionVersion,
    pub projection: Projection,
}

/// What the last verification of a building version found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verification {
    pub at: DateTime<Utc>,
    /// Counter items compared (user days and global days).
    pub items: u64,
    /// Counters that differ between the active and the building version.
    pub differences: u64,
}

/// A version being rebuilt: the live consumer applies every new event to it, besides the
/// active version, from `since` on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BuildingVersion {
    pub spec: ProjectionSpec,
    pub since: DateTime<Utc>,
    pub verification: Option<Verification>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProjectionConfig {
    /// The version the analytics routes serve.
    pub active: ProjectionSpec,
    pub building: Option<BuildingVersion>,
    /// A version replaced by an activation whose items are not yet deleted.
    pub retiring: Option<ProjectionVersion>,
    /// The highest version ever registered: numbers are never reused.
    pub highest: ProjectionVersion,
    /// Moves by one with every save; 0 means never saved.
    pub revision: u64,
}

/// Why a step was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("version {0} is already building: finish or activate it first")]
    AlreadyBuilding(ProjectionVersion),
    #[error("no version is building")]
    NothingBuilding,
    #[error("version {0} has not been verified")]
    NotVerified(ProjectionVersion),
    #[error(
        "version {version} differs from the active version in {differences} counters: \
         activation needs --force once the differences are explained"
    )]
    UnexplainedDifferences {
        version: ProjectionVersion,
        differences: u64,
    },
    #[error("version {0} is still being retired")]
    StillRetiring(ProjectionVersion),
}

impl ProjectionConfig {
    /// Every deployment's start: version 1 of the `tasks` projection, nothing building.
    pub fn initial() -> Self {
        Self {
            active: ProjectionSpec {
                version: ProjectionVersion::FIRST,
                projection: Projection::Tasks,
            },
            building: None,
            retiring: None,
            highest: ProjectionVersion::FIRST,
            revision: 0,
        }
    }

    /// The versions the live consumer applies each event to: the active one, then the
    /// building one.
    pub fn live(&self) -> Vec<ProjectionSpec> {
        std::iter::once(self.active)
            .chain(self.building.map(|b| b.spec))
            .collect()
    }

    fn saved(self) -> Self {
        Self {
            revision: self.revision + 1,
            ..self
        }
    }

    /// Registers the next version as building with `projection`.
    pub fn start_building(
        &self,
        projection: Projection,
        now: DateTime<Utc>,
    ) -> Result<Self, ConfigError> {
        if let Some(building) = self.building {
            return Err(ConfigError::AlreadyBuilding(building.spec.version));
        }
        if let Some(retiring) = self.retiring {
            return Err(ConfigError::StillRetiring(retiring));
        }
        let version = self.highest.next();
        Ok(Self {
            building: Some(BuildingVersion {
                spec: ProjectionSpec {
                    version,
                    projection,
                },
                since: now,
                verification: None,
            }),
            highest: version,
            ..*self
        }
        .saved())
    }

    pub fn verified(&self, verification: Verification) -> Result<Self, ConfigError> {
        let building = self.building.ok_or(ConfigError::NothingBuilding)?;
        Ok(Self {
            building: Some(BuildingVersion {
                verification: Some(verification),
                ..building
            }),
            ..*self
        }
        .saved())
    }

    /// Makes the building version active; refused before a verification, or while the last
    /// verification found differences, unless `force`.
    pub fn activated(&self, force: bool) -> Result<Self, ConfigError> {
        let building = self.building.ok_or(ConfigError::NothingBuilding)?;
        let version = building.spec.version;
        match building.verification {
            None if !force => return Err(ConfigError::NotVerified(version)),
            Some(v) if v.differences > 0 && !force => {
                return Err(ConfigError::UnexplainedDifferences {
                    version,
                    differences: v.differences,
                });
            }
            _ => {}
        }
        Ok(Self {
            active: building.spec,
            building: None,
            retiring: Some(self.active.version),
            ..*self
        }
        .saved())
    }

    /// Abandons the building version (its items become the next retirement).
    pub fn abandoned(&self) -> Result<Self, ConfigError> {
        let building = self.building.ok_or(ConfigError::NothingBuilding)?;
        if let Some(retiring) = self.retiring {
            return Err(ConfigError::StillRetiring(retiring));
        }
        Ok(Self {
            building: None,
            retiring: Some(building.spec.version),
            ..*self
        }
        .saved())
    }

    /// The retiring version's items are gone.
    pub fn retired(&self) -> Self {
        Self {
            retiring: None,
            ..*self
        }
        .saved()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        "2026-12-02T10:00:00Z".parse().unwrap()
    }

    fn verification(differences: u64) -> Verification {
        Verification {
            at: now(),
            items: 10,
            differences,
        }
    }

    #[test]
    fn a_rebuild_goes_from_building_through_verified_to_active_and_retires_the_old_version() {
        let initial = ProjectionConfig::initial();
        let building = initial
            .start_building(Projection::TasksByPriority, now())
            .unwrap();
        let v2 = ProjectionVersion::new(2).unwrap();
        assert_eq!(building.live().len(), 2);
        assert_eq!(building.live()[1].version, v2);
        assert_eq!(
            building.start_building(Projection::Tasks, now()),
            Err(ConfigError::AlreadyBuilding(v2))
        );
        assert_eq!(building.activated(false), Err(ConfigError::NotVerified(v2)));
        let active = building
            .verified(verification(0))
            .unwrap()
            .activated(false)
            .unwrap();
        assert_eq!(active.active.version, v2);
        assert_eq!(active.active.projection, Projection::TasksByPriority);
        assert_eq!(active.retiring, Some(ProjectionVersion::FIRST));
        assert_eq!(active.live(), vec![active.active]);
        assert_eq!(active.revision, 3, "every step is one save");
        assert_eq!(
            active.start_building(Projection::Tasks, now()),
            Err(ConfigError::StillRetiring(ProjectionVersion::FIRST))
        );
        let next = active
            .retired()
            .start_building(Projection::Tasks, now())
            .unwrap();
        assert_eq!(next.building.unwrap().spec.version.number(), 3);
    }

    #[test]
    fn differences_block_activation_unless_forced() {
        let building = ProjectionConfig::initial()
            .start_building(Projection::Tasks, now())
            .unwrap()
            .verified(verification(4))
            .unwrap();
        assert!(matches!(
            building.activated(false),
            Err(ConfigError::UnexplainedDifferences { differences: 4, .. })
        ));
        assert!(building.activated(true).is_ok());
    }

    #[test]
    fn an_abandoned_version_is_retired_and_its_number_never_reused() {
        let abandoned = ProjectionConfig::initial()
            .start_building(Projection::Tasks, now())
            .unwrap()
            .abandoned()
            .unwrap();
        assert_eq!(abandoned.active.version, ProjectionVersion::FIRST);
        assert_eq!(abandoned.retiring.map(|v| v.number()), Some(2));
        let again = abandoned
            .retired()
            .start_building(Projection::Tasks, now())
            .unwrap();
        assert_eq!(again.building.unwrap().spec.version.number(), 3);
    }
}
