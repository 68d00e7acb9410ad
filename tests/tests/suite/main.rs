//! The end-to-end suite: one test binary for every journey (API, UI pages, the
//! browser, the designer, on both backends), so the build links one
//! executable instead of one per file. `promotion_interrupted` stays a binary
//! of its own: its fail points are process-wide.
//!
//! Run one part with a filter, e.g. `cargo test -p relata-tests --test suite browser::`.

mod admin_releases;
mod api_contract;
mod attachments;
mod auth;
mod browser;
mod browser_keyboard;
mod browser_keyboard_forms;
mod browser_tour;
mod care_rules;
mod concurrent_writes;
mod connections;
mod demo_data;
mod designer_loop;
mod designer_preview;
mod designer_promotion;
mod designer_ui;
mod exact_money;
mod first_use_traps;
mod forms_first_use;
mod input_limits;
mod list_layout;
mod live_release;
mod metadata_errors;
mod module_flows;
mod pg_harness;
mod picklists;
mod records_api;
mod related_lists;
mod relative_filters;
mod release_propagation;
mod rules;
mod rules_sandbox;
mod save_everything;
mod search;
mod stock_app;
mod stock_rules;
mod time_zones;
mod ui_pages;
