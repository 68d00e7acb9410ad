//! Packages the release and designer tests promote: the stock application
//! plus items of their own.

use relata::model::{read_package, MetadataErrors, SourceFile};

use crate::app::stock_metadata;

/// `site_survey`: an entity the stock application does not have (title,
/// a company, a date), as an analyst would add one.
pub const SITE_SURVEY: &str = "version: 1
kind: entity
name: site_survey
label: { en: Site survey, zh-CN: 现场勘察 }
plural_label: { en: Site surveys, zh-CN: 现场勘察 }
display_field: title
fields:
  - { name: title, type: text, required: true, label: { en: Title, zh-CN: 标题 } }
  - { name: company, type: reference, target: company, label: { en: Company, zh-CN: 公司 } }
  - { name: surveyed_on, type: date, label: { en: Surveyed on, zh-CN: 勘察日期 } }
";

/// Where [`SITE_SURVEY`] goes in a package.
pub const SITE_SURVEY_PATH: &str = "service/site_survey.yaml";

/// The stock package with `extra` files added.
pub fn stock_with(extra: &[(&str, &str)]) -> Result<Vec<SourceFile>, MetadataErrors> {
    let mut files = read_package(&stock_metadata(), None)?;
    files.extend(extra.iter().map(|(path, text)| SourceFile {
        path: (*path).to_owned(),
        text: (*text).to_owned(),
    }));
    Ok(files)
}
