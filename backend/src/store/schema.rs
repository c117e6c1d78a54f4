//! The versioned schema: each backend lists its migrations in order, and
//! opening a database applies those it lacks, each in its own transaction,
//! and records the version reached with it. A database of a version newer
//! than this build knows is refused ([`super::ErrorKind::SchemaTooNew`]):
//! the release that wrote it may store what this one would lose.
//!
//! A migration is never edited once released: a change to the schema is a
//! new migration at the end of the list, and the upgrade test
//! (`backend/tests/upgrade.rs`) opens a database written by every earlier
//! release with the new code.

use super::StoreError;

/// One step of a schema: the SQL that takes a database of version
/// `version - 1` to `version`.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    /// The version the database has after this step (the first is 1).
    pub version: i64,
    /// What the step does, for the log.
    pub description: &'static str,
    /// The statements, run in one transaction.
    pub sql: &'static str,
}

/// The newest version of `migrations`, which must be numbered 1, 2, 3, …
/// in order.
pub fn latest(migrations: &[Migration]) -> i64 {
    migrations.last().map_or(0, |migration| migration.version)
}

/// The migrations a database of `found` lacks, in order; an error when it
/// is newer than `migrations` know.
pub fn pending(migrations: &[Migration], found: i64) -> Result<&[Migration], StoreError> {
    let supported = latest(migrations);
    if found > supported {
        return Err(StoreError::schema_too_new(found, supported));
    }
    let applied = migrations
        .iter()
        .take_while(|migration| migration.version <= found)
        .count();
    Ok(&migrations[applied..])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::ErrorKind;

    const STEPS: [Migration; 2] = [
        Migration {
            version: 1,
            description: "one",
            sql: "",
        },
        Migration {
            version: 2,
            description: "two",
            sql: "",
        },
    ];

    #[test]
    fn a_database_gets_the_steps_it_lacks_and_a_newer_one_is_refused() {
        assert_eq!(pending(&STEPS, 0).expect("new").len(), 2);
        assert_eq!(pending(&STEPS, 1).expect("older")[0].version, 2);
        assert!(pending(&STEPS, 2).expect("current").is_empty());
        let err = pending(&STEPS, 3).expect_err("newer");
        assert_eq!(err.kind(), ErrorKind::SchemaTooNew);
        assert!(err.to_string().contains("version 3"), "{err}");
    }

    /// Every backend's list is numbered 1, 2, 3, … with nothing skipped.
    #[test]
    fn every_backend_numbers_its_migrations_in_order() {
        for migrations in [
            crate::store::sqlite::MIGRATIONS,
            crate::store::postgres::MIGRATIONS,
        ] {
            for (index, migration) in migrations.iter().enumerate() {
                assert_eq!(
                    migration.version,
                    index as i64 + 1,
                    "{}",
                    migration.description
                );
            }
        }
    }
}
