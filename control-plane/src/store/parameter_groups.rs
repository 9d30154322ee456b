//! Parameter groups and the values users set in them; the parameters a
//! cluster's nodes run with.

use std::collections::HashMap;

use sqlx::Row;

use super::clusters::corrupt;
use super::{Store, StoreResult, unique_as_exists};
use crate::clock::now_millis;
use crate::model::{ParameterGroup, Parameters};

/// Why a parameter group was not deleted.
#[derive(Debug, PartialEq, Eq)]
pub enum DeleteRefused {
    NotFound,
    /// Clusters or replication groups name it.
    InUse,
}

impl Store {
    pub async fn insert_parameter_group(&self, name: &str, family: &str, description: &str) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO cache_parameter_groups (cache_parameter_group_name, cache_parameter_group_family,
                description, created_at)
             VALUES (?, ?, ?, ?)",
        )
        .bind(name)
        .bind(family)
        .bind(description)
        .bind(now_millis())
        .execute(&self.pool)
        .await
        .map_err(unique_as_exists)?;
        Ok(())
    }

    pub async fn parameter_group(&self, name: &str) -> StoreResult<Option<ParameterGroup>> {
        Ok(self.parameter_groups_from(Some(name), None, 1).await?.into_iter().next())
    }

    /// A page of groups sorted by name, after `after`.
    pub async fn parameter_groups(&self, after: Option<&str>, limit: i64) -> StoreResult<Vec<ParameterGroup>> {
        self.parameter_groups_from(None, after, limit).await
    }

    async fn parameter_groups_from(
        &self,
        only: Option<&str>,
        after: Option<&str>,
        limit: i64,
    ) -> StoreResult<Vec<ParameterGroup>> {
        let rows = sqlx::query(
            "WITH page AS (
                SELECT * FROM cache_parameter_groups
                WHERE (?1 IS NULL OR cache_parameter_group_name = ?1)
                  AND (?2 IS NULL OR cache_parameter_group_name > ?2)
                ORDER BY cache_parameter_group_name LIMIT ?3
             )
             SELECT page.cache_parameter_group_name, cache_parameter_group_family, description,
                p.parameter_name, p.parameter_value
             FROM page LEFT JOIN cache_parameters p USING (cache_parameter_group_name)
             ORDER BY page.cache_parameter_group_name, p.parameter_name",
        )
        .bind(only)
        .bind(after)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        let mut groups: Vec<ParameterGroup> = Vec::new();
        for row in rows {
            let name: String = row.try_get("cache_parameter_group_name")?;
            if groups.last().is_none_or(|g| g.cache_parameter_group_name != name) {
                groups.push(ParameterGroup {
                    cache_parameter_group_name: name,
                    cache_parameter_group_family: row.try_get("cache_parameter_group_family")?,
                    description: row.try_get("description")?,
                    values: Parameters::new(),
                });
            }
            let parameter: Option<String> = row.try_get("parameter_name")?;
            if let (Some(parameter), Some(group)) = (parameter, groups.last_mut()) {
                group.values.insert(parameter, row.try_get("parameter_value")?);
            }
        }
        Ok(groups)
    }

    /// Every group's values, by group name (what the nodes should run with).
    pub async fn all_parameter_values(&self) -> StoreResult<HashMap<String, Parameters>> {
        let groups = self.parameter_groups(None, i64::MAX).await?;
        Ok(groups.into_iter().map(|g| (g.cache_parameter_group_name, g.values)).collect())
    }

    /// Sets values (a value equal to the default is kept as set by the user, as ElastiCache does).
    pub async fn set_parameter_values(&self, group: &str, values: &[(String, String)]) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        for (name, value) in values {
            sqlx::query(
                "INSERT INTO cache_parameters (cache_parameter_group_name, parameter_name, parameter_value)
                 VALUES (?, ?, ?)
                 ON CONFLICT (cache_parameter_group_name, parameter_name) DO UPDATE SET parameter_value = excluded.parameter_value",
            )
            .bind(group)
            .bind(name)
            .bind(value)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Back to the family's defaults: the named parameters, or all (`None`).
    pub async fn reset_parameter_values(&self, group: &str, names: Option<&[String]>) -> StoreResult<()> {
        let names = names.map(serde_json::to_string).transpose().map_err(corrupt)?;
        sqlx::query(
            "DELETE FROM cache_parameters WHERE cache_parameter_group_name = ?1
               AND (?2 IS NULL OR parameter_name IN (SELECT value FROM json_each(?2)))",
        )
        .bind(group)
        .bind(names)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Deletes a group no cluster or replication group names, in one
    /// statement (a create naming it meanwhile cannot slip between check and delete).
    pub async fn delete_parameter_group(&self, name: &str) -> StoreResult<Result<(), DeleteRefused>> {
        let done = sqlx::query(
            "DELETE FROM cache_parameter_groups WHERE cache_parameter_group_name = ?1
               AND NOT EXISTS (SELECT 1 FROM cache_clusters WHERE cache_parameter_group_name = ?1)
               AND NOT EXISTS (SELECT 1 FROM replication_groups WHERE cache_parameter_group_name = ?1)",
        )
        .bind(name)
        .execute(&self.pool)
        .await?;
        if done.rows_affected() == 1 {
            return Ok(Ok(()));
        }
        Ok(Err(match self.parameter_group(name).await? {
            Some(_) => DeleteRefused::InUse,
            None => DeleteRefused::NotFound,
        }))
    }

    /// The clusters and replication groups that name a parameter group.
    pub async fn parameter_group_users(&self, name: &str) -> StoreResult<Vec<String>> {
        let rows = sqlx::query(
            "SELECT replication_group_id AS id FROM replication_groups WHERE cache_parameter_group_name = ?1
             UNION ALL
             SELECT cache_cluster_id FROM cache_clusters
             WHERE cache_parameter_group_name = ?1 AND replication_group_id IS NULL
             ORDER BY id",
        )
        .bind(name)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    /// Records what a cluster's nodes now run with, if the cluster still
    /// takes its parameters from `group` (a modify may have changed it meanwhile).
    pub async fn set_cluster_parameters(&self, id: &str, group: &str, parameters: &Parameters) -> StoreResult<bool> {
        let json = serde_json::to_string(parameters).map_err(corrupt)?;
        let done = sqlx::query(
            "UPDATE cache_clusters SET parameters = ? WHERE cache_cluster_id = ? AND cache_parameter_group_name = ?",
        )
        .bind(json)
        .bind(id)
        .bind(group)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }
}
