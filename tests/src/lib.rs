//! Shared helpers of Relata's end-to-end tests and benchmarks.

pub mod app;
pub mod browser;
pub mod load;
pub mod packages;
pub mod records;
pub mod rules_fixture;
pub use relata_testkit::pg;

pub use app::{stock_metadata, Browser, Reply, TestApp, TestBackend, ADMIN_PASSWORD};
pub use browser::Chrome;
