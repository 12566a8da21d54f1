//! [`SagaStore`]: durable checkpoints of saga instances and their steps. A runner records
//! each step's outcome here before it starts the next step, so after a crash a new worker
//! finds the unfinished instances and resumes each at its first unfinished step.

use cello_data::{Database, Row, TransactionOptions, Value};
use serde_json::json;

use crate::error::PatternsError;
use crate::event_store::EventStore;
use crate::sql::{int, json, now, optional_text, stamp, text};

/// One step of an instance as checkpointed.
#[derive(Debug, Clone, PartialEq)]
pub struct SagaStep {
    pub index: i64,
    pub name: String,
    /// pending, running, completed, failed, compensating, compensated
    pub status: String,
    pub attempts: i64,
    /// The step's JSON result, once completed.
    pub result: Option<serde_json::Value>,
    pub error: Option<String>,
    pub updated_at: String,
}

/// A saga instance with its steps in order.
#[derive(Debug, Clone, PartialEq)]
pub struct SagaInstance {
    pub id: String,
    pub saga_name: String,
    /// running, compensating, completed, compensated, failed
    pub status: String,
    pub context: serde_json::Value,
    pub error: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    pub steps: Vec<SagaStep>,
}

impl SagaInstance {
    /// The instance as a JSON object (the binding hands it to Python this way).
    pub fn to_json(&self) -> serde_json::Value {
        let steps: Vec<serde_json::Value> = self
            .steps
            .iter()
            .map(|step| {
                json!({
                    "index": step.index,
                    "name": step.name,
                    "status": step.status,
                    "attempts": step.attempts,
                    "result": step.result,
                    "error": step.error,
                    "updated_at": step.updated_at,
                })
            })
            .collect();
        json!({
            "id": self.id,
            "saga_name": self.saga_name,
            "status": self.status,
            "context": self.context,
            "error": self.error,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "steps": steps,
        })
    }
}

fn lease_end(lease: std::time::Duration) -> String {
    let lease = chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::MAX);
    stamp(
        chrono::Utc::now()
            .checked_add_signed(lease)
            .unwrap_or(chrono::DateTime::<chrono::Utc>::MAX_UTC),
    )
}

/// Statuses of an instance that a restarted worker must resume.
pub const UNFINISHED: [&str; 2] = ["running", "compensating"];

/// The saga checkpoints over one pool (tables beside the event store's, same prefix).
#[derive(Debug, Clone)]
pub struct SagaStore {
    store: EventStore,
}

impl SagaStore {
    pub fn new(db: Database, prefix: impl Into<String>) -> Self {
        Self {
            store: EventStore::new(db, prefix),
        }
    }

    fn db(&self) -> &Database {
        self.store.database()
    }

    /// Records a new instance, status `running`, with every step `pending`, leased to
    /// `owner` for `lease` (see [`SagaStore::claim`]).
    pub async fn start(
        &self,
        id: &str,
        saga_name: &str,
        context: &serde_json::Value,
        steps: &[String],
        owner: &str,
        lease: std::time::Duration,
    ) -> Result<(), PatternsError> {
        self.store.ensure_schema().await?;
        let stamp = now();
        let mut tx = self.db().begin(TransactionOptions::default()).await?;
        tx.execute(
            &self.store.sql(
                "INSERT INTO {p}saga_instances (id, saga_name, status, context, error, created_at, updated_at, lease_owner, lease_until) \
                 VALUES (?, ?, 'running', ?, NULL, ?, ?, ?, ?)",
            ),
            vec![
                Value::Text(id.to_owned()),
                Value::Text(saga_name.to_owned()),
                Value::Text(context.to_string()),
                Value::Text(stamp.clone()),
                Value::Text(stamp.clone()),
                Value::Text(owner.to_owned()),
                Value::Text(lease_end(lease)),
            ],
        )
        .await?;
        let insert = self.store.sql(
            "INSERT INTO {p}saga_steps (instance_id, step_index, name, status, attempts, result, error, updated_at) \
             VALUES (?, ?, ?, 'pending', 0, NULL, NULL, ?)",
        );
        for (index, name) in (0_i64..).zip(steps) {
            tx.execute(
                &insert,
                vec![
                    Value::Text(id.to_owned()),
                    Value::Int(index),
                    Value::Text(name.clone()),
                    Value::Text(stamp.clone()),
                ],
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Takes (or renews) the lease on instance `id` for `owner`: true when no other
    /// owner holds an unexpired lease on it. A runner renews it before each step, so two
    /// workers never drive one instance at once; `owner` is stable across a restart (a
    /// worker slot), so a restarted worker takes its own instances back at once, and
    /// another one takes them once the lease has run out.
    pub async fn claim(
        &self,
        id: &str,
        owner: &str,
        lease: std::time::Duration,
    ) -> Result<bool, PatternsError> {
        self.store.ensure_schema().await?;
        let changed = self
            .db()
            .execute(
                &self.store.sql(
                    "UPDATE {p}saga_instances SET lease_owner = ?, lease_until = ? \
                     WHERE id = ? AND (lease_owner IS NULL OR lease_owner = ? OR lease_until < ?)",
                ),
                vec![
                    Value::Text(owner.to_owned()),
                    Value::Text(lease_end(lease)),
                    Value::Text(id.to_owned()),
                    Value::Text(owner.to_owned()),
                    Value::Text(now()),
                ],
            )
            .await?;
        Ok(changed == 1)
    }

    /// Checkpoints one step: its status, attempts, result and error, and the instance's
    /// context, in one transaction.
    #[allow(clippy::too_many_arguments)]
    pub async fn record_step(
        &self,
        id: &str,
        index: i64,
        status: &str,
        attempts: i64,
        result: Option<&serde_json::Value>,
        error: Option<&str>,
        context: &serde_json::Value,
    ) -> Result<(), PatternsError> {
        self.store.ensure_schema().await?;
        let stamp = now();
        let mut tx = self.db().begin(TransactionOptions::default()).await?;
        let changed = tx
            .execute(
                &self.store.sql(
                    "UPDATE {p}saga_steps SET status = ?, attempts = ?, result = ?, error = ?, updated_at = ? \
                     WHERE instance_id = ? AND step_index = ?",
                ),
                vec![
                    Value::Text(status.to_owned()),
                    Value::Int(attempts),
                    result.map_or(Value::Null, |value| Value::Text(value.to_string())),
                    error.map_or(Value::Null, |text| Value::Text(text.to_owned())),
                    Value::Text(stamp.clone()),
                    Value::Text(id.to_owned()),
                    Value::Int(index),
                ],
            )
            .await?;
        if changed == 0 {
            tx.rollback().await?;
            return Err(PatternsError::Invalid(format!(
                "saga instance {id:?} has no step {index}"
            )));
        }
        tx.execute(
            &self
                .store
                .sql("UPDATE {p}saga_instances SET context = ?, updated_at = ? WHERE id = ?"),
            vec![
                Value::Text(context.to_string()),
                Value::Text(stamp),
                Value::Text(id.to_owned()),
            ],
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Sets the instance's status (and error, when it failed).
    pub async fn set_status(
        &self,
        id: &str,
        status: &str,
        error: Option<&str>,
    ) -> Result<(), PatternsError> {
        self.store.ensure_schema().await?;
        self.db()
            .execute(
                &self.store.sql(
                    "UPDATE {p}saga_instances SET status = ?, error = ?, updated_at = ? WHERE id = ?",
                ),
                vec![
                    Value::Text(status.to_owned()),
                    error.map_or(Value::Null, |text| Value::Text(text.to_owned())),
                    Value::Text(now()),
                    Value::Text(id.to_owned()),
                ],
            )
            .await?;
        Ok(())
    }

    /// One instance with its steps.
    pub async fn get(&self, id: &str) -> Result<Option<SagaInstance>, PatternsError> {
        self.store.ensure_schema().await?;
        let row = self
            .db()
            .fetch_optional(
                &self.store.sql(
                    "SELECT id, saga_name, status, context, error, created_at, updated_at \
                     FROM {p}saga_instances WHERE id = ?",
                ),
                vec![Value::Text(id.to_owned())],
            )
            .await?;
        match row {
            Some(row) => Ok(Some(self.with_steps(&row).await?)),
            None => Ok(None),
        }
    }

    /// Instances, oldest first; only those in `status` when given, only `saga_name`'s when
    /// given.
    pub async fn list(
        &self,
        status: Option<&str>,
        saga_name: Option<&str>,
    ) -> Result<Vec<SagaInstance>, PatternsError> {
        self.store.ensure_schema().await?;
        let mut sql = String::from(
            "SELECT id, saga_name, status, context, error, created_at, updated_at \
             FROM {p}saga_instances WHERE 1 = 1",
        );
        let mut params = Vec::new();
        if let Some(status) = status {
            sql.push_str(" AND status = ?");
            params.push(Value::Text(status.to_owned()));
        }
        if let Some(name) = saga_name {
            sql.push_str(" AND saga_name = ?");
            params.push(Value::Text(name.to_owned()));
        }
        sql.push_str(" ORDER BY created_at, id");
        let rows = self.db().fetch_all(&self.store.sql(&sql), params).await?;
        let mut instances = Vec::with_capacity(rows.len());
        for row in &rows {
            instances.push(self.with_steps(row).await?);
        }
        Ok(instances)
    }

    /// Instances a restarted worker must resume (running or compensating).
    pub async fn unfinished(&self) -> Result<Vec<SagaInstance>, PatternsError> {
        let mut found = Vec::new();
        for status in UNFINISHED {
            found.extend(self.list(Some(status), None).await?);
        }
        found.sort_by(|a, b| (&a.created_at, &a.id).cmp(&(&b.created_at, &b.id)));
        Ok(found)
    }

    async fn with_steps(&self, row: &Row) -> Result<SagaInstance, PatternsError> {
        let id = text(row, 0, "saga id")?;
        let steps = self
            .db()
            .fetch_all(
                &self.store.sql(
                    "SELECT step_index, name, status, attempts, result, error, updated_at \
                     FROM {p}saga_steps WHERE instance_id = ? ORDER BY step_index",
                ),
                vec![Value::Text(id.clone())],
            )
            .await?
            .iter()
            .map(|step| {
                Ok(SagaStep {
                    index: int(step, 0, "saga step index")?,
                    name: text(step, 1, "saga step name")?,
                    status: text(step, 2, "saga step status")?,
                    attempts: int(step, 3, "saga step attempts")?,
                    result: match optional_text(step, 4, "saga step result")? {
                        Some(raw) => Some(serde_json::from_str(&raw).map_err(|error| {
                            PatternsError::Corrupt {
                                what: "saga step result",
                                message: error.to_string(),
                            }
                        })?),
                        None => None,
                    },
                    error: optional_text(step, 5, "saga step error")?,
                    updated_at: text(step, 6, "saga step timestamp")?,
                })
            })
            .collect::<Result<Vec<_>, PatternsError>>()?;
        Ok(SagaInstance {
            id,
            saga_name: text(row, 1, "saga name")?,
            status: text(row, 2, "saga status")?,
            context: json(row, 3, "saga context")?,
            error: optional_text(row, 4, "saga error")?,
            created_at: text(row, 5, "saga timestamp")?,
            updated_at: text(row, 6, "saga timestamp")?,
            steps,
        })
    }
}
