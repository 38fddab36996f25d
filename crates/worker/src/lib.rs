//! The publish pipeline, run by `herald work`: claim a delivery, make sure its token is
//! fresh, pass the rate gates, fetch and upload media, publish through the journal, record the
//! outcome; plus the sweeper that re-dispatches what Redis lost and resolves uncertain
//! publishes (DESIGN.md section 4).
//!
//! This crate is filled by the "queue and worker" issue; the store, queue and platform crates
//! it composes are its building blocks.
