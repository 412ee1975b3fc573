//! The projection configuration item and a rebuild's progress items, in the analytics table.
//! The configuration is written whole with `PutItem`, conditional on the revision it replaces,
//! so two writers can never both move it.

use std::collections::{BTreeMap, HashMap};

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, NaiveDate, Utc};
use taskpulse_app::projections::{BuildingVersion, ProjectionConfig, ProjectionSpec, Verification};
use taskpulse_app::rebuild::PartitionDone;
use taskpulse_app::{LoadProjectionConfig, RebuildProgress, SaveProjectionConfig, StoreError};
use taskpulse_domain::analytics::{Projection, ProjectionVersion};

use crate::analytics_store::{DynamoAnalyticsStore, rejected};
use crate::error::store_error;
use crate::keys::{self, *};

type Item = HashMap<String, AttributeValue>;

fn number(value: u64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

fn text(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

fn read_number(item: &Item, name: &str) -> Result<Option<u64>, StoreError> {
    item.get(name)
        .map(|v| {
            v.as_n()
                .ok()
                .and_then(|n| n.parse().ok())
                .ok_or_else(|| rejected(format!("attribute {name} is not a count")))
        })
        .transpose()
}

fn read_text<'a>(item: &'a Item, name: &str) -> Result<Option<&'a str>, StoreError> {
    item.get(name)
        .map(|v| {
            v.as_s()
                .map(String::as_str)
                .map_err(|_| rejected(format!("attribute {name} is not text")))
        })
        .transpose()
}

fn read_version(item: &Item, name: &str) -> Result<Option<ProjectionVersion>, StoreError> {
    read_number(item, name)?
        .map(|n| {
            u32::try_from(n)
                .ok()
                .and_then(ProjectionVersion::new)
                .ok_or_else(|| rejected(format!("attribute {name} is not a projection version")))
        })
        .transpose()
}

fn read_projection(item: &Item, name: &str) -> Result<Option<Projection>, StoreError> {
    read_text(item, name)?
        .map(|raw| {
            Projection::from_name(raw)
                .ok_or_else(|| rejected(format!("attribute {name}: unknown projection '{raw}'")))
        })
        .transpose()
}

fn read_time(item: &Item, name: &str) -> Result<Option<DateTime<Utc>>, StoreError> {
    read_text(item, name)?
        .map(|raw| {
            DateTime::parse_from_rfc3339(raw)
                .map(|at| at.with_timezone(&Utc))
                .map_err(|e| rejected(format!("attribute {name}: {e}")))
        })
        .transpose()
}

fn required<T>(value: Option<T>, name: &str) -> Result<T, StoreError> {
    value.ok_or_else(|| rejected(format!("the projection configuration has no {name}")))
}

fn config_item(config: &ProjectionConfig) -> Item {
    let mut item = key_attributes(keys::projection_config_key());
    item.insert(
        ACTIVE_VERSION.into(),
        number(config.active.version.number().into()),
    );
    item.insert(
        ACTIVE_PROJECTION.into(),
        text(config.active.projection.name()),
    );
    item.insert(
        HIGHEST_VERSION.into(),
        number(config.highest.number().into()),
    );
    item.insert(REVISION.into(), number(config.revision));
    if let Some(retiring) = config.retiring {
        item.insert(RETIRING_VERSION.into(), number(retiring.number().into()));
    }
    if let Some(building) = &config.building {
        item.insert(
            BUILDING_VERSION.into(),
            number(building.spec.version.number().into()),
        );
        item.insert(
            BUILDING_PROJECTION.into(),
            text(building.spec.projection.name()),
        );
        item.insert(BUILDING_SINCE.into(), text(sortable_time(building.since)));
        if let Some(verification) = &building.verification {
            item.insert(VERIFIED_AT.into(), text(sortable_time(verification.at)));
            item.insert(VERIFIED_ITEMS.into(), number(verification.items));
            item.insert(
                VERIFIED_DIFFERENCES.into(),
                number(verification.differences),
            );
        }
    }
    item
}

fn parse_config(item: &Item) -> Result<ProjectionConfig, StoreError> {
    let active = ProjectionSpec {
        version: required(read_version(item, ACTIVE_VERSION)?, ACTIVE_VERSION)?,
        projection: required(read_projection(item, ACTIVE_PROJECTION)?, ACTIVE_PROJECTION)?,
    };
    let building = match read_version(item, BUILDING_VERSION)? {
        None => None,
        Some(version) => Some(BuildingVersion {
            spec: ProjectionSpec {
                version,
                projection: required(
                    read_projection(item, BUILDING_PROJECTION)?,
                    BUILDING_PROJECTION,
                )?,
            },
            since: required(read_time(item, BUILDING_SINCE)?, BUILDING_SINCE)?,
            verification: match read_time(item, VERIFIED_AT)? {
                None => None,
                Some(at) => Some(Verification {
                    at,
                    items: required(read_number(item, VERIFIED_ITEMS)?, VERIFIED_ITEMS)?,
                    differences: required(
                        read_number(item, VERIFIED_DIFFERENCES)?,
                        VERIFIED_DIFFERENCES,
                    )?,
                }),
            },
        }),
    };
    Ok(ProjectionConfig {
        active,
        building,
        retiring: read_version(item, RETIRING_VERSION)?,
        highest: required(read_version(item, HIGHEST_VERSION)?, HIGHEST_VERSION)?,
        revision: required(read_number(item, REVISION)?, REVISION)?,
    })
}

impl<W: Send + Sync> LoadProjectionConfig for DynamoAnalyticsStore<W> {
    async fn load_projection_config(&self) -> Result<ProjectionConfig, StoreError> {
        let output = self
            .reader
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key_attributes(keys::projection_config_key())))
            .consistent_read(true)
            .send()
            .await
            .map_err(store_error)?;
        match output.item {
            None => Ok(ProjectionConfig::initial()),
            Some(item) => parse_config(&item),
        }
    }
}

impl<W: Send + Sync> SaveProjectionConfig for DynamoAnalyticsStore<W> {
    async fn save_projection_config(&self, config: &ProjectionConfig) -> Result<(), StoreError> {
        let request = self
            .reader
            .put_item()
            .table_name(&self.table)
            .set_item(Some(config_item(config)));
        let request = if config.revision <= 1 {
            request.condition_expression(format!("attribute_not_exists({PK})"))
        } else {
            request
                .condition_expression("#revision = :previous")
                .expression_attribute_names("#revision", REVISION)
                .expression_attribute_values(":previous", number(config.revision - 1))
        };
        request.send().await.map_err(store_error)?;
        Ok(())
    }
}

fn parse_done(item: &Item) -> Result<Option<PartitionDone>, StoreError> {
    let Some(day) = read_text(item, SK)?.and_then(keys::parse_rebuild_progress_sort_key) else {
        return Ok(None);
    };
    let count = |name| read_number(item, name).map(Option::unwrap_or_default);
    Ok(Some(PartitionDone {
        day,
        events: count(PARTITION_EVENTS)?,
        applied: count(PARTITION_APPLIED)?,
        duplicates: count(PARTITION_DUPLICATES)?,
        repeated_lines: count(PARTITION_REPEATED_LINES)?,
        corrupt_objects: count(PARTITION_CORRUPT_OBJECTS)?,
    }))
}

impl<W: Send + Sync> RebuildProgress for DynamoAnalyticsStore<W> {
    async fn done_partitions(
        &self,
        version: ProjectionVersion,
    ) -> Result<BTreeMap<NaiveDate, PartitionDone>, StoreError> {
        let mut done = BTreeMap::new();
        let mut items = self
            .reader
            .query()
            .table_name(&self.table)
            .key_condition_expression(format!("{PK} = :pk"))
            .expression_attribute_values(":pk", text(keys::rebuild_partition(version)))
            .consistent_read(true)
            .into_paginator()
            .items()
            .send();
        while let Some(item) = items.next().await {
            if let Some(partition) = parse_done(&item.map_err(store_error)?)? {
                done.insert(partition.day, partition);
            }
        }
        Ok(done)
    }

    async fn mark_partition_done(
        &self,
        version: ProjectionVersion,
        done: &PartitionDone,
    ) -> Result<(), StoreError> {
        let mut item = key_attributes(keys::rebuild_progress_key(version, done.day));
        item.insert(PARTITION_EVENTS.into(), number(done.events));
        item.insert(PARTITION_APPLIED.into(), number(done.applied));
        item.insert(PARTITION_DUPLICATES.into(), number(done.duplicates));
        item.insert(PARTITION_REPEATED_LINES.into(), number(done.repeated_lines));
        item.insert(
            PARTITION_CORRUPT_OBJECTS.into(),
            number(done.corrupt_objects),
        );
        self.reader
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(store_error)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_configuration_round_trips_through_its_item() {
        let now: DateTime<Utc> = "2026-12-02T10:00:00.250Z".parse().unwrap();
        let initial = ProjectionConfig::initial();
        let building = initial
            .start_building(Projection::TasksByPriority, now)
            .unwrap();
        let verified = building
            .verified(Verification {
                at: now,
                items: 12,
                differences: 3,
            })
            .unwrap();
        let active = verified.activated(true).unwrap();
        for config in [initial, building, verified, active] {
            assert_eq!(parse_config(&config_item(&config)).unwrap(), config);
        }
        let mut broken = config_item(&active);
        broken.insert(ACTIVE_PROJECTION.into(), text("nope"));
        let error = parse_config(&broken).unwrap_err().to_string();
        assert!(error.contains(ACTIVE_PROJECTION), "{error}");
    }
}
