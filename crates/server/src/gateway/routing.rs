//! From the model a client asked for to the provider and model that serve
//! it. Order: the organization's aliases, then an explicit `provider/model`,
//! then a bare name that a provider lists in its `models`, then a bare name
//! the price catalog knows, served by its usual provider if configured.

use std::collections::BTreeMap;
use std::sync::Arc;

use tally_catalog::Catalog;
use tally_store::ModelMapping;

use super::providers::Provider;

/// Where a request goes, and the names it is recorded under.
#[derive(Debug, Clone)]
pub struct Route {
    pub provider: Arc<Provider>,
    /// The model name sent upstream.
    pub upstream_model: String,
    /// `provider/model` as served: the "mapping" view of analytics.
    pub routed: String,
    /// The model itself, whatever served it: the "canonical" view.
    pub canonical: String,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RouteError {
    #[error(
        "the model `{0}` is not served here: use `provider/model` with a configured provider, or a model a provider lists"
    )]
    UnknownModel(String),
    #[error("the alias `{alias}` points to `{target}`, whose provider is not configured")]
    BrokenAlias { alias: String, target: String },
}

/// The configured providers by id.
#[derive(Debug, Clone, Default)]
pub struct Providers {
    by_id: BTreeMap<String, Arc<Provider>>,
}

/// The price catalog names a few providers differently from tally.
fn tally_id(catalog_provider: &str) -> &str {
    match catalog_provider {
        "together_ai" => "together",
        other => other,
    }
}

impl Providers {
    pub fn new(providers: impl IntoIterator<Item = Provider>) -> Self {
        Self {
            by_id: providers.into_iter().map(|p| (p.id.clone(), Arc::new(p))).collect(),
        }
    }

    pub fn get(&self, id: &str) -> Option<&Arc<Provider>> {
        self.by_id.get(id)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Arc<Provider>> {
        self.by_id.values()
    }

    pub fn resolve(&self, requested: &str, aliases: &[ModelMapping], catalog: &Catalog) -> Result<Route, RouteError> {
        if let Some(mapping) = aliases.iter().find(|m| m.alias == requested) {
            return self
                .explicit(&mapping.target, catalog)
                .ok_or_else(|| RouteError::BrokenAlias {
                    alias: mapping.alias.clone(),
                    target: mapping.target.clone(),
                });
        }
        if let Some(route) = self.explicit(requested, catalog) {
            return Ok(route);
        }
        if let Some(p) = self.by_id.values().find(|p| p.models.iter().any(|m| m == requested)) {
            return Ok(self.route(p, requested, catalog));
        }
        if let Some(p) = catalog.provider_of(requested).and_then(|c| self.by_id.get(tally_id(c))) {
            return Ok(self.route(p, requested, catalog));
        }
        Err(RouteError::UnknownModel(requested.to_owned()))
    }

    /// `provider/model` with a configured provider.
    fn explicit(&self, name: &str, catalog: &Catalog) -> Option<Route> {
        let (provider, model) = name.split_once('/')?;
        let p = self.by_id.get(provider)?;
        (!model.is_empty()).then(|| self.route(p, model, catalog))
    }

    /// The model sent upstream for a routed name, `{provider}/{model}`, as
    /// [`Route::routed`] is built below.
    pub fn upstream_of<'r>(provider: &str, routed: &'r str) -> Option<&'r str> {
        routed.strip_prefix(provider)?.strip_prefix('/')
    }

    fn route(&self, provider: &Arc<Provider>, model: &str, catalog: &Catalog) -> Route {
        Route {
            provider: provider.clone(),
            upstream_model: model.to_owned(),
            routed: format!("{}/{model}", provider.id),
            canonical: catalog.canonical(&provider.id, model),
        }
    }
}
