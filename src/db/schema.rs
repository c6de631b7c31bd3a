// @generated automatically by Diesel CLI.

pub mod sql_types {
    #[derive(diesel::query_builder::QueryId, Clone, diesel::sql_types::SqlType)]
    #[diesel(postgres_type(name = "tsvector", schema = "pg_catalog"))]
    pub struct Tsvector;
}

diesel::table! {
    collection_recipes (collection_id, recipe_id) {
        collection_id -> Uuid,
        recipe_id -> Uuid,
        position -> Int4,
        added_at -> Timestamptz,
    }
}

diesel::table! {
    collections (id) {
        id -> Uuid,
        owner_id -> Uuid,
        name -> Text,
        description -> Nullable<Text>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        household_id -> Nullable<Uuid>,
    }
}

diesel::table! {
    household_invites (id) {
        id -> Uuid,
        household_id -> Uuid,
        code_sha256 -> Bytea,
        created_by -> Uuid,
        expires_at -> Timestamptz,
        accepted_by -> Nullable<Uuid>,
        accepted_at -> Nullable<Timestamptz>,
        revoked_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    household_members (household_id, user_id) {
        household_id -> Uuid,
        user_id -> Uuid,
        role -> Text,
        joined_at -> Timestamptz,
    }
}

diesel::table! {
    households (id) {
        id -> Uuid,
        name -> Text,
        version -> Int4,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    idempotency_keys (user_id, key) {
        user_id -> Uuid,
        key -> Text,
        request_hash -> Bytea,
        status -> Int2,
        body -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    import_counts (owner_id, month) {
        owner_id -> Uuid,
        month -> Date,
        n -> Int4,
    }
}

diesel::table! {
    meal_plan_entries (id) {
        id -> Uuid,
        plan_id -> Uuid,
        owner_id -> Uuid,
        day -> Nullable<Date>,
        week -> Nullable<Int4>,
        weekday -> Nullable<Int4>,
        meal -> Text,
        recipe_id -> Nullable<Uuid>,
        note -> Nullable<Text>,
        servings -> Nullable<Numeric>,
        created_at -> Timestamptz,
        household_id -> Nullable<Uuid>,
    }
}

diesel::table! {
    meal_plans (id) {
        id -> Uuid,
        owner_id -> Uuid,
        name -> Text,
        start_date -> Date,
        end_date -> Nullable<Date>,
        weeks -> Nullable<Int4>,
        active -> Bool,
        version -> Int4,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        household_id -> Nullable<Uuid>,
    }
}

diesel::table! {
    media (id) {
        id -> Uuid,
        owner_id -> Uuid,
        recipe_id -> Uuid,
        status -> Text,
        position -> Int4,
        is_cover -> Bool,
        declared_type -> Nullable<Text>,
        sniffed_type -> Nullable<Text>,
        size_bytes -> Int8,
        sha256 -> Text,
        width -> Nullable<Int4>,
        height -> Nullable<Int4>,
        score -> Int4,
        findings -> Jsonb,
        scan_pending -> Bool,
        blurhash -> Nullable<Text>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    media_garbage (id) {
        id -> Int8,
        area -> Text,
        storage_key -> Text,
        queued_at -> Timestamptz,
    }
}

diesel::table! {
    media_variants (media_id, name) {
        media_id -> Uuid,
        name -> Text,
        storage_key -> Text,
        content_type -> Text,
        width -> Int4,
        height -> Int4,
        size_bytes -> Int8,
    }
}

diesel::table! {
    recipe_tags (recipe_id, tag_id) {
        recipe_id -> Uuid,
        tag_id -> Uuid,
    }
}

diesel::table! {
    recipe_counts (set_id) {
        set_id -> Uuid,
        n -> Int8,
    }
}

diesel::table! {
    recipe_import_urls (import_id, position) {
        import_id -> Uuid,
        position -> Int4,
        url -> Text,
        outcome -> Nullable<Text>,
        code -> Nullable<Text>,
        recipe_id -> Nullable<Uuid>,
        finished_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    recipe_imports (id) {
        id -> Uuid,
        owner_id -> Uuid,
        state -> Text,
        total -> Int4,
        lease_until -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        finished_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    recipe_ingredients (id) {
        id -> Uuid,
        recipe_id -> Uuid,
        position -> Int4,
        section -> Nullable<Text>,
        quantity -> Nullable<Numeric>,
        quantity_max -> Nullable<Numeric>,
        unit -> Nullable<Text>,
        item -> Text,
        note -> Nullable<Text>,
        original_text -> Text,
    }
}

diesel::table! {
    recipe_steps (id) {
        id -> Uuid,
        recipe_id -> Uuid,
        position -> Int4,
        section -> Nullable<Text>,
        text -> Text,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use super::sql_types::Tsvector;

    recipes (id) {
        id -> Uuid,
        owner_id -> Uuid,
        title -> Text,
        description -> Nullable<Text>,
        prep_minutes -> Nullable<Int4>,
        cook_minutes -> Nullable<Int4>,
        total_minutes -> Nullable<Int4>,
        servings -> Nullable<Numeric>,
        yield_text -> Nullable<Text>,
        source_type -> Text,
        source_url -> Nullable<Text>,
        visibility -> Text,
        version -> Int4,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        ingredient_text -> Text,
        search_vector -> Nullable<Tsvector>,
        household_id -> Nullable<Uuid>,
    }
}

diesel::table! {
    shopping_list_items (id) {
        id -> Uuid,
        list_id -> Uuid,
        owner_id -> Uuid,
        position -> Int4,
        quantity -> Nullable<Numeric>,
        unit -> Nullable<Text>,
        item -> Text,
        note -> Nullable<Text>,
        checked -> Bool,
        recipe_ids -> Array<Nullable<Uuid>>,
        recipe_titles -> Array<Nullable<Text>>,
        version -> Int4,
        updated_at -> Timestamptz,
        household_id -> Nullable<Uuid>,
    }
}

diesel::table! {
    shopping_lists (id) {
        id -> Uuid,
        owner_id -> Uuid,
        name -> Text,
        from_date -> Date,
        to_date -> Date,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        household_id -> Nullable<Uuid>,
        version -> Int4,
    }
}

diesel::table! {
    tags (id) {
        id -> Uuid,
        owner_id -> Uuid,
        name -> Text,
        colour -> Nullable<Text>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        household_id -> Nullable<Uuid>,
    }
}

diesel::table! {
    tombstones (id) {
        id -> Int8,
        owner_id -> Uuid,
        kind -> Text,
        object_id -> Uuid,
        deleted_at -> Timestamptz,
        household_id -> Nullable<Uuid>,
    }
}

diesel::table! {
    users (id) {
        id -> Uuid,
        clerk_id -> Text,
        email -> Nullable<Text>,
        name -> Nullable<Text>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    webhook_deliveries (svix_id) {
        svix_id -> Text,
        event_type -> Text,
        received_at -> Timestamptz,
    }
}

diesel::joinable!(collection_recipes -> collections (collection_id));
diesel::joinable!(collection_recipes -> recipes (recipe_id));
diesel::joinable!(collections -> households (household_id));
diesel::joinable!(collections -> users (owner_id));
diesel::joinable!(household_invites -> households (household_id));
diesel::joinable!(household_members -> households (household_id));
diesel::joinable!(household_members -> users (user_id));
diesel::joinable!(idempotency_keys -> users (user_id));
diesel::joinable!(import_counts -> users (owner_id));
diesel::joinable!(meal_plan_entries -> households (household_id));
diesel::joinable!(meal_plan_entries -> meal_plans (plan_id));
diesel::joinable!(meal_plan_entries -> recipes (recipe_id));
diesel::joinable!(meal_plan_entries -> users (owner_id));
diesel::joinable!(meal_plans -> households (household_id));
diesel::joinable!(meal_plans -> users (owner_id));
diesel::joinable!(media -> recipes (recipe_id));
diesel::joinable!(media -> users (owner_id));
diesel::joinable!(media_variants -> media (media_id));
diesel::joinable!(recipe_import_urls -> recipe_imports (import_id));
diesel::joinable!(recipe_import_urls -> recipes (recipe_id));
diesel::joinable!(recipe_imports -> users (owner_id));
diesel::joinable!(recipe_ingredients -> recipes (recipe_id));
diesel::joinable!(recipe_steps -> recipes (recipe_id));
diesel::joinable!(recipe_tags -> recipes (recipe_id));
diesel::joinable!(recipe_tags -> tags (tag_id));
diesel::joinable!(recipes -> households (household_id));
diesel::joinable!(shopping_list_items -> households (household_id));
diesel::joinable!(shopping_list_items -> shopping_lists (list_id));
diesel::joinable!(shopping_list_items -> users (owner_id));
diesel::joinable!(shopping_lists -> households (household_id));
diesel::joinable!(shopping_lists -> users (owner_id));
diesel::joinable!(tags -> households (household_id));
diesel::joinable!(tags -> users (owner_id));
diesel::joinable!(recipes -> users (owner_id));

diesel::allow_tables_to_appear_in_same_query!(
    collection_recipes,
    collections,
    household_invites,
    household_members,
    households,
    idempotency_keys,
    import_counts,
    meal_plan_entries,
    meal_plans,
    media,
    media_garbage,
    media_variants,
    recipe_counts,
    recipe_import_urls,
    recipe_imports,
    recipe_ingredients,
    recipe_steps,
    recipe_tags,
    recipes,
    shopping_list_items,
    shopping_lists,
    tags,
    tombstones,
    users,
    webhook_deliveries,
);
