//! Background work drained from the database: the run workers.

pub mod worker;
