//! After a small demo load: the records whose entity has stored computed
//! fields or `on_change` handlers are saved again through their rules, as
//! a replay of their creation (the rules see no old record and every field
//! the demo gave as entered), so totals, roll-ups, classes and the values
//! rules derive from other fields (a stage's probability) read as they
//! would had the records been entered by hand. The bulk path writes rows
//! without rules (that is what makes a million rows fast); the larger
//! sizes leave those fields for the first real save.

use serde_json::json;
use uuid::Uuid;

use super::{DemoError, DemoProgress};
use crate::engine::compiled::CompiledModel;
use crate::engine::saving::Save;
use crate::engine::Engine;
use crate::model::demo::DemoEntity;

impl Engine {
    /// Saves every live record of the demo entities with stored computed
    /// fields or `on_change` handlers again with its rules, as a replay of
    /// its creation (parents first, as loaded:
    /// a line's rules then bring its parent's total up to date too).
    /// Returns how many records were saved.
    pub(super) async fn settle_demo(
        &self,
        model: &std::sync::Arc<CompiledModel>,
        plan: &[&DemoEntity],
        owner: Option<Uuid>,
        progress: &dyn DemoProgress,
    ) -> Result<u64, DemoError> {
        let mut saved = 0;
        for de in plan {
            let Some(ce) = model.entity(&de.entity) else { continue };
            let Some(rules) = &ce.rules else { continue };
            let computed = ce.def.fields.iter().any(|f| f.computed.is_some());
            if !computed && rules.on_change.is_empty() {
                continue;
            }
            let ids = ce.table.live_ids(&self.dbs.ed).await?;
            progress.entity(&format!("{} (rules)", de.entity), ids.len() as u64);
            for id in ids {
                let mut save = Save::new(model.clone(), owner);
                save.replay = true;
                let out = self
                    .update_latest(&mut save, &de.entity, &id.to_string(), &json!({}))
                    .await;
                save.finish(out).await.map_err(|source| DemoError::Settle {
                    entity: de.entity.clone(),
                    source: Box::new(source),
                })?;
                saved += 1;
                progress.advance(1);
            }
        }
        Ok(saved)
    }
}
