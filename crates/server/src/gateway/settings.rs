//! Per-organization gateway settings (aliases, price overrides, the
//! projects that capture bodies), cached briefly so a request does not
//! read them from the store every time.
//! Changes made through this process's API invalidate at once; other
//! processes see them within [`TTL`].

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tally_core::{OrgId, ProjectId};
use tally_store::{ModelMapping, PriceOverride, Store, StoreResult};

pub const TTL: Duration = Duration::from_secs(5);

#[derive(Debug, Default)]
pub struct OrgSettings {
    pub mappings: Vec<ModelMapping>,
    pub prices: Vec<PriceOverride>,
    /// The organization's projects that capture request and response bodies.
    pub capturing: HashSet<ProjectId>,
}

#[derive(Default)]
pub struct SettingsCache {
    entries: Mutex<HashMap<OrgId, (Instant, Arc<OrgSettings>)>>,
}

impl SettingsCache {
    pub async fn get(&self, store: &dyn Store, org: OrgId) -> StoreResult<Arc<OrgSettings>> {
        if let Ok(entries) = self.entries.lock()
            && let Some((at, settings)) = entries.get(&org)
            && at.elapsed() < TTL
        {
            return Ok(settings.clone());
        }
        let settings = Arc::new(OrgSettings {
            mappings: store.model_mappings(org).await?,
            prices: store.price_overrides(org).await?,
            capturing: store
                .projects(org)
                .await?
                .into_iter()
                .filter(|p| p.capture_bodies)
                .map(|p| p.id)
                .collect(),
        });
        if let Ok(mut entries) = self.entries.lock() {
            entries.insert(org, (Instant::now(), settings.clone()));
        }
        Ok(settings)
    }

    pub fn invalidate(&self, org: OrgId) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.remove(&org);
        }
    }
}

/// Where the prices of a request come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PriceSource {
    /// The organization's override for the routed or the canonical model.
    Override,
    /// The built-in catalog.
    Catalog,
}

impl PriceSource {
    pub const fn as_str(self) -> &'static str {
        match self {
            PriceSource::Override => "override",
            PriceSource::Catalog => "catalog",
        }
    }
}

/// The prices of a model as routed: an override of the routed model, else
/// of the canonical model, else the catalog's for the provider; `None`
/// when none has a price (the request is unpriced).
pub fn prices_for<'c>(
    settings: &OrgSettings,
    catalog: &'c tally_catalog::Catalog,
    provider: &str,
    upstream_model: &str,
    routed: &str,
    canonical: &str,
) -> Option<(std::borrow::Cow<'c, tally_catalog::Prices>, PriceSource)> {
    use std::borrow::Cow;
    settings
        .prices
        .iter()
        .find(|p| p.model == routed)
        .or_else(|| settings.prices.iter().find(|p| p.model == canonical))
        .map(|p| (Cow::Owned(prices_of(p)), PriceSource::Override))
        .or_else(|| {
            catalog
                .prices(provider, upstream_model)
                .map(|p| (Cow::Borrowed(p), PriceSource::Catalog))
        })
}

/// An override as catalog prices (no tiers: one price whatever the size).
pub fn prices_of(p: &PriceOverride) -> tally_catalog::Prices {
    use tally_catalog::PerMillion;
    let per_million = |v: i64| PerMillion::new(u64::try_from(v).unwrap_or(0));
    let mut prices = tally_catalog::Prices::new(per_million(p.input), per_million(p.output));
    prices.cached_input = p.cached_input.map(per_million);
    prices.cache_write = p.cache_write.map(per_million);
    prices.reasoning = p.reasoning.map(per_million);
    prices
}
