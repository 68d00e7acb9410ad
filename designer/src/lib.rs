//! Relata's offline designer: a workspace holding a metadata package (kept
//! in git), checked with the runtime's own validator, and promoted to a
//! live runtime through its `/admin` API, with a three-way merge when the
//! live release moved on since the workspace was pulled.

pub mod client;
pub mod editor;
pub mod merge;
pub mod plan;
pub mod preview;
pub mod promote;
pub mod resolve;
pub mod sample;
pub mod web;
pub mod workspace;
