//! Schema assembly: every domain contributes its slice; limits and production switches live here.

pub mod inputs;
pub mod limits;
pub mod refusals;
pub mod savepoints;
pub mod variables;

use async_graphql::{MergedObject, MergedSubscription, Schema, SchemaBuilder};

use crate::auth::viewers::ViewerCache;
use crate::collections::{CollectionMutation, CollectionQuery};
use crate::config::AppConfig;
use crate::db::DbPool;
use crate::health::HealthQuery;
use crate::households::{HouseholdMutation, HouseholdQuery, HouseholdSubscription};
use crate::imports::{ImportMutation, RecipeImportMutation, RecipeImportQuery, RecipeImportSubscription};
use crate::meal_plans::{MealPlanMutation, MealPlanQuery, MealPlanSubscription};
use crate::media::{MediaMutation, MediaQuery, MediaService};
use crate::recipes::{RecipeMutation, RecipeQuery};
use crate::shopping_lists::{ShoppingListMutation, ShoppingListQuery, ShoppingListSubscription};
use crate::sync::{SyncQuery, SyncSettings};
use crate::tags::{TagMutation, TagQuery};
use crate::users::{UserMutation, UserQuery};

#[derive(MergedObject, Default)]
pub struct QueryRoot(
    HealthQuery,
    UserQuery,
    RecipeQuery,
    TagQuery,
    CollectionQuery,
    MediaQuery,
    MealPlanQuery,
    ShoppingListQuery,
    HouseholdQuery,
    SyncQuery,
    RecipeImportQuery,
);

#[derive(MergedObject, Default)]
pub struct MutationRoot(
    UserMutation,
    RecipeMutation,
    TagMutation,
    CollectionMutation,
    MediaMutation,
    MealPlanMutation,
    ShoppingListMutation,
    HouseholdMutation,
    ImportMutation,
    RecipeImportMutation,
);

/// Live changes, over WebSocket at `GET /graphql/ws` (`graphql-transport-ws`).
#[derive(MergedSubscription, Default)]
pub struct SubscriptionRoot(
    ShoppingListSubscription,
    MealPlanSubscription,
    HouseholdSubscription,
    RecipeImportSubscription,
);

pub type AppSchema = Schema<QueryRoot, MutationRoot, SubscriptionRoot>;

/// Bounds every document: a hostile query cannot make the server do unbounded work.
pub const MAX_DEPTH: usize = 10;
pub const MAX_COMPLEXITY: usize = 200;
pub const MAX_RECURSIVE_DEPTH: usize = 16;
pub const MAX_DIRECTIVES: usize = 5;

fn builder() -> SchemaBuilder<QueryRoot, MutationRoot, SubscriptionRoot> {
    Schema::build(
        QueryRoot::default(),
        MutationRoot::default(),
        SubscriptionRoot::default(),
    )
}

/// The executable schemas of a running server. `data` and `extended` run every document under the depth,
/// complexity and recursion limits: `extended` adds the extensions (heavy documents validated off the async
/// workers, a savepoint per mutation field of a one-transaction request), `data` has none, so that
/// async-graphql resolves each field directly (any extension costs every field a registry lookup and a
/// boxed call chain) for the ordinary document that needs neither. `introspection` (only where
/// introspection is enabled) runs documents that do nothing but introspect, which `limits::check` bounds by
/// their own shape instead: the standard introspection query nests deeper than any data query needs to.
/// `inputs` coerces variables before any of them runs.
pub struct Schemas {
    pub data: AppSchema,
    pub extended: AppSchema,
    pub introspection: Option<AppSchema>,
    pub inputs: variables::InputTypes,
}

/// The schemas for a running server.
pub fn build(
    config: &AppConfig,
    pool: DbPool,
    media: std::sync::Arc<MediaService>,
    viewers: std::sync::Arc<ViewerCache>,
    hub: std::sync::Arc<crate::live::Hub>,
) -> anyhow::Result<Schemas> {
    let data = || {
        let data = builder()
            .data(pool.clone())
            .data(std::sync::Arc::clone(&hub))
            .data(std::sync::Arc::clone(&media))
            .data(std::sync::Arc::clone(&viewers))
            .data(crate::imports::ImportSettings::new(config))
            .data(SyncSettings {
                retention: config.tombstone_retention(),
            })
            .limit_depth(MAX_DEPTH)
            .limit_complexity(MAX_COMPLEXITY)
            .limit_recursive_depth(MAX_RECURSIVE_DEPTH)
            .limit_directives(MAX_DIRECTIVES);
        if config.is_production() {
            data.disable_introspection().disable_suggestions()
        } else {
            data
        }
    };
    let introspection = (!config.is_production()).then(|| {
        builder()
            .limit_directives(MAX_DIRECTIVES)
            .extension(refusals::OffloadValidation)
            .finish()
    });
    Ok(Schemas {
        data: data().finish(),
        extended: data()
            .extension(refusals::OffloadValidation)
            .extension(savepoints::FieldSavepoints)
            .finish(),
        introspection,
        inputs: variables::InputTypes::from_sdl(&sdl())?,
    })
}

/// The SDL that `homechef schema` prints and `schema.graphql` must equal.
pub fn sdl() -> String {
    builder().finish().sdl()
}
