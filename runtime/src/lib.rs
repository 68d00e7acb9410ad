//! Relata: a metadata-driven CRM runtime.
//!
//! Layers, with dependencies pointing one way: [`web`] -> [`engine`] ->
//! [`store`] -> [`model`].

pub mod app;
pub mod engine;
pub mod model;
pub mod releases_cli;
pub mod store;
pub mod web;
